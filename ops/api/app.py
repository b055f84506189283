"""The HTTP API: thin routes over ``HubService``; identity from OIDC bearer tokens.

Every route but ``/health``, the OpenAPI document (``/openapi.json``; in development also
``/docs``, ``/redoc`` and the local issuer's JWKS) needs a bearer token; the role policy
(hub/policy.py) decides inside the use case. Errors are application/problem+json
(ops/api/problems.py).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator, ValidationError
from starlette.concurrency import run_in_threadpool

from hub import plausible
from hub import vocabulary as v
from hub.commands import CODE_PATTERN
from hub.errors import AuthenticationError, InvalidCommandError
from hub.fiscal import JST
from hub.identity import Actor
from hub.ids import Id
from hub.intake import RepeatedKeyError, keys_once
from hub.policy import Read, authorize
from hub.settings import Settings
from ops.api import commands, problems
from ops.api.commands import AnswerOutcome, IdempotencyKey
from ops.api.headers import AnswerHeaders
from ops.api.limits import BodyLimit
from ops.api.rows import InboxRow, PartnerRow, PersonRead
from ops.api.times import JstJSONResponse
from ops.api.tracecontext import TraceContext
from ops.identity import dev_issuer
from ops.identity.tokens import TokenVerifier, production
from ops.usecases import AgencyAnswer, HubService, still_open

bearer = HTTPBearer(auto_error=False, description="An OIDC access token of the city's provider.")

Ward = Annotated[str | None, Query(max_length=64, description="A ward code, e.g. tobata.")]
# An agency's id as the commands take it: a path of any length would be said back whole in a
# refusal ("… may not read an inbox for <the path>"), control characters and all.
AgencyId = Annotated[
    str, Path(pattern=CODE_PATTERN, description="An agency's id, e.g. tobata.houkatsu.")
]
# A number is refused: FastAPI would read ``?as_of=-1`` as seconds since 1970.
WrittenOut = BeforeValidator(plausible.written_out)
Instant = Annotated[
    datetime | None,
    WrittenOut,
    Query(description="ISO 8601; without a zone it is read as JST."),
]


def codes_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Referral rows without the values released to an agency (``released`` null)."""
    return [{**row, "released": None} for row in rows]


def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The actor of the request's bearer token (401 without a valid one)."""
    if len(request.headers.getlist("authorization")) > 1:
        # HTTPBearer reads the first: a proxy in front that checks another would let in a
        # request on credentials it never saw.
        raise AuthenticationError("more than one Authorization header (send one)")
    header = f"Bearer {credentials.credentials}" if credentials else None
    verifier: TokenVerifier = request.app.state.verifier
    actor = verifier.actor(header)
    # FastAPI reads the last of a query parameter given twice (?ward=tobata&ward=moji), where
    # a proxy in front, or a log read later, may take the first: one value each, or refused.
    try:
        keys_once(request.query_params.multi_items())
    except RepeatedKeyError as repeated:
        raise InvalidCommandError(repeated.refusal("(query)")) from None
    return actor


Who = Annotated[Actor, Depends(current_actor)]


