"""The use cases every door calls: each one asks the role policy, then reads or writes.

The HTTP API is one door; the web pages and the CLI can call the same methods with an
``Actor`` and get the same answers and the same refusals (``PermissionDeniedError``,
``NotFoundError``, the domain's errors). Nothing here knows about HTTP.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    field_validator,
    model_validator,
)

from consumers.agency import reply_record
from consumers.records import BadRecord
from consumers.replies import answer_command, apply_answer, reply_command_id
from hub import commands as c
from hub import plausible
from hub import vocabulary as v
from hub.application import HubApplication, Outcome
from hub.commands import ShortText
from hub.domain.case import TRANSITIONS
from hub.errors import (
    AlreadyReviewedError,
    CaseNotFoundError,
    ConfigurationError,
    DomainError,
    EmptyPeriodError,
    HubError,
    IdempotencyConflictError,
    InvalidCommandError,
    NotFoundError,
    NotReferredAgencyError,
    PermissionDeniedError,
    ReferralNotFoundError,
    UnknownAgencyError,
    UnknownEmergencyError,
)
from hub.fiscal import jst_text, now, parse_fiscal_year
from hub.identity import Actor, Role
from hub.labels import label, names
from hub.policy import (
    AGENCY_ROLES,
    REVIEWERS,
    WARD_ROLES,
    Read,
    authorize,
    authorize_command,
    authorize_command_type,
    outside_scope,
)
from hub.settings import Settings
from ops.case_notes import read_with_notes
from ops.disclosed import SHOWN, case_event, released_values
from ops.disclosed_notes import released_narratives
from producers.ledger import RelayLedger
from projections import report
from projections.audit.access import access_log, search_log
from projections.audit.breakglass import ReviewItem, review_list
from projections.audit.report import Period, render_report
from projections.audit.source import log_entries, replay_log
from projections.audit.tamper import verify_log
from projections.audit.verify import Disclosure, verify
from projections.base import HubProjection
from projections.case_history import case_history
from projections.discoveries import DiscoveryLog
from projections.erasures import Erasure, erasure_view
from projections.indicators import Cut, utc_text
from projections.partners import Listed, Partners, listed, partners_of
from projections.runner import catch_up

# What a ward officer or coordinator reads a person's details on: the ward office's own duty.
OFFICIAL_DUTY = "official_duty"
_FAR = datetime.max.replace(tzinfo=UTC)
SEARCH_LIMIT = 20  # 名寄せ shows at most this many people


def _folded(text: str) -> str:
    """Width, case, spaces and hiragana folded away, so that カナ, ｶﾅ and かな match."""
    folded = unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in folded).lower()


def matches(person: Any, kana: str, birth_date: date | None, address: str) -> bool:
    """Whether a person's details fit every 名寄せ criterion given."""
    if kana.strip() and _folded(kana) not in _folded(person.kana or ""):
        return False
    if birth_date is not None and person.birth_date != birth_date:
        return False
    return not (address.strip() and _folded(address) not in _folded(person.address or ""))


def still_open(status: str) -> bool:
    """Whether a referral in ``status`` may yet be answered (not declined, completed or
    cancelled): the agency still works on its case."""
    return bool(TRANSITIONS.get(status))


def refuse_empty_period(start: datetime | None, end: datetime | None, fields: str = "to") -> None:
    """A period [start, end) that ends before, or as, it starts names no instant: refused
    (every door: the API's from/to, the CLI's --between and --from/--to), not answered with
    an empty list that would read as "none"."""
    if start is not None and end is not None and end <= start:
        raise EmptyPeriodError(
            f"{fields}: the period ends before it starts, or where it starts (half-open: "
            "the end is the first instant left out)"
        )


def _between(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime] | None:
    """A period for the audit logs' filters: None when neither end is given."""
    refuse_empty_period(start, end)
    if start is None and end is None:
        return None
    return (start or datetime.min.replace(tzinfo=UTC), end or _FAR)