def _jst(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def create_app(service: HubService, settings: Settings) -> FastAPI:
    """The API over ``service``; ``service`` is only called by requests, never here."""
    verifier = TokenVerifier(settings)
    # /docs and /redoc load their scripts from a CDN (no pinned version, no integrity): in
    # production that would be a third party's code running on the origin of the signed-in
    # pages, able to read them and post their forms. The document itself is still served.
    browsable = not production(settings)
    app = FastAPI(
        title="Kitakyushu hub API",
        version="1",
        description="いのちをつなぐネットワーク referral and information-sharing hub. "
        "Bearer tokens of the city's OpenID Connect provider; errors are "
        "application/problem+json.",
        # Starlette's slash redirect builds an absolute URL from the Host header, which a
        # caller chooses: a path with a stray slash is a 404 like any path not served.
        redirect_slashes=False,
        default_response_class=JstJSONResponse,
        # FastAPI's own telemetry would trace every request once a tracer provider is set,
        # with the path (a case id) and the query as attributes, and log a refused body's
        # values: the hub's spans (hub/tracing.py) are the only ones, and carry ids of no one.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        docs_url="/docs" if browsable else None,
        redoc_url="/redoc" if browsable else None,
    )
    problems.install(app)

    app.state.verifier = verifier

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    if not production(settings):

        @app.get("/dev/oidc/jwks.json", tags=["service"], include_in_schema=False)
        def dev_jwks() -> JSONResponse:
            dev_issuer.signing_key(settings)  # made here if no token was issued yet
            return JSONResponse(json.loads(dev_issuer.jwks_path(settings).read_text()))

    routes, schemas = commands.router(service, current_actor)
    app.include_router(routes)

    # Cases ------------------------------------------------------------------------------------

    @app.get("/cases", tags=["cases"])
    def list_cases(
        actor: Who, ward: Ward = None, status: v.CaseStatus | None = None
    ) -> list[dict[str, Any]]:
        """Cases (ids and codes only); ward officers and coordinators see their ward."""
        return service.cases(actor, ward, status)

    @app.get("/cases/{case_id}", tags=["cases"])
    def show_case(actor: Who, case_id: Id) -> dict[str, Any]:
        """One case: status, referrals and answers, consents, meetings, plan, escalations."""
        return service.case(actor, case_id)

    @app.get("/cases/{case_id}/person", tags=["cases"], response_model=PersonRead)
    def show_person(
        actor: Who, case_id: Id, purpose: v.AccessPurpose, response: Response
    ) -> dict[str, Any]:
        """The person's details and the case's narratives (``notes``: the reporters' 補足,
        the notes and reasons written on the case); every read is recorded in the access log
        (who, why, each field and narrative path shown) before it is answered."""
        shown = service.person(actor, case_id, purpose, notes=True)
        # A name and address kept by a browser's or a proxy's cache would be read again
        # unrecorded: like the pages, this answer is never stored.
        response.headers["Cache-Control"] = "no-store"
        return shown

    @app.get("/discoveries", tags=["cases"])
    def awaiting_discoveries(actor: Who, ward: Ward = None) -> list[dict[str, Any]]:
        """Discoveries not yet opened as a case nor erased, the most urgent first (codes and
        times only); ward officers and coordinators see their ward."""
        return service.awaiting_discoveries(actor, ward)

    # An agency's inbox ------------------------------------------------------------------------

    @app.get("/agencies/{agency_id}/inbox", tags=["agencies"], response_model=list[InboxRow])
    def agency_inbox(
        actor: Who,
        agency_id: AgencyId,
        response: Response,
        unanswered: bool = False,
        details: bool = False,
    ) -> list[dict[str, Any]]:
        """The referrals the hub sent this agency and their status (codes only). With
        ``details=true`` (the agency's own staff only, else 403), each open referral's
        ``released`` holds what the relay released to the agency about the person, as its
        web inbox shows it; each case's read is recorded in the access log first."""
        rows = service.inbox(actor, agency_id, unanswered=unanswered)
        if not details:
            return codes_only(rows)
        released = service.inbox_values(actor, agency_id, rows)
        # As for /cases/{id}/person: values kept by a cache would be read again unrecorded.
        response.headers["Cache-Control"] = "no-store"
        return [
            {**row, "released": released.get(row["case_id"]) if still_open(row["status"]) else None}
            for row in rows
        ]

    # The body is read by the route, not by FastAPI: FastAPI parses a declared body before it
    # runs the dependencies, so a caller without a token would learn why its JSON is wrong
    # (400) before being told it is not let in (401).
    answer_schema, answer_definitions = commands.body_schema(AgencyAnswer)
    schemas = {**schemas, **answer_definitions, AgencyAnswer.__name__: answer_schema}

    @app.post(
        "/agencies/{agency_id}/inbox/{referral_id}/answer",
        tags=["agencies"],
        responses=commands.repeated(AnswerOutcome),
        status_code=201,
        response_model=AnswerOutcome,
        response_description="the answer is applied",
        openapi_extra=commands.json_body(AgencyAnswer.__name__),
    )
    async def answer_referral(
        request: Request,
        actor: Who,
        agency_id: AgencyId,
        referral_id: Id,
        idempotency_key: str = IdempotencyKey,
    ) -> JSONResponse:
        """Answer a referral as its reply topic would: received, accepted, in_progress, on_hold,
        declined with a coded reason, completed with an outcome."""
        # The role and agency first, as a command type a role never gives: a caller that may
        # not answer here learns nothing of what the body should have been.
        authorize(actor, Read.answer, agency_id=agency_id)
        reply_id = commands.key_of(request, idempotency_key)
        data = await commands.json_object(request)
        try:
            body = AgencyAnswer.model_validate(data)
        except ValidationError as error:
            return problems.validation_problem(error, fields=AgencyAnswer.model_fields)
        answered = await run_in_threadpool(
            service.answer, actor, agency_id, referral_id, body, reply_id
        )
        return JSONResponse(
            {
                "referral_id": answered.referral_id,
                "answer": answered.answer,
                "reply_id": answered.reply_id,
                "duplicate": not answered.applied,
            },
            status_code=201 if answered.applied else 200,
        )

    # Coordinators -----------------------------------------------------------------------------

    @app.get(
        "/coordination/referrals/unanswered", tags=["coordination"], response_model=list[InboxRow]
    )
    def unanswered(actor: Who, ward: Ward = None) -> list[dict[str, Any]]:
        return codes_only(service.unanswered_referrals(actor, ward))

    @app.get(
        "/coordination/referrals/escalated", tags=["coordination"], response_model=list[InboxRow]
    )
    def escalated(actor: Who, ward: Ward = None) -> list[dict[str, Any]]:
        return codes_only(service.escalated_referrals(actor, ward))

    @app.get("/coordination/meetings", tags=["coordination"])
    def meetings(actor: Who, ward: Ward = None) -> list[dict[str, Any]]:
        return service.meetings(actor, ward)

    # Auditors ---------------------------------------------------------------------------------

    @app.get("/audit/replay", tags=["audit"])
    def audit_replay(
        actor: Who,
        as_of: Annotated[datetime, WrittenOut, Query(description="ISO 8601; no zone means JST.")],
        case: Id | None = None,
        agency: Annotated[str | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        """Consent, meeting memberships and emergencies in force as of an instant."""
        moment = _jst(as_of)
        assert moment is not None
        return service.replay(actor, moment, str(case) if case else None, agency)

    @app.get("/audit/disclosures", tags=["audit"])
    def audit_disclosures(
        actor: Who,
        case: Id | None = None,
        agency: Annotated[str | None, Query(max_length=64)] = None,
        start: Annotated[Instant, Query(alias="from")] = None,
        end: Annotated[Instant, Query(alias="to")] = None,
    ) -> list[dict[str, Any]]:
        """Every disclosure (what, to whom, on which basis) from the relay's ledger."""
        return service.disclosures(
            actor, str(case) if case else None, agency, _jst(start), _jst(end)
        )

    @app.get("/audit/verify", tags=["audit"])
    def audit_verify(actor: Who) -> dict[str, Any]:
        """Whether every disclosure had a valid basis at its instant."""
        return service.verify(actor)

    @app.get("/audit/access", tags=["audit"])
    def audit_access(
        actor: Who,
        case: Id | None = None,
        # Blank is refused: it named no one, and the empty list it found read as "no reads".
        subject: Annotated[
            str | None, Query(min_length=1, max_length=255, pattern=r"\S", alias="actor")
        ] = None,
        start: Annotated[Instant, Query(alias="from")] = None,
        end: Annotated[Instant, Query(alias="to")] = None,
    ) -> list[dict[str, Any]]:
        """The access log: who was shown which person's details, when, on which basis, why."""
        return service.access(actor, str(case) if case else None, subject, _jst(start), _jst(end))

    # The network's partners -------------------------------------------------------------------

    @app.get("/partners", tags=["network"], response_model=list[PartnerRow])
    def partners(actor: Who) -> list[dict[str, Any]]:
        """The registered cooperating businesses (協力事業者) and community bases (地域の拠点),
        organisations only: for the administrator, and the contractor who names one in a
        participation match or a gathering."""
        return [row.record() for row in service.partner_list(actor)]

    # Analysts ---------------------------------------------------------------------------------

    @app.get("/indicators", tags=["indicators"])
    def indicators(
        actor: Who,
        fy: Annotated[str, Query(max_length=16, description="R7, 令和7年度 or 2025.")],
        by: Annotated[str | None, Query(pattern="^(ward|month)$")] = None,
        until: Annotated[date | None, WrittenOut] = None,
    ) -> list[dict[str, Any]]:
        """Table ④ with the plan's labels (de-identified counts)."""
        return service.indicators(actor, fy, by, until)

    from ops.web import pages

    pages.install(app, service, settings)
    commands.add_components(app, schemas)

    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    app.add_middleware(TraceContext)
    app.add_middleware(AnswerHeaders)  # outermost: every answer, a 500 too
    return app