class AgencyAnswer(BaseModel):
    """An agency's answer to a referral of its inbox: the fields of its reply topic's record.

    A decline names a coded reason (``reason_code``); ``reason`` adds free text to any answer;
    ``outcome`` belongs to a completion.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: v.ReferralAnswer
    reason_code: v.DeclineReason | None = None
    reason: ShortText | None = None
    outcome: v.Outcome | None = None
    # When the answer was given, with its offset (a late entry of an answer given earlier,
    # as `hub agency ack --at` and a reply's answered_at); now when left out. A number is
    # refused, as in a command: pydantic would read 1796112000 as seconds since 1970.
    answered_at: Annotated[AwareDatetime | None, BeforeValidator(plausible.written_out)] = None

    @field_validator("reason", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        """A command's rule for text (no control character, no lone surrogate), refused
        beside ``reason`` here rather than by the command it becomes, which names no field."""
        c._check_text(value, "reason")
        return value

    @model_validator(mode="after")
    def _fits_the_answer(self) -> AgencyAnswer:
        if self.answer == "declined" and self.reason_code is None:
            raise ValueError("a declined referral needs a coded reason (reason_code)")
        if self.reason_code is not None and self.answer != "declined":
            raise ValueError("reason_code is the reason of a decline")
        if self.outcome is not None and self.answer != "completed":
            raise ValueError("outcome: belongs to a completion")
        return self


@dataclass(frozen=True)
class Answered:
    referral_id: str
    answer: str
    reply_id: str
    applied: bool


class HubService:
    """The hub's use cases over one application and its views, for any door."""

    VIEWS = ("case_state", "inbox", "indicators")

    def __init__(
        self,
        app: HubApplication,
        settings: Settings,
        projections: Mapping[str, HubProjection[Any]],
        ledger: Callable[[], RelayLedger],
    ) -> None:
        """Built by the composition root (``ops.wiring.open_service``) from the settings."""
        self.app = app
        self.settings = settings
        self._projections = {name: projections[name] for name in self.VIEWS}
        self._ledger = ledger
        self._locks = {name: threading.Lock() for name in self._projections}
        self._caught_up = dict.fromkeys(self._projections, -1)  # the log's head at a catch-up
        self._discoveries = DiscoveryLog()

    def close(self) -> None:
        self.app.close()

    def _view(self, name: str) -> Any:
        """A view holding at least every event recorded before this call (read your writes).

        One query for the log's head; the view catches up (one thread at a time) only when
        it is behind that head, so concurrent reads of a quiet log do not queue on a lock.
        """
        projection = self._projections[name]
        head = self.app.recorder.max_notification_id() or 0
        if self._caught_up[name] < head:
            with self._locks[name]:
                if self._caught_up[name] < head:
                    catch_up(projection, self.app)
                    self._caught_up[name] = head
        return projection.view

    # The policy's questions to the log (ScopeLookup) ------------------------------------------

    def ward_of_case(self, case_id: UUID) -> str | None:
        return _unless_missing(lambda: self.app.get_case(case_id).ward, CaseNotFoundError)

    def ward_of_agency(self, agency_id: str) -> str | None:
        return _unless_missing(lambda: self.app.network.agency(agency_id).ward, DomainError)

    def ward_of_discovery(self, discovery_id: UUID) -> str | None:
        return _unless_missing(lambda: self.app.get_discovery(discovery_id).ward, NotFoundError)

    def contractor_for(self, field: str) -> str | None:
        return _unless_missing(lambda: self.app.network.contractor_for(field).id, DomainError)

    # Commands --------------------------------------------------------------------------------

    def authorize(self, actor: Actor, command: c.Command) -> None:
        """The role policy's answer to ``command`` by ``actor``, nothing executed (a page asks
        it before saying anything else of a form: a refused role hears the refusal)."""
        authorize_command(actor, command, self)

    def execute(self, actor: Actor, command: c.Command) -> Outcome:
        authorize_command(actor, command, self)
        try:
            return self.app.execute(command, actor)
        except CaseNotFoundError:
            # A missing case answers a ward role as another ward's case does (no oracle).
            if actor.role in WARD_ROLES | AGENCY_ROLES:
                raise outside_scope(actor, type(command).__name__) from None
            raise
        except (ReferralNotFoundError, NotReferredAgencyError):
            # An agency answering a referral that is not its own hears what it hears for a
            # case that does not exist: nothing of whether the case or referral is there.
            if actor.role in AGENCY_ROLES:
                raise outside_scope(actor, type(command).__name__) from None
            raise

    def _case_ward(self, actor: Actor, read: Read, case_id: UUID) -> str:
        """The ward of a case the actor may read: the role is asked first, then the case is
        looked up; a ward role gets one refusal for a missing case and another ward's."""
        authorize(actor, read)
        ward = self.ward_of_case(case_id)
        if ward is None:
            if actor.role in WARD_ROLES:
                raise outside_scope(actor, read)
            raise NotFoundError(f"no case {case_id}")
        authorize(actor, read, ward=ward)
        return ward

    def accepted_at(self, command_id: UUID) -> datetime | None:
        """When the command under ``command_id`` was applied (None: never)."""
        return self.app.accepted_at(command_id)

    def execute_stamped(
        self, actor: Actor, command_id: UUID, build: Callable[[datetime], c.Command]
    ) -> tuple[c.Command, Outcome]:
        """A command whose time the door stamps (a form's), built by ``build`` from that
        time and executed as ``actor`` (``run_stamped``)."""
        return run_stamped(
            lambda: self.app.accepted_at(command_id),
            lambda at: build(at or now()),
            lambda command: self.execute(actor, command),
        )

    # Cases -----------------------------------------------------------------------------------

    def case(self, actor: Actor, case_id: UUID) -> dict[str, Any]:
        self._case_ward(actor, Read.case, case_id)
        found = self._view("case_state").case(str(case_id), now())
        if found is None:
            raise NotFoundError(f"no case {case_id}")
        return {**found, "history": case_history(self.app, case_id)}

    def person_erased(self, actor: Actor, case_id: UUID) -> bool:
        """Whether the person of a case the actor may read was erased (``hub privacy
        erase``): details recorded now would be kept nowhere."""
        self._case_ward(actor, Read.case, case_id)
        return self.app.get_case(case_id).erased

    def emergencies_in_force(self, actor: Actor, case_id: UUID) -> list[dict[str, Any]]:
        """The case's emergency declarations in force now (not ended, before their expiry),
        the ones an ``EndEmergency`` may end; the views keep none, the case itself does."""
        self._case_ward(actor, Read.case, case_id)
        at = now()
        declared = list(self.app.get_case(case_id).emergencies.items())
        return [
            {
                "declaration_id": str(declaration_id),
                "agencies": list(e.agencies),
                "expires_at": e.expires_at,
                "sensitive_categories": list(e.sensitive_categories),
            }
            for declaration_id, e in declared
            if not e.ended and at < e.expires_at
        ]

    def cases(
        self, actor: Actor, ward: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        ward = ward or (actor.ward if actor.role in WARD_ROLES else None)
        authorize(actor, Read.case, ward=ward)
        self._known_ward(ward)
        return list(self._view("case_state").cases(ward=ward, status=status))

    def awaiting_discoveries(self, actor: Actor, ward: str | None = None) -> list[dict[str, Any]]:
        """Discoveries reported (by a partner, a commissioner, the window) and not yet opened
        as a case nor erased: codes and times only, never the note or the person."""
        ward = ward or (actor.ward if actor.role in WARD_ROLES else None)
        authorize(actor, Read.case, ward=ward)
        self._known_ward(ward)
        return [
            {
                "discovery_id": d.discovery_id,
                "ward": d.ward,
                "reported_at": utc_text(d.reported_at),
                "urgency": d.urgency,
                "reporter_kind": d.reporter_kind,
                "signs": list(d.signs),
            }
            for d in self._discoveries.awaiting(self.app, ward)
        ]

    def case_discoveries(self, actor: Actor, case_id: UUID) -> list[dict[str, Any]]:
        """The reports a case was opened from (or linked to), as the ward's list said them
        before: codes and times only, never the note or the person. Once opened, a report
        leaves that list, and what was noticed would be said nowhere."""
        self._case_ward(actor, Read.case, case_id)
        return [
            {
                "discovery_id": d.discovery_id,
                "reported_at": utc_text(d.reported_at),
                "urgency": d.urgency,
                "reporter_kind": d.reporter_kind,
                "signs": list(d.signs),
            }
            for d in self._discoveries.catch_up(self.app).values()
            if d.case_id == str(case_id) and not d.erased
        ]

    def discovery(self, actor: Actor, discovery_id: UUID) -> dict[str, Any]:
        """One discovery of the actor's ward: codes, times, the case opened from it, whether
        it was erased, whether it names anyone (not who). One of another ward, or none, is
        the refusal of opening it as a case (``OpenCase`` outside the ward), so that the two
        say the same."""
        ward = actor.ward if actor.role in WARD_ROLES else None
        authorize(actor, Read.case, ward=ward)
        found = self._discoveries.catch_up(self.app).get(str(discovery_id))
        if found is None or found.ward != ward:
            raise outside_scope(actor, "OpenCase")
        return {
            "discovery_id": found.discovery_id,
            "ward": found.ward,
            "reported_at": utc_text(found.reported_at),
            "urgency": found.urgency,
            "reporter_kind": found.reporter_kind,
            "signs": list(found.signs),
            "case_id": found.case_id,
            "erased": found.erased,
            "names_person": found.names_person,
        }

    def person(
        self, actor: Actor, case_id: UUID, purpose: str, *, notes: bool = False
    ) -> dict[str, Any]:
        """A person's details, recorded in the access log before they are returned (an erased
        person's read ［消去済み］ and are not: ``read_recorded``). ``notes``: the case's
        narratives too (``notes``, ops.case_notes: the reporters' 補足, the notes and reasons
        written on the case, each by its path), in the same record; none once the case is
        erased."""
        ward = self._case_ward(actor, Read.person, case_id)
        if notes:
            person, written, recorded = read_with_notes(
                self.app, case_id, actor, OFFICIAL_DUTY, purpose
            )
        else:
            person, written = self.app.read_person(case_id, actor, OFFICIAL_DUTY, purpose), []
            recorded = self.app.records_reads(case_id)
        details = person.model_dump(mode="json", exclude_none=True) if person else {}
        shown = {
            "case_id": str(case_id),
            "ward": ward,
            "person": details,
            # A case that never held details reads {} erased or not: say which.
            "erased": self.app.get_case(case_id).erased,
            "read_recorded": recorded,
        }
        return {**shown, "notes": written} if notes else shown

    def search_people(
        self, actor: Actor, kana: str = "", birth_date: date | None = None, address: str = ""
    ) -> list[dict[str, Any]]:
        """名寄せ: the ward's cases whose person matches every criterion given (kana and
        address in part, the birth date exactly). The search itself is recorded (who, ward,
        the kinds of criteria, how many found; a search that finds nobody too), and each
        person shown in the access log, before anything is returned."""
        given = {"kana": kana.strip(), "birth_date": birth_date, "address": address.strip()}
        criteria = [kind for kind, value in given.items() if value]
        if not criteria:
            raise InvalidCommandError("kana: カナ・生年月日・住所のどれかを入れてください")
        ward = actor.ward if actor.role in WARD_ROLES else None
        authorize(actor, Read.person, ward=ward)
        found: list[tuple[UUID, dict[str, Any]]] = []
        for row in self._view("case_state").cases(ward=ward):
            case_id = UUID(row["case_id"])
            person = self.app.get_case(case_id).person
            if person is None or not matches(person, kana, birth_date, address):
                continue
            shown = {
                "person.kana": person.kana,
                "person.name": person.name,
                "person.birth_date": person.birth_date,
                "person.address": person.address,
            }
            found.append((case_id, {**row, **shown}))
            if len(found) >= SEARCH_LIMIT:
                break
        self.app.record_search(actor, ward, criteria, len(found), "consultation")
        results = []
        for case_id, row in found:
            fields = [k for k in row if k.startswith("person.") and row[k] is not None]
            self.app.record_access(actor, case_id, fields, OFFICIAL_DUTY, "consultation")
            results.append(
                {
                    "case_id": row["case_id"],
                    "status": row["status"],
                    "opened_at": row["opened_at"],
                    **{k.removeprefix("person."): row[k] for k in row if k.startswith("person.")},
                }
            )
        return results

    # An agency's inbox -----------------------------------------------------------------------

    def inbox(
        self, actor: Actor, agency_id: str, *, unanswered: bool = False
    ) -> list[dict[str, Any]]:
        authorize(actor, Read.inbox, agency_id=agency_id)
        self._known_agency(agency_id)
        return list(self._view("inbox").inbox(agency_id, unanswered_only=unanswered))

    def answer(
        self, actor: Actor, agency_id: str, referral_id: UUID, reply: AgencyAnswer, reply_id: UUID
    ) -> Answered:
        """The agency's answer, as if it came on its reply topic: same record, same command."""
        authorize(actor, Read.answer, agency_id=agency_id)
        self._known_agency(agency_id)
        referral = self._view("inbox").referral(str(referral_id))
        if referral is None or referral["agency_id"] != agency_id:
            raise NotFoundError(f"no referral {referral_id} in the inbox of {agency_id}")

        def build(stamped: datetime | None) -> c.AnswerReferral:
            record = reply_record(
                agency_id,
                referral,
                reply.answer,
                reply.reason,
                answered_at=reply.answered_at or stamped,
                reply_id=reply_id,
                reason_code=reply.reason_code,
                outcome=reply.outcome,
            )
            try:
                return answer_command(agency_id, record)
            except BadRecord as bad:
                raise InvalidCommandError(bad.reason) from None

        # A retry with the same key is the same answer at the same time (or a refused reuse).
        try:
            _, applied = run_stamped(
                lambda: self.app.accepted_at(reply_command_id(agency_id, str(reply_id))),
                build,
                lambda command: apply_answer(self.app, command, actor),
            )
        except IdempotencyConflictError:
            # The command's id is derived from the key: name the key the caller sent.
            raise IdempotencyConflictError(
                f"IdempotencyConflictError: Idempotency-Key {reply_id} was already used for "
                "another answer; nothing was written (give this answer a new Idempotency-Key)"
            ) from None
        return Answered(str(referral_id), reply.answer, str(reply_id), applied)

    def inbox_disclosures(self, actor: Actor, agency_id: str) -> list[dict[str, Any]]:
        """What the relay disclosed to this agency and on which basis (``none``: the notice
        that no basis held, so only de-identified fields went)."""
        authorize(actor, Read.inbox, agency_id=agency_id)
        self._known_agency(agency_id)
        return [d.view() for d in self._ledger_disclosures(None, agency_id)]

    def inbox_values(
        self, actor: Actor, agency_id: str, referrals: Iterable[dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """The person's details (要配慮 ones too), 申し送り and the case's narratives the relay
        released to this agency, per case of the ``referrals`` shown (rows of ``inbox``,
        those the caller answers with: a case left out of the answer is neither read nor
        recorded as read) still open (``ops.disclosed``, ``ops.disclosed_notes``): only the
        field paths the ledger lists for this agency and case, the newest value of each
        detail and every narrative (oldest first) with its disclosure's time and basis; an
        erased person ``erased`` and nothing else. A case whose referrals to the
        agency have all ended (declined, completed, cancelled) shows nothing: the agency
        works on it no more. Only the agency's own staff read them, each case's read
        recorded in the access log (on each basis shown, for the purpose of the agency's
        referral) before anything is returned."""
        authorize(actor, Read.inbox, agency_id=agency_id)
        if actor.role is not Role.member_agency or actor.agency_id != agency_id:
            raise PermissionDeniedError(
                f"{actor.role} may not read the details released to {agency_id}"
            )
        self._known_agency(agency_id)
        # One purpose a case: that of its oldest open referral to the agency (sent first,
        # then by id), whatever order the rows come in (docs/AUDIT.md).
        purposes: dict[str, str] = {}
        for r in sorted(
            (r for r in referrals if r["agency_id"] == agency_id and still_open(r["status"])),
            key=lambda r: (str(r.get("sent_at") or ""), str(r["referral_id"])),
        ):
            purposes.setdefault(r["case_id"], r["purpose"])
        # Read case by case through the ledger's case index: the cases shown, not every
        # disclosure the agency was ever given.
        ledger = self._ledger()
        rows: dict[str, list[dict[str, Any]]] = {}
        for case_id in purposes:
            found_rows = ledger.disclosures(case_id=case_id, agency_id=agency_id)
            if found_rows:
                rows[case_id] = found_rows
        # The events the relay quarantined (few; none in a healthy hub), by case.
        quarantined: dict[str, set[str]] = {}
        for kept in ledger.quarantined() if rows else ():
            quarantined.setdefault(str(kept["aggregate_id"]), set()).add(str(kept["event_id"]))
        found: dict[str, dict[str, Any]] = {}
        for case_id, case_rows in rows.items():
            case_uuid = UUID(case_id)
            if self.app.get_case(case_uuid).erased:
                found[case_id] = {"erased": True, "fields": {}, "narratives": []}
                continue
            events = [
                case_event(self.app.mapper.to_domain_event(stored))
                for stored in self.app.recorder.select_events(case_uuid)
            ]
            shown = released_values(
                case_rows, events, agency_id, quarantined=quarantined.get(case_id, set())
            )
            narratives = released_narratives(case_rows, events, agency_id)
            # Every path shown, under the basis it was released on (a sensitive detail's
            # and a narrative's too): one record per basis, each naming its paths once and
            # the references (consents, meetings, declarations) of the values shown.
            by_basis: dict[str, tuple[list[str], list[str]]] = {}
            triples = [(r.basis, r.path, r.basis_ref) for r in shown.values()]
            triples += [(n.basis, n.path, n.basis_ref) for n in narratives]
            for basis, path, ref in triples:
                paths, refs = by_basis.setdefault(basis, ([], []))
                if path not in paths:
                    paths.append(path)
                if ref and ref not in refs:
                    refs.append(ref)
            for basis, (paths, refs) in sorted(by_basis.items()):
                self.app.record_access(
                    actor, case_uuid, paths, basis, purposes[case_id], basis_refs=sorted(refs)
                )
            found[case_id] = {
                "erased": False,
                "fields": {path: shown[path].view() for path in SHOWN if path in shown},
                "narratives": [n.view() for n in narratives],
            }
        return found

    def relay_behind(self) -> bool:
        """Whether the log holds events the relay has not passed yet: a referral without a
        disclosure may then still get one (its basis is judged when the relay passes it)."""
        return self._ledger().position() < (self.app.recorder.max_notification_id() or 0)

    def _known_ward(self, ward: str | None) -> None:
        """A ward filter that names no ward is refused by name (UnknownWardError), as the
        CLI refuses it, never answered with an empty list; asked after the role."""
        if ward is not None:
            self.app.network.ward(ward)

    def _named_agency(self, agency_id: str | None) -> None:
        """An agency filter of the audit that names no agency, in the network on the log or
        the shipped one (a retired agency keeps its past), is refused by name, as the CLI
        refuses it (UnknownAgencyError), never answered with an empty list."""
        directory = self.app.directory
        known = names(directory.network, directory.retired.values()).agencies
        if agency_id is not None and agency_id not in known:
            raise UnknownAgencyError(f"unknown agency {agency_id!r}")

    def _known_agency(self, agency_id: str) -> None:
        if not self.app.network.is_agency(agency_id):
            raise NotFoundError(f"no agency {agency_id!r} in the network")

    # Coordinators ----------------------------------------------------------------------------

    def _coordination_ward(self, actor: Actor, ward: str | None) -> str | None:
        ward = ward or (actor.ward if actor.role in WARD_ROLES else None)
        authorize(actor, Read.coordination, ward=ward)
        self._known_ward(ward)
        return ward

    def unanswered_referrals(self, actor: Actor, ward: str | None = None) -> list[dict[str, Any]]:
        ward = self._coordination_ward(actor, ward)
        return list(self._view("inbox").waiting(ward, escalated=False))

    def escalated_referrals(self, actor: Actor, ward: str | None = None) -> list[dict[str, Any]]:
        ward = self._coordination_ward(actor, ward)
        return list(self._view("inbox").waiting(ward, escalated=True))

    def meetings(self, actor: Actor, ward: str | None = None) -> list[dict[str, Any]]:
        ward = self._coordination_ward(actor, ward)
        return list(self._view("case_state").meetings(ward))

    # Auditors --------------------------------------------------------------------------------

    def replay(
        self,
        actor: Actor,
        as_of: datetime,
        case_id: str | None = None,
        agency_id: str | None = None,
    ) -> dict[str, Any]:
        authorize(actor, Read.audit)
        self._named_agency(agency_id)
        history = replay_log(self.app, case_id=case_id)
        view: dict[str, Any] = history.snapshot(as_of, case_id=case_id, agency_id=agency_id).view()
        return {**view, "position": history.last_position}

    def disclosures(
        self,
        actor: Actor,
        case_id: str | None = None,
        agency_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        authorize(actor, Read.audit)
        self._named_agency(agency_id)
        refuse_empty_period(start, end)
        found = [
            d
            for d in self._ledger_disclosures(case_id, agency_id)
            if (start is None or d.occurred_at >= start) and (end is None or d.occurred_at < end)
        ]
        return [d.view() for d in found]

    def verify(self, actor: Actor) -> dict[str, Any]:
        authorize(actor, Read.audit)
        history = replay_log(self.app)
        verdict = verify(history, self._ledger_disclosures(None, None))
        return {
            "valid": verdict.valid,
            "checked": verdict.checked,
            "by_basis": dict(sorted(verdict.by_basis.items())),
            "refuted": [r.line() for r in verdict.refuted],
            "unchecked": [u.line() for u in verdict.unchecked],
            "position": history.last_position,
        }

    def access(
        self,
        actor: Actor,
        case_id: str | None = None,
        subject: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The access log (アクセス記録): who was shown which person's details, and why."""
        authorize(actor, Read.audit)
        between = _between(start, end)
        found = access_log(self.app, case_id=case_id, subject=subject, between=between)
        return [a.view() for a in found]

    def searches(
        self,
        actor: Actor,
        subject: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The 名寄せ searches: who searched which ward, when, by which kinds of criteria and
        with how many results (the terms are not kept)."""
        authorize(actor, Read.audit)
        found = search_log(self.app, subject=subject, between=_between(start, end))
        return [s.view() for s in found]

    def audit_report(
        self, actor: Actor, start: datetime | None = None, end: datetime | None = None
    ) -> list[str]:
        """The one-page report an auditor signs (``hub audit report``), from this
        application's log: the chain recomputed, disclosures verified, the reads counted."""
        authorize(actor, Read.audit)
        history = replay_log(self.app)
        disclosures = self._ledger_disclosures(None, None)
        if not hasattr(self.app.recorder, "select_links"):
            raise ConfigurationError("this store has no hash chain recorder")
        chain = verify_log(self.app.recorder)  # type: ignore[arg-type]
        return render_report(
            history,
            disclosures,
            verify(history, disclosures),
            chain,
            Period(start, end),
            now(),
            list(access_log(self.app)),
            searches=list(search_log(self.app)),
        )

    def _ledger_disclosures(self, case_id: str | None, agency_id: str | None) -> list[Disclosure]:
        rows = self._ledger().disclosures(case_id=case_id, agency_id=agency_id)
        return [Disclosure.from_record(row) for row in rows]

    # Break-glass reviewers (coordinators of their ward, auditors) ------------------------------

    def break_glass_reviews(self, actor: Actor) -> list[ReviewItem]:
        """The review list (``projections.audit.breakglass``) as one reviewer sees it: every
        declaration that named sensitive data, with what the relay's ledger says it released
        and the verdicts; a coordinator sees those of its ward's cases only."""
        authorize(actor, Read.review)
        if actor.role not in REVIEWERS:
            raise PermissionDeniedError(f"{actor.role} gives no break-glass verdict")
        items = review_list(replay_log(self.app), self._ledger_disclosures(None, None))
        if actor.role in WARD_ROLES:
            if actor.ward is None:
                raise PermissionDeniedError(f"{actor.role} without a ward reviews nothing")
            items = [i for i in items if self.ward_of_case(UUID(i.emergency.case_id)) == actor.ward]
        return items

    def awaiting_review(
        self, actor: Actor, declaration_id: UUID, *, again: bool = False
    ) -> ReviewItem:
        """The item a verdict of ``actor`` would close, or the named refusal: a declaration
        it has no review of (unknown, another ward's, nothing sensitive named) or one its
        verdict already closed after the last sensitive disclosure. ``again``: the verdict's
        command was applied already (a second click), so its own verdict is no refusal."""
        authorize_command_type(actor, "ReviewBreakGlass")
        found = [
            i
            for i in self.break_glass_reviews(actor)
            if i.emergency.declaration_id == str(declaration_id)
        ]
        if not found:
            raise UnknownEmergencyError(
                f"緊急時宣言 {declaration_id} は審査の対象にありません"
                "（宣言がない、要配慮個人情報を指定していない、または担当外）"
            )
        item = found[0]
        reviewer = actor.role.value
        if reviewer not in item.missing and not again:
            verdict = item.verdicts[reviewer]
            raise AlreadyReviewedError(
                f"緊急時宣言 {declaration_id} は{label('reviewer', reviewer)}の審査が済んでいます"
                f"（{label('review_verdict', verdict.verdict)}、{jst_text(verdict.reviewed_at)}）"
            )
        return item

    # Administrators ----------------------------------------------------------------------------

    def erasures(self, actor: Actor, pending_only: bool = False) -> list[Erasure]:
        """消去の確認, as ``hub privacy erasures [--pending]`` shows it (the same view)."""
        authorize(actor, Read.erasures)
        return erasure_view(log_entries(self.app)).listed(pending_only=pending_only)

    def partners(self, actor: Actor) -> Partners:
        """The registered 協力事業者 and 地域の拠点, oldest first (organisations only): the
        administrator's, and the contractor's, who chooses them for a match or a gathering."""
        authorize(actor, Read.network)
        return partners_of(self.app)

    def partner_list(self, actor: Actor) -> list[Listed]:
        """The same, as the contractor's forms, ``GET /partners`` and ``hub network
        partners`` list them: by type, ward (in the city's order) and name."""
        return listed(self.partners(actor), names(self.app.network).wards)

    # Analysts --------------------------------------------------------------------------------

    def indicators(
        self, actor: Actor, fy: str, by: str | None = None, until: date | None = None
    ) -> list[dict[str, Any]]:
        _, rows = self.indicator_rows(actor, fy, by, until)
        wards = names(self.app.network).wards  # 区名 beside each ward, as the CLI's JSON
        return [report.with_names(r, wards) for r in rows]

    def indicator_rows(
        self, actor: Actor, fy: str, by: str | None = None, until: date | None = None
    ) -> tuple[Cut, list[report.ReportRow]]:
        """Table ④ for a cut, as the report's rows (for tables, charts and downloads)."""
        authorize(actor, Read.indicators)
        try:
            year = parse_fiscal_year(fy)
        except ValueError as error:
            raise InvalidCommandError(f"fy: {error}") from None
        cut = Cut.of(year, until) if until else Cut.of(year)
        rows = report.from_view(self._view("indicators"), cut, by)  # type: ignore[arg-type]
        return cut, rows


C = TypeVar("C", bound=c.Command)
R = TypeVar("R")


def run_stamped(
    first_time: Callable[[], datetime | None],
    build: Callable[[datetime | None], C],
    run: Callable[[C], R],
) -> tuple[C, R]:
    """A command a door stamps with its own time, built and run. A retry of one applied
    before is stamped with the first one's time: the same command, a duplicate. One sent
    again while the first was still being written (a second click) found no time yet, so
    it differs from the first in its time alone and conflicts on its id: it is built
    again with the time now stored and is the duplicate it is. Content that really
    differs still conflicts."""
    at = first_time()
    command = build(at)
    try:
        return command, run(command)
    except IdempotencyConflictError:
        stored = first_time() if at is None else None
        if stored is None:
            raise
        again = build(stored)
        return again, run(again)


def _unless_missing(find: Callable[[], str | None], missing: type[HubError]) -> str | None:
    """What ``find`` answers for the policy, or None when what it looks for is not on the
    log. An outage is no answer: it propagates, so no scope is skipped for want of a store."""
    try:
        return find()
    except missing:
        return None
