"""The web pages: thin routes over ``HubService``, rendered with Jinja2, POST forms only.

Every page shows who is signed in and as what; every form carries a CSRF token and a
``command_id`` made when the form was drawn (a second click writes nothing new). Refusals of
the role policy are a 403 page, a field's error is shown beside the field. URLs carry ids
only, never a person's details.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, unquote, unquote_to_bytes
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from consumers.config import get_consumer_settings
from hub import commands as c
from hub.application import Outcome
from hub.domain.case import ENDED, TRANSITIONS
from hub.errors import (
    AlreadyReviewedError,
    AuthenticationError,
    CommunityBaseClosedError,
    CommunityBaseNotRegisteredError,
    ConsentRequiredError,
    CooperatingBusinessNotRegisteredError,
    CooperatingBusinessWithdrawnError,
    HubError,
    IdempotencyConflictError,
    IllegalTransitionError,
    InvalidCommandError,
    NotFoundError,
    NothingToClearError,
    PartnerNotRegisteredError,
    PermissionDeniedError,
    Refusal,
    ServiceUnavailableError,
    StoreUnavailableError,
    UnknownAgencyError,
    UnknownEmergencyError,
    UnknownWardError,
)
from hub.fiscal import FIRST_FY, JST, LAST_FY, fiscal_year, now, reiwa_label
from hub.identity import Actor, Role
from hub.labels import INDICATORS, TABLE4_TITLE, Names, codes, label, names
from hub.plausible import MAX_OVERDUE_MINUTES, MAX_PARTICIPANTS
from hub.policy import COMMANDS, READS, Read, authorize
from hub.reference import Network, load_network
from hub.reference.directory import Directory
from hub.settings import Settings
from hub.vocabulary import CLEARABLE, REFERRAL_ANSWERS, SENSITIVE_CATEGORIES
from ops.api.problems import is_page
from ops.identity import dev_issuer
from ops.identity.tokens import TokenVerifier, production
from ops.usecases import SEARCH_LIMIT, AgencyAnswer, HubService
from ops.web import format as fmt
from ops.web.agency_groups import by_ward
from ops.web.confirm import (
    CONFIRM_LABEL,
    ENDING_LABEL,
    TICKED,
    ending_box,
    unticked,
)
from ops.web.partner_choices import choices
from ops.web.query import one_value_each
from ops.web.refusals import in_japanese
from ops.web.session import CSRF_FIELD, Sessions
from ops.web.wording import japanese, refusal_said, rule_said
from projections import report
from projections.indicators import Breakdown, Cut, ReportRow
from projections.partners import PartnerType
from projections.report import progress_texts

TEMPLATES = Path(__file__).parent / "templates"
FLASH = "hub_flash"
# The pages run no script and load only their stylesheet and the analysis chart: a name or a
# note that slipped past escaping could not run, load, or send a form anywhere else.
POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

# The page each role lands on, and the pages a role's navigation shows.
HOME: dict[Role, str] = {
    Role.partner_reporter: "/web/report",
    Role.ward_officer: "/web/officer",
    Role.coordinator: "/web/coordinator",
    Role.member_agency: "/web/inbox",
    Role.contractor: "/web/contractor",
    Role.auditor: "/web/audit",
    Role.analyst: "/web/analysis",
    Role.administrator: "/web/analysis",
}
SHIPPED = load_network()  # as the file ships, for the development sign-in
# A page whose entry names no read is opened by a command its role gives (``OPENS``).
NAV: tuple[tuple[str, str, Read | None], ...] = (
    ("/web/report", "発見の通報", None),
    ("/web/officer", "窓口", Read.person),
    ("/web/coordinator", "いのちネット担当係長", Read.coordination),
    ("/web/inbox", "受信箱（支援機関）", Read.inbox),
    ("/web/contractor", "受託事業の記録", None),
    ("/web/audit", "監査", Read.audit),
    ("/web/analysis", "分析", Read.indicators),
    ("/web/reviews", "緊急時提供の審査", Read.review),
    ("/web/erasures", "消去の確認", Read.erasures),
    ("/web/network", "協力事業者・地域の拠点", Read.network),
)
# Pages that ask more of a role than the read their menu entry names: the page and its menu
# entry both ask here, so that no link of the menu leads to the 403 page.
OPENS: dict[str, Callable[[Actor], bool]] = {
    "/web/officer": lambda a: Read.person in READS[a.role] and a.role is not Role.operator,
    "/web/inbox": lambda a: a.role is Role.member_agency and a.agency_id is not None,
    # The community's reporters; a ward's officers record what is told them on their own page.
    "/web/report": lambda a: a.role is Role.partner_reporter,
    # Its forms register the network's partners: the city's administrator's alone.
    "/web/network": lambda a: a.role is Role.administrator,
    # The contractor records in its own name only: a session that names no agency has none.
    "/web/contractor": lambda a: a.role is Role.contractor and a.agency_id is not None,
}
# Said to a reporter who chose 生命の危険, beside the field and again once it is sent.
LIFE_AT_RISK = (
    "区役所の職員がすぐに読むとは限りません。命に関わるときは、"
    "すぐに119番（救急・消防）か110番（警察）に電話してください"
)
# The contractor reads no case: it types the case id the ward told it, and an id that names
# no case it may record on is refused in the words the API's refusal allows (no more).
CASE_ID_HINT = "区から伝えられたケースID（例：1b4e28ba-2fa1-11d2-883f-0016d3cca427）"
CASE_NOT_RECORDED = "このケースIDには記録できません。区から伝えられたケースIDを確かめてください"
NOT_REGISTERED = "この協力事業者・拠点は登録されていません。一覧から選んでください"
ONE_PLACE = "協力事業者か地域の拠点のどちらかを選んでください"
# A business that left or a base that closed since the form was drawn, by the hub's error.
# Not "一覧から選んでください": the list drawn again no longer holds it, and may be empty.
PLACE_ENDED: dict[type[PartnerNotRegisteredError], tuple[type[HubError], str]] = {
    CooperatingBusinessNotRegisteredError: (
        CooperatingBusinessWithdrawnError,
        "この協力事業者は退会しています。ほかの協力事業者か地域の拠点を選んでください",
    ),
    CommunityBaseNotRegisteredError: (
        CommunityBaseClosedError,
        "この拠点は閉鎖しています。ほかの拠点を選んでください",
    ),
}
PARTICIPANTS = f"参加人数は0以上{MAX_PARTICIPANTS:,}以下の整数で入力してください"
# What a community reporter may say they are (``agency`` is a member agency's own report).
PARTNER_KINDS = tuple(k for k in codes("reporter_kind") if k != "agency")

# Disclosures the audit page lists at most: the newest (filters narrow the rest).
DISCLOSURES_SHOWN = 200


def opens(href: str, actor: Actor) -> bool:
    return OPENS.get(href, lambda _: True)(actor)


def _contracted(agency_id: str) -> bool:
    """An agency of the shipped network that is one of the city's contractors."""
    return any(a.id == agency_id and a.kind == "contractor" for a in SHIPPED.agencies)


# What the development sign-in offers (synthetic people only).
DEV_ROLES = (
    Role.partner_reporter,
    Role.ward_officer,
    Role.coordinator,
    Role.member_agency,
    Role.contractor,
    Role.auditor,
    Role.analyst,
    Role.administrator,
)
AGENCY_SIGNIN = (Role.member_agency, Role.contractor)  # roles that sign in as one agency

Errors = dict[str, str]
Done = tuple[str, str]  # the page to go to after a form, and what it says there
Redraw = Callable[["Actor", Errors, dict[str, Any]], Response]  # the form's page, with errors


# The pages' forms are sent as a browser sends them: application/x-www-form-urlencoded, in
# UTF-8. Starlette's parser would read a byte that is no UTF-8 as U+FFFD, and a multipart
# form's file as the text "UploadFile(filename=…)": either would be kept as a name or a note.
FORM_TYPE = "application/x-www-form-urlencoded"
NOT_A_FORM = (
    "フォームの送り方が正しくありません（application/x-www-form-urlencoded で送ってください）"
)
NOT_UTF8 = "文字として読めないバイトが含まれています（UTF-8 で送ってください）"


def unreadable_fields(request: Request, body: bytes) -> list[str]:
    """The fields of a page's form whose value is no UTF-8 text once its escapes are undone,
    or InvalidCommandError for a body that is not such a form at all."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidCommandError(NOT_A_FORM)
    unreadable = []
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            unreadable.append(unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace"))
    return unreadable


class FormError(Exception):
    """Errors by field name, to be shown beside the fields of the form that was sent."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# Pydantic's error types, as the pages say them beside a field.
MESSAGES = {
    "string_pattern_mismatch": "形式が正しくありません",
    "literal_error": "選択肢から選んでください",
    "enum": "選択肢から選んでください",
    "date_from_datetime_parsing": "日付は YYYY-MM-DD で入力してください",
    "date_parsing": "日付は YYYY-MM-DD で入力してください",
    "string_too_long": "長すぎます",
    "too_long": "多すぎます",
    "uuid_parsing": "正しい識別子ではありません",
}
# A field whose rule says more than its error's type.
FIELD_MESSAGES = {"person_phone": "電話番号は数字とハイフンで入力してください（6〜20文字）"}
REQUIRED = "必須です：入力するか選んでください"
AT_LEAST_ONE = "必須です：1つ以上選んでください"
NOT_SENT = (
    "サインインの有効期限が切れたか、サインアウトしているため、この送信は記録していません。"
    "サインインし直して、もう一度入力してください"
)
NO_PAGE = "このアドレスのページはありません（IDは一覧のリンクから開いてください）"
NO_CONSENT_TO_MOVE = (
    "本人同意が有効でないため重層的支援会議へ移せません。"
    "上の一覧のケースIDからケースのページを開き、本人同意を記録してから移してください"
)
NO_REFERRAL_TO_CANCEL = (
    "取り消す紹介がわかりません（紹介の一覧の下のフォームから取り消してください）"
)
ENDED_REFERRAL = "この紹介はすでに終了している（辞退・完了・取消）ため、取り消しませんでした"
NOT_IN_INBOX = "この紹介は受信箱にありません（受信箱の一覧から回答してください）"
NO_EMERGENCY_IN_FORCE = (
    "この宣言は終了しているか、このケースの宣言ではありません（ページを開き直してください）"
)
NOT_A_REFERRAL = "このケースにこの紹介はありません（未応答の紹介の一覧から操作してください）"
RESENT_CHANGED = (
    "このフォームは別の内容で記録済みのため、記録しませんでした。"
    "ページを開き直してから入力してください"
)
STAND_IN = date(2025, 4, 1)  # a date a form's other fields are judged with (``_dated``)
FY_MESSAGE = f"年度は R7、令和7年度 または 2025 の形で（{FIRST_FY}〜{LAST_FY}年度）入力してください"


def field_errors(error: ValidationError, aliases: dict[str, str] | None = None) -> Errors:
    """Pydantic's errors keyed by the form's field names, said in Japanese. A rule of the
    whole command goes beside the field it names (``period_until must be after
    period_from``, ``note: contains a control character``), not atop the page, where a form
    folded away (the plan's, the consent's) would hide what was typed."""
    aliases = aliases or {}
    fields = getattr(getattr(c, error.title, None), "model_fields", {})
    found: Errors = {}
    for item in error.errors():
        loc = [str(p) for p in item["loc"] if not isinstance(p, int)]
        rule = str(item["msg"]).removeprefix("Value error, ")
        if not loc and item["type"] == "value_error":
            named = c.field_of_rule(fields, rule)
            if named is not None:
                parts = re.split(r"[.\[\]]", named[0])
                loc, rule = [p for p in parts if p and not p.isdigit()], named[1]
        rule = rule.removeprefix(f"{'.'.join(loc)}: ")  # a field's own rule may name it too
        key = ".".join(loc) or "form"
        key = aliases.get(key, aliases.get(loc[0] if loc else "", key.replace(".", "_")))
        empty = item.get("input") in ("", None, [])
        if item.get("input") == []:  # a list of boxes none of which was ticked
            message = AT_LEAST_ONE
        elif item["type"] in ("missing", "too_short") or empty:
            message = REQUIRED
        elif item["type"] == "value_error":  # a rule of the hub: said in Japanese
            message = rule_said(rule)
        else:
            message = FIELD_MESSAGES.get(key) or _type_said(item)
        found.setdefault(key, message)
    return found


def _type_said(item: Any) -> str:
    """A pydantic error by its type; one of length says the limit, so that the officer knows
    how much to cut (「長すぎます（200文字まで）」), not only that it is too much."""
    message = MESSAGES.get(item["type"], str(item["msg"]))
    limit = (item.get("ctx") or {}).get("max_length")
    if limit is not None and item["type"] in ("string_too_long", "too_long"):
        unit = "文字" if item["type"] == "string_too_long" else "個"
        message = f"{message}（{limit}{unit}まで）"
    return message


def said(error: HubError) -> str:
    """A refusal beside a field, in Japanese first (``ops.web.wording.refusal_said``)."""
    return refusal_said(error)


def hub_error_field(error: HubError) -> Errors:
    """``field: message`` refusals (InvalidCommandError) go beside that field, the rest
    atop the form; each said in Japanese first."""
    if isinstance(error, IdempotencyConflictError):  # the form's command id, used already
        return {"form": RESENT_CHANGED}
    text = str(error)
    head, sep, rest = text.partition(": ")
    if sep and isinstance(error, InvalidCommandError) and head.isidentifier():
        return {head: rest if japanese(rest) else rule_said(rest)}
    return {"form": refusal_said(error)}


def _uuid(value: str | None, field: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise FormError({field: "正しい識別子ではありません"}) from None


def _typed_id(data: dict[str, Any], field: str) -> UUID:
    """An id typed (a case told by the ward) or chosen (a base): none given is required."""
    value = _text(data, field)
    if value is None:
        raise FormError({field: REQUIRED})
    return _uuid(value, field)


def _told_case(
    data: dict[str, Any], field: str, make: Callable[[UUID], c.Command], aliases: dict[str, str]
) -> c.Command:
    """The command of a form whose case is typed by its id: a case id missing or mistyped is
    not the only thing said, the other fields are judged too (with a stand-in id)."""
    try:
        case_id = _typed_id(data, field)
    except FormError as bad:
        try:
            make(uuid4())
        except ValidationError as others:
            raise FormError({**field_errors(others, aliases), **bad.errors}) from None
        raise
    return make(case_id)


def _day(value: str | None, field: str, required: bool = True) -> date | None:
    if not value:
        if required:
            raise FormError({field: "日付を入力してください（必須）"})
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormError({field: "日付は YYYY-MM-DD で入力してください"}) from None


def _dated(
    data: dict[str, Any],
    names: tuple[str, ...],
    make: Callable[[dict[str, date]], c.Command],
    aliases: dict[str, str] | None = None,
) -> c.Command:
    """The command of a form with dates: ``make`` builds it from the dates typed in the
    fields ``names``. A date missing or mistyped is not the only thing said: the other fields
    are judged too (with stand-in dates), so that a form sent with several mistakes says each
    beside its field at once, not one per sending."""
    days: dict[str, date] = {}
    errors: Errors = {}
    for name in names:
        try:
            day = _day(_text(data, name), name)
        except FormError as bad:
            errors.update(bad.errors)
        else:
            assert day is not None
            days[name] = day
    if not errors:
        return make(days)
    others: Errors = {}
    # The stand-in is a day typed when there is one: a fixed day before the start typed would
    # break the period's own rule, and a command's rule after it (the proxy's) is never judged.
    stand_in = min(days.values(), default=STAND_IN)
    try:
        make({name: days.get(name, stand_in) for name in names})
    except ValidationError as bad:
        others = field_errors(bad, aliases)
    except FormError as bad:
        others = bad.errors
    # What the stand-ins themselves make of the dates (their order) is not the person's.
    others = {k: v for k, v in others.items() if k not in names and k != "form"}
    raise FormError({**others, **errors})


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=JST)


def _end_of(day: date, field: str) -> datetime:
    """The first instant after ``day`` (JST); the last date a date can hold has none."""
    try:
        return _start_of(day + timedelta(days=1))
    except OverflowError:
        raise FormError({field: "日付が範囲外です"}) from None


def _a_year_through(day: date) -> date:
    """The last day of a year from ``day``: the day before the same date next year (from
    29 February, the end of February), whether or not the year holds a 29 February."""
    try:
        return day.replace(year=day.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return date(day.year + 1, 2, 28)


def _last_instant_of(day: date) -> datetime:
    """The day's last instant (JST): 「この日の終わり時点」 holds what the day held (a consent
    valid until the next day's 00:00, the form's 「その日まで」), not the next day's events."""
    return _start_of(day + timedelta(days=1)) - timedelta(microseconds=1)


def _filter_day(value: str | None, field: str) -> date | None:
    """A date filter of a read: within the fiscal years a report may name (the log holds
    nothing before 2000; 和暦 starts with 明治; 9999-12-31 has no next day)."""
    day = _day(value, field, required=False)
    if day is not None and not FIRST_FY <= day.year <= LAST_FY:
        raise FormError({field: f"{FIRST_FY}年から{LAST_FY}年までの日付を入力してください"})
    return day


def told_apart(named: Names, directory: Directory) -> Names:
    """The names as the pages show them: a name two agencies of the network share
    (北九州市障害者基幹相談支援センター, as the centre and as a member of the council) is told
    apart by the agency's kind, in a form's list and in a table alike, or the officer could
    not tell which one is chosen or was told."""
    kinds = {a.id: a.kind for a in (*directory.retired.values(), *directory.network.agencies)}
    shared = Counter(named.agencies[a] for a in kinds if a in named.agencies)
    agencies = {
        code: name
        if shared[name] < 2 or code not in kinds
        else f"{name}（{label('agency_kind', kinds[code])}）"
        for code, name in named.agencies.items()
    }
    return Names(wards=named.wards, agencies=agencies)


class Pages:
    def __init__(self, service: HubService, settings: Settings, verifier: TokenVerifier) -> None:
        self.service = service
        self.settings = settings
        self.sessions = Sessions(settings, verifier)
        self._named: tuple[Directory, Names] | None = None
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        fmt.install(self.templates.env)
        self.templates.env.globals["label"] = label
        self.templates.env.globals["codes"] = codes
        self.templates.env.globals["confirm_label"] = CONFIRM_LABEL
        self.templates.env.globals["ending_label"] = ENDING_LABEL
        self.templates.env.globals["ticked"] = TICKED

    @property
    def network(self) -> Network:
        """The network in force now, as the log records it: an agency registered by `hub
        network apply` while the server runs is offered at once, a retired one no more."""
        return self.service.app.network

    @property
    def names(self) -> Names:
        """Ward and agency names of the network on the log, over the shipped ones (a retired
        agency keeps its name), made again only when the network changes."""
        try:
            directory = self.service.app.directory
        except StoreUnavailableError:
            return names()  # the page that says so still names who is signed in
        if self._named is None or self._named[0] is not directory:
            named = told_apart(names(directory.network, directory.retired.values()), directory)
            self._named = (directory, named)
        return self._named[1]

    # Rendering -------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        title: str,
        context: dict[str, Any] | None = None,
        status: int = 200,
        actor: Actor | None = None,
    ) -> HTMLResponse:
        context = context or {}
        nav = []
        if actor is not None:
            nav = [
                (href, text)
                for href, text, read in NAV
                if (read is None or read in READS[actor.role]) and opens(href, actor)
            ]
        flash = unquote(request.cookies.get(self.sessions.named(FLASH), ""))
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "title": title,
                "actor": actor,
                "role_label": label("role", actor.role.value) if actor else "",
                "nav": nav,
                "csrf": self.sessions.csrf(request),
                "csrf_field": CSRF_FIELD,
                "new_id": lambda: str(uuid4()),
                "errors": {},
                "values": {},
                "flash": flash,
                "now": now(),
                "names": cache(lambda: self.names),  # read when a name is first shown
                **context,
            },
            status_code=status,
        )
        response.headers["Cache-Control"] = "no-store"
        # No other site may frame a page to steer a click onto one of its forms.
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = POLICY
        if flash:
            response.delete_cookie(
                self.sessions.named(FLASH),
                path="/",
                httponly=True,
                samesite="strict",
                secure=self.sessions.secure,
            )
        return response

    def refused(self, request: Request, error: HubError, actor: Actor | None) -> Response:
        if isinstance(error, AuthenticationError):
            if request.method == "GET":
                return RedirectResponse("/web/signin", status_code=303)
            # A form sent after the session ended (expired, signed out in another tab): the
            # token's English reason is the log's; the person is told nothing was recorded.
            context = {"error": NOT_SENT}
            return self.render(request, "error.html", "サインインが必要です", context, 401)
        if isinstance(error, PermissionDeniedError):
            return self._refusal(request, "権限がありません", error, 403, actor)
        if isinstance(error, NotFoundError):
            return self._refusal(request, "見つかりません", error, 404, actor)
        if isinstance(error, ServiceUnavailableError):  # the store or Kafka away: try later
            return self._refusal(request, "ただいま利用できません", error, 503, actor)
        return self._refusal(request, "処理できません", error, 400, actor)

    def _refusal(
        self, request: Request, title: str, error: HubError, status: int, actor: Actor | None
    ) -> Response:
        """The refusal's page: the policy's refusal said in Japanese; any other reason the
        hub states in English is led by the title."""
        text = str(error)
        refusal = error.refusal if isinstance(error, PermissionDeniedError) else None
        if refusal is not None:
            message = in_japanese(refusal, self.names)
        else:
            message = text if japanese(text) else f"{title}（{text}）"
        return self.render(request, "error.html", title, {"error": message}, status, actor)

    def page(self, request: Request, draw: Callable[[Actor], Response]) -> Response:
        """A page for the signed-in actor; refusals become their page."""
        actor: Actor | None = None
        try:
            actor = self.sessions.actor(request)
            return draw(actor)
        except HubError as error:
            return self.refused(request, error, actor)

    async def form(
        self,
        request: Request,
        act: Callable[[Actor, dict[str, Any]], Done],
        redraw: Redraw,
    ) -> Response:
        """A POST form: CSRF checked, ``act`` gives the command(s) and names the page to go
        to next (303), or the page is drawn again with the errors beside the fields."""
        body = await request.body()
        raw = await request.form()
        data: dict[str, Any] = {
            k: raw.getlist(k) if len(raw.getlist(k)) > 1 else raw.get(k) for k in raw
        }
        data["_lists"] = {k: [str(x) for x in raw.getlist(k)] for k in raw}

        def handle() -> Response:
            actor: Actor | None = None
            try:
                actor = self.sessions.actor(request)
                unreadable = unreadable_fields(request, body)
                self.sessions.check_csrf(request, str(raw.get(CSRF_FIELD) or ""))
                if unreadable:  # said beside each, the form drawn again without what was lost
                    for name in unreadable:
                        data[name] = ""
                        data["_lists"][name] = []
                    return redraw(actor, dict.fromkeys(unreadable, NOT_UTF8), data)
                try:
                    target, message = act(actor, data)
                except FormError as bad:
                    return redraw(actor, bad.errors, data)
                except ValidationError as bad:
                    return redraw(actor, field_errors(bad), data)
                except (PermissionDeniedError, AuthenticationError, NotFoundError):
                    raise
                except HubError as bad:
                    return redraw(actor, hub_error_field(bad), data)
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(
                    self.sessions.named(FLASH),
                    quote(message),
                    httponly=True,
                    samesite="strict",
                    secure=self.sessions.secure,
                )
                return response
            except HubError as error:
                return self.refused(request, error, actor)

        # The command and the page drawn again read and write the store: in a worker thread,
        # as the API's routes do, not on the event loop, which a slow store would hold still
        # for every request (the API's, /health) until it answered.
        return await run_in_threadpool(handle)

    async def command_form(
        self,
        request: Request,
        build: Callable[[Actor, dict[str, Any], dict[str, Any]], c.Command],
        redraw: Redraw,
        done: Callable[[c.Command, Outcome], Done],
        aliases: dict[str, str] | None = None,
        refusal: Callable[[HubError], Errors] | None = None,
        by_field: Callable[[HubError], Errors | None] | None = None,
        confirm: str | Callable[[dict[str, Any]], str | None] | None = None,
    ) -> Response:
        """The one way a form gives a command. ``build`` makes it from the form's fields and
        ``base`` (the form's ``command_id``, ``occurred_at`` now); pydantic's errors go beside
        their fields (``aliases`` renames them); the policy's refusals are their page; other
        refusals go beside the field ``refusal`` names, else atop the form; ``done`` names the
        page to go to next and the line it says there. ``by_field`` may put any refusal,
        the policy's and a missing thing's too, beside a field (a page whose role reads no
        case, told a case id by the ward), or return None to leave it to the rest.
        ``confirm`` names the box a step that cannot be undone asks to tick
        (``ops.web.confirm``), or says it from the form's fields (an answer that ends a
        referral asks for it, another not): unticked, nothing is recorded and the form comes
        back with that said beside the box, with its other fields' errors too, once the role
        policy has had its say (a refused role hears the refusal, not a request to tick)."""

        def act(actor: Actor, data: dict[str, Any]) -> Done:
            command_id = _command_id(data)

            box = confirm(data) if callable(confirm) else confirm

            def unconfirmed(errors: Errors) -> Errors:
                return {**errors, **unticked(data, box)}

            def stamped(at: datetime) -> c.Command:
                try:
                    command = build(actor, data, {"command_id": command_id, "occurred_at": at})
                except ValidationError as bad:
                    raise FormError(unconfirmed(field_errors(bad, aliases))) from None
                except FormError as bad:
                    raise FormError(unconfirmed(bad.errors)) from None
                if unticked(data, box):
                    self.service.authorize(actor, command)
                    raise FormError(unticked(data, box))
                return command

            # A second click sends the form's command again: stamped with the first one's
            # time it is the same command (a duplicate, done), not another under a used id.
            try:
                command, outcome = self.service.execute_stamped(actor, command_id, stamped)
            except HubError as bad:
                beside = by_field(bad) if by_field is not None else None
                if beside is not None:
                    raise FormError(beside) from None
                if isinstance(bad, PermissionDeniedError | AuthenticationError | NotFoundError):
                    raise
                if refusal is None:
                    raise
                raise FormError(refusal(bad)) from None
            return done(command, outcome)

        return await self.form(request, act, redraw)

    async def page_form(
        self, request: Request, draw: Callable[[Actor, dict[str, str]], Response]
    ) -> Response:
        """A POST form answered by a page drawn on the response itself (a search, a read):
        nothing of it goes into a URL. CSRF checked; refusals are their page."""
        body = await request.body()
        form = await request.form()

        def handle() -> Response:
            actor: Actor | None = None
            try:
                actor = self.sessions.actor(request)
                unreadable = unreadable_fields(request, body)
                self.sessions.check_csrf(request, str(form.get(CSRF_FIELD) or ""))
                if unreadable:
                    raise InvalidCommandError(f"{unreadable[0]}: {NOT_UTF8}")
                return draw(actor, {k: str(v) for k, v in form.items()})
            except HubError as error:
                return self.refused(request, error, actor)

        return await run_in_threadpool(handle)  # a search reads every case: not on the loop

    # On behalf of the page -------------------------------------------------------------------

    def agencies(self, kinds: tuple[str, ...] | None = None) -> list[Any]:
        return [a for a in self.network.agencies if kinds is None or a.kind in kinds]

    def choices(self, agencies: list[Any]) -> list[tuple[str, str]]:
        """Agencies as a form offers them, by name, told apart as the pages name them."""
        return [(a.id, self.names.agency(a.id)) for a in agencies]

    def grouped(self, agencies: list[Any], first: str | None) -> list[tuple[str, Any]]:
        """``choices`` grouped by ward, ``first`` (the officer's ward) first (by_ward)."""
        wards = [w.code for w in self.network.wards]
        return by_ward(agencies, wards, self.names.agency, self.names.ward, first)


def _lists(data: dict[str, Any], key: str) -> list[str]:
    return [v for v in data["_lists"].get(key, []) if v]


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if isinstance(value, list):
        value = value[0]
    value = (str(value) if value is not None else "").strip()
    # A browser sends a textarea's line breaks as CR LF (HTML's form encoding): the CR is a
    # control character the hub refuses, so a note of two lines was refused as such.
    return value.replace("\r\n", "\n").replace("\r", "\n") or None


def _agency_answer(data: dict[str, Any], field: str) -> AgencyAnswer:
    """An agency's answer as its inbox form or the coordinator's phone form sends it; each
    refusal said by its field, named ``field.format(name)`` (a form per referral)."""
    try:
        return AgencyAnswer(
            answer=_text(data, "answer"),  # type: ignore[arg-type]
            reason_code=_text(data, "reason_code"),  # type: ignore[arg-type]
            reason=_text(data, "reason"),
            outcome=_text(data, "outcome"),  # type: ignore[arg-type]
        )
    except ValidationError as bad:
        errors = field_errors(bad)
        answer = _text(data, "answer")
        if "form" in errors and answer == "declined":
            errors = {"reason_code": "辞退するときは、辞退の理由を選んでください"}
        # A reason or a result chosen with another answer: said by that field, in Japanese
        # (the model's rule names the field in English and stood where no field is).
        elif "form" in errors and _text(data, "reason_code") and answer:
            errors = {"reason_code": "辞退の理由は、回答が「辞退」のときだけ選んでください"}
        elif "form" in errors and _text(data, "outcome") and answer:
            errors = {"outcome": "結果は、回答が「完了」のときだけ選んでください"}
        raise FormError({field.format(k): v for k, v in errors.items()}) from None


def _command_id(data: dict[str, Any]) -> UUID:
    return _uuid(_text(data, "command_id"), "form")


# What a Japanese keyboard types for the dashes of a phone number (全角マイナス, 長音, ダッシュ).
DASHES = str.maketrans(dict.fromkeys("－ー−‐‑–—―", "-"))


def _phone(value: str | None) -> str | None:
    """A phone number as typed with the IME on (０９３－０００－００００): its full-width digits
    and dashes as the ASCII the hub stores, so that it is not refused for its width."""
    return unicodedata.normalize("NFKC", value).translate(DASHES) if value else value


def _person(data: dict[str, Any]) -> dict[str, Any] | None:
    person = {
        key: _text(data, f"person_{key}")
        for key in ("name", "kana", "birth_date", "address", "phone")
    }
    person["phone"] = _phone(person["phone"])
    person = {k: v for k, v in person.items() if v}
    return person or None


PERSON_ALIASES = {
    f"person.{k}": f"person_{k}" for k in ("name", "kana", "birth_date", "address", "phone")
}


def answers_after(status: str) -> list[str]:
    """The answers a referral in ``status`` may still be given, in the form's order: none
    once it has ended (declined, completed, cancelled), or in a status the domain does not
    know, so no form is offered that can only be refused (as `hub agency ack` checks)."""
    allowed = TRANSITIONS.get(status, frozenset())
    return [answer for answer in REFERRAL_ANSWERS if answer in allowed]


def to(target: str, message: str) -> Callable[[c.Command, Outcome], Done]:
    """After the command: the page to go to, and the one line it will say there."""
    return lambda _command, _outcome: (target, message)


def router(pages: Pages) -> APIRouter:
    routes = APIRouter(
        prefix="/web", include_in_schema=False, dependencies=[Depends(one_value_each)]
    )
    service = pages.service

    # Sign-in ---------------------------------------------------------------------------------

    @routes.get("/")
    @routes.get("")
    def home(request: Request) -> Response:
        def draw(actor: Actor) -> Response:
            target = HOME.get(actor.role)
            if target:
                return RedirectResponse(target, status_code=303)
            return pages.render(request, "home.html", "いのちをつなぐネットワーク", actor=actor)

        return pages.page(request, draw)

    def signin_page(
        request: Request, errors: Errors | None = None, values: Any = None, status: int = 200
    ) -> Response:
        """The sign-in page, its forms carrying the token of a pre-session cookie."""
        nonce = pages.sessions.signin_nonce(request)
        context = {
            "dev": not production(pages.settings),
            "roles": DEV_ROLES,
            # The sign-in page opens no store: the development identities of the shipped
            # network (a restart of the store's service does not stop anyone signing in).
            "wards": SHIPPED.wards,
            "agencies": SHIPPED.agencies,
            "errors": errors or {},
            "values": values or {},
            "csrf": pages.sessions.signin_csrf(nonce),
        }
        response = pages.render(request, "signin.html", "サインイン", context, status)
        pages.sessions.keep_signin_nonce(response, nonce)
        return response

    async def signin_form(request: Request) -> dict[str, str] | Response:
        """The sign-in form's fields, or the refusal of a form this server did not draw."""
        body = await request.body()
        form = await request.form()
        try:
            unreadable = unreadable_fields(request, body)
            pages.sessions.check_signin_csrf(request, str(form.get(CSRF_FIELD) or ""))
        except HubError as error:
            return pages.refused(request, error, None)
        if unreadable:  # a subject of U+FFFD would sign in as no one typed it
            return signin_page(request, dict.fromkeys(unreadable, NOT_UTF8), None, 422)
        return {k: str(v) for k, v in form.items()}

    @routes.get("/signin")
    def signin(request: Request) -> Response:
        return signin_page(request)

    @routes.post("/signin/dev")
    async def signin_dev(request: Request) -> Response:
        if production(pages.settings):
            return pages.render(
                request,
                "error.html",
                "開発用サインインは使えません",
                {"error": "開発用のサインインは本番（HUB_MODE=production）では使えません"},
                404,
            )
        form = await signin_form(request)
        if isinstance(form, Response):
            return form
        errors: Errors = {}
        subject = form.get("subject", "").strip()
        role_code = form.get("role", "")
        ward = form.get("ward") or None
        agency = form.get("agency") or None
        if not subject:
            errors["subject"] = "利用者IDを入力してください（必須）"
        if role_code not in {r.value for r in DEV_ROLES}:
            errors["role"] = "役割を選んでください"
        else:
            role = Role(role_code)
            if role in (Role.ward_officer, Role.coordinator) and not ward:
                errors["ward"] = "窓口職員と係長は区を選んでください"
            elif role in (Role.ward_officer, Role.coordinator) and ward not in SHIPPED.ward_codes:
                errors["ward"] = "一覧にある区を選んでください"
            if role in AGENCY_SIGNIN and not agency:
                errors["agency"] = "支援機関・受託事業者の職員は機関を選んでください"
            elif role in AGENCY_SIGNIN and not SHIPPED.is_agency(agency or ""):
                errors["agency"] = "一覧にある機関を選んでください"
            elif role is Role.contractor and not _contracted(agency or ""):
                errors["agency"] = "受託事業者は委託事業者の機関を選んでください"
        if errors:
            return signin_page(request, errors, form, 422)
        role = Role(role_code)
        token = dev_issuer.issue(
            pages.settings,
            subject=subject,
            role=role,
            ward=ward if role in (Role.ward_officer, Role.coordinator) else None,
            agency_id=agency if role in AGENCY_SIGNIN else None,
        )
        response = RedirectResponse("/web", status_code=303)
        try:
            pages.sessions.sign_in(response, token)
        except HubError as error:  # the subject (too long, unprintable): said beside it
            errors = {"subject": f"この利用者IDではサインインできません（{error}）"}
            return signin_page(request, errors, form, 422)
        return response

    @routes.post("/signin/token")
    async def signin_token(request: Request) -> Response:
        form = await signin_form(request)
        if isinstance(form, Response):
            return form
        token = form.get("token", "").strip()
        response = RedirectResponse("/web", status_code=303)
        try:
            pages.sessions.sign_in(response, token)
        except HubError as error:
            errors = {"token": f"トークンを受け付けられません: {error}"}
            return signin_page(request, errors, None, 401)
        return response

    @routes.post("/signout")
    async def signout(request: Request) -> Response:
        form = await request.form()
        response = RedirectResponse("/web/signin", status_code=303)
        if not request.cookies.get(pages.sessions.cookie):
            # Signed out already (in another tab, or the cookie gone): nothing to end, and
            # the person asked to be signed out, which they are. Not a refusal page.
            return response
        try:
            pages.sessions.check_csrf(request, str(form.get(CSRF_FIELD) or ""))
        except HubError as error:
            return pages.refused(request, error, None)
        pages.sessions.sign_out(request, response)
        return response

    # 発見の通報 (見守り部会の協力会員, 民生委員, 住民) -----------------------------------------

    def partner_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        if not opens("/web/report", actor):
            raise PermissionDeniedError(
                f"{label('role', actor.role)}は見守りの通報のページを使えません"
                "（区役所の職員は窓口のページで発見を記録します）"
            )
        network = pages.network
        context = {
            "wards": [(w.code, w.name) for w in network.wards],
            "kinds": [(k, label("reporter_kind", k)) for k in PARTNER_KINDS],
            "groups": [(g.code, g.name) for g in network.partner_groups],
            "life_at_risk": LIFE_AT_RISK,
            "errors": errors or {},
            "values": values or {},
        }
        return pages.render(request, "partner.html", "発見の通報", context, status, actor)

    @routes.get("/report")
    def partner(request: Request) -> Response:
        return pages.page(request, lambda actor: partner_page(request, actor))

    @routes.post("/report")
    async def partner_report(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            if not opens("/web/report", actor):
                partner_page(request, actor)  # refused as the page is
            kind = _text(data, "reporter_kind")
            if kind is not None and kind not in PARTNER_KINDS:  # offered none other
                raise FormError({"reporter_kind": MESSAGES["literal_error"]})
            return c.ReportDiscovery(
                **base,
                discovery_id=c.derived_id(base["command_id"], "discovery_id"),
                reporter_kind=kind,  # type: ignore[arg-type]
                reporter_group=_text(data, "reporter_group"),
                ward=_text(data, "ward") or "",
                signs=_lists(data, "signs"),  # type: ignore[arg-type]
                urgency=_text(data, "urgency"),  # type: ignore[arg-type]
                channel="online",
                note=_text(data, "discovery_note"),
                person=_person(data),  # type: ignore[arg-type]
            )

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return partner_page(request, actor, errors, values, 422)

        def done(command: c.Command, _: Outcome) -> Done:
            number = str(command.discovery_id)[:8]  # type: ignore[attr-defined]
            said = f"通報を受け付けました（受付番号 {number}）。区役所が確認します"
            if command.urgency == "life_at_risk":  # type: ignore[attr-defined]
                # The office reads it in its hours: a life at risk is 119/110's, now.
                said += f"。{LIFE_AT_RISK}"
            return "/web/report", said

        aliases = {"note": "discovery_note", **PERSON_ALIASES}
        return await pages.command_form(request, build, redraw, done, aliases)

    # 受託事業者 (アウトリーチ等を通じた継続的支援事業・参加支援事業) ------------------------

    def contractor_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        if not opens("/web/contractor", actor):
            raise PermissionDeniedError(
                f"{label('role', actor.role)}は受託事業の記録のページを使えません"
                "（受託事業者の職員が、自らの事業者の名で記録するページです）"
            )
        partners = service.partner_list(actor)  # chosen by name: the id is the option's value
        context = {
            "agency_name": pages.names.agency(actor.agency_id or ""),
            "case_hint": CASE_ID_HINT,
            "businesses": choices(partners, "business", now()),
            "bases": choices(partners, "base", now()),
            "errors": errors or {},
            "values": values or {},
        }
        return pages.render(request, "contractor.html", "受託事業の記録", context, status, actor)

    @routes.get("/contractor")
    def contractor(request: Request) -> Response:
        return pages.page(request, lambda actor: contractor_page(request, actor))

    def contracted_form(
        request: Request,
        build: Callable[[Actor, dict[str, Any], dict[str, Any]], c.Command],
        said: Callable[[c.Command], str],
        aliases: dict[str, str],
        missing: dict[type[PartnerNotRegisteredError], str] | None = None,
    ) -> Awaitable[Response]:
        """One of the contractor's forms: the page refused as it is to any other role; an
        unknown case said beside the case id as the API's refusal says no more (a missing
        case and one not the contractor's answer alike); ``missing`` names the field beside
        which a thing not registered (a base, a business) is said, by the hub's error's type."""

        def checked(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            if not opens("/web/contractor", actor):
                contractor_page(request, actor)  # refused as the page is
            return build(actor, data, base)

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return contractor_page(request, actor, errors, values, 422)

        def done(command: c.Command, _: Outcome) -> Done:
            return "/web/contractor", said(command)

        def by_field(bad: HubError) -> Errors | None:
            refusal = bad.refusal if isinstance(bad, PermissionDeniedError) else None
            if refusal is not None and refusal.agency_id is not None:  # ``outside_scope``
                return {aliases.get("case_id", "case_id"): CASE_NOT_RECORDED}
            for unregistered, field in (missing or {}).items():
                if isinstance(bad, unregistered):
                    return {field: NOT_REGISTERED}
                # A business that left or a base that closed (a form drawn before it did).
                ended, said_ended = PLACE_ENDED[unregistered]
                if isinstance(bad, ended):
                    return {field: said_ended}
            return None

        return pages.command_form(request, checked, redraw, done, aliases, by_field=by_field)

    @routes.post("/contractor/visit")
    async def contractor_visit(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return _told_case(
                data,
                "visit_case",
                lambda case_id: c.RecordOutreachVisit(
                    **base,
                    case_id=case_id,
                    visit_id=c.derived_id(base["command_id"], "visit_id"),
                    agency_id=actor.agency_id,  # in its own name only
                    outcome=_text(data, "visit_outcome"),  # type: ignore[arg-type]
                    note=_text(data, "visit_note"),
                ),
                aliases,
            )

        def said(command: c.Command) -> str:
            outcome = label("visit_outcome", command.outcome)  # type: ignore[attr-defined]
            return f"アウトリーチ訪問（{outcome}）を記録しました（ケースID {command.case_id}）"  # type: ignore[attr-defined]

        aliases = {"case_id": "visit_case", "outcome": "visit_outcome", "note": "visit_note"}
        return await contracted_form(request, build, said, aliases)

    @routes.post("/contractor/activity")
    async def contractor_activity(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return _told_case(
                data,
                "activity_case",
                lambda case_id: c.RecordSupportActivity(
                    **base,
                    case_id=case_id,
                    activity_id=c.derived_id(base["command_id"], "activity_id"),
                    agency_id=actor.agency_id or "",  # in its own name only
                    kind=_text(data, "activity_kind"),  # type: ignore[arg-type]
                    note=_text(data, "activity_note"),
                ),
                aliases,
            )

        def said(command: c.Command) -> str:
            kind = label("activity_kind", command.kind)  # type: ignore[attr-defined]
            return f"支援（{kind}）を記録しました（ケースID {command.case_id}）"  # type: ignore[attr-defined]

        aliases = {"case_id": "activity_case", "kind": "activity_kind", "note": "activity_note"}
        return await contracted_form(request, build, said, aliases)

    @routes.post("/contractor/match")
    async def contractor_match(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            ids: dict[str, UUID | None] = {}
            errors: Errors = {}
            for field in ("match_case", "match_business", "match_base"):
                value = _text(data, field)
                try:
                    ids[field] = None if value is None else _uuid(value, field)
                except FormError as bad:
                    errors.update(bad.errors)
            if errors:
                raise FormError(errors)
            if ids["match_business"] is None and ids["match_base"] is None:
                raise FormError({"match_business": ONE_PLACE})
            return c.MatchParticipation(
                **base,
                case_id=ids["match_case"],  # type: ignore[arg-type]  # none typed: 必須です
                match_id=c.derived_id(base["command_id"], "match_id"),
                place_kind=_text(data, "match_place_kind"),  # type: ignore[arg-type]
                business_id=ids["match_business"],
                base_id=ids["match_base"],
            )

        def said(command: c.Command) -> str:
            kind = label("place_kind", command.place_kind)  # type: ignore[attr-defined]
            return f"参加支援のマッチング（{kind}）を記録しました（ケースID {command.case_id}）"  # type: ignore[attr-defined]

        aliases = {
            "case_id": "match_case",
            "place_kind": "match_place_kind",
            "business_id": "match_business",
            "base_id": "match_base",
        }
        missing: dict[type[PartnerNotRegisteredError], str] = {
            CooperatingBusinessNotRegisteredError: "match_business",
            CommunityBaseNotRegisteredError: "match_base",
        }
        return await contracted_form(request, build, said, aliases, missing)

    @routes.post("/contractor/gathering")
    async def contractor_gathering(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            errors: Errors = {}
            base_id = uuid4()  # a stand-in, never sent: the errors are said first
            try:
                base_id = _typed_id(data, "gathering_base")
            except FormError as bad:
                errors.update(bad.errors)
            typed = unicodedata.normalize("NFKC", _text(data, "gathering_participants") or "")
            if not typed.isdigit() or int(typed) > MAX_PARTICIPANTS:
                errors["gathering_participants"] = PARTICIPANTS
            if errors:
                raise FormError(errors)
            bodies = (_text(data, "gathering_bodies") or "").split("\n")
            return c.HoldGathering(
                **base,
                base_id=base_id,
                gathering_id=c.derived_id(base["command_id"], "gathering_id"),
                participants=int(typed),
                bodies=[b.strip() for b in bodies if b.strip()],
            )

        def said(command: c.Command) -> str:
            count = command.participants  # type: ignore[attr-defined]
            return f"居場所・集いの開催（参加 {count}人）を記録しました"

        aliases = {
            "base_id": "gathering_base",
            "participants": "gathering_participants",
            "bodies": "gathering_bodies",
        }
        missing: dict[type[PartnerNotRegisteredError], str] = {
            CommunityBaseNotRegisteredError: "gathering_base"
        }
        return await contracted_form(request, build, said, aliases, missing)

    # 窓口 (ward officer) ------------------------------------------------------------------------

    def officer_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        found: list[dict[str, Any]] | None = None,
        status: int = 200,
    ) -> Response:
        if not opens("/web/officer", actor):
            raise PermissionDeniedError(
                f"{label('role', actor.role)}は区の窓口のページを使えません"
            )
        cases = service.cases(actor)
        windows = [(a.id, a.name) for a in pages.agencies(("ward_window",)) if a.ward == actor.ward]
        context = {
            "cases": cases,
            "discoveries": service.awaiting_discoveries(actor),
            "may_open": actor.role is Role.ward_officer,
            # The forms a role may not send are not offered (a coordinator reads the page).
            "may_report": "ReportDiscovery" in COMMANDS[actor.role],
            "may_consult": "ReceiveConsultation" in COMMANDS[actor.role],
            "windows": windows,
            "errors": errors or {},
            "values": values or {},
            "found": found,
            "search_limit": SEARCH_LIMIT,
        }
        return pages.render(request, "officer.html", "窓口", context, status, actor)

    @routes.get("/officer")
    def officer(request: Request) -> Response:
        return pages.page(request, lambda actor: officer_page(request, actor))

    def redraw_officer(request: Request) -> Redraw:
        return lambda actor, errors, values: officer_page(request, actor, errors, values, None, 422)

    @routes.post("/officer/discovery")
    async def report_discovery(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.ReportDiscovery(
                **base,
                discovery_id=c.derived_id(base["command_id"], "discovery_id"),
                reporter_kind=_text(data, "reporter_kind"),  # type: ignore[arg-type]
                ward=actor.ward or "",
                signs=_lists(data, "signs"),  # type: ignore[arg-type]
                urgency=_text(data, "urgency"),  # type: ignore[arg-type]
                note=_text(data, "discovery_note"),
            )

        def done(command: c.Command, _: Outcome) -> Done:
            discovery_id = command.discovery_id  # type: ignore[attr-defined]
            return f"/web/officer/discoveries/{discovery_id}", "発見を記録しました"

        aliases = {"note": "discovery_note"}
        return await pages.command_form(request, build, redraw_officer(request), done, aliases)

    def discovery_page(
        request: Request,
        actor: Actor,
        discovery_id: UUID,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        if actor.role is not Role.ward_officer:
            raise PermissionDeniedError(f"{label('role', actor.role)}は事案を開始できません")
        # Another ward's discovery, or none, is refused as opening it would be; one already
        # opened as a case (by a colleague, a minute ago) leads to its case, with no form.
        reported = service.discovery(actor, discovery_id)
        context = {
            "discovery_id": discovery_id,
            "reported": reported,
            "errors": errors or {},
            "values": values or {},
        }
        return pages.render(
            request, "discovery.html", "発見からケースを開く", context, status, actor
        )

    @routes.get("/officer/discoveries/{discovery_id}")
    def discovery(request: Request, discovery_id: UUID) -> Response:
        return pages.page(request, lambda actor: discovery_page(request, actor, discovery_id))

    @routes.post("/officer/discoveries/{discovery_id}/open")
    async def open_case(request: Request, discovery_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.OpenCase(
                **base,
                case_id=c.derived_id(base["command_id"], "case_id"),
                ward=actor.ward or "",
                discovery_id=discovery_id,
                person=_person(data),  # type: ignore[arg-type]
            )

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return discovery_page(request, actor, discovery_id, errors, values, 422)

        def done(command: c.Command, _: Outcome) -> Done:
            return f"/web/cases/{command.case_id}", "ケースを開きました"  # type: ignore[attr-defined]

        return await pages.command_form(request, build, redraw, done, PERSON_ALIASES)

    @routes.post("/officer/consultation")
    async def receive_consultation(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            command = c.ReceiveConsultation(
                **base,
                consultation_id=c.derived_id(base["command_id"], "consultation_id"),
                window_agency=_text(data, "window_agency") or "",
                needs=_lists(data, "needs"),  # type: ignore[arg-type]
                note=_text(data, "consultation_note"),
                person=_person(data),  # type: ignore[arg-type]
            )
            if command.window_agency == "":
                raise FormError({"window_agency": "受付窓口を選んでください（必須）"})
            return command

        def done(command: c.Command, _: Outcome) -> Done:
            # The case the command opened, also when it is sent again (a duplicate records
            # nothing, so names no aggregate): its id is derived from the command's.
            consultation: c.ReceiveConsultation = command  # type: ignore[assignment]
            case_id = consultation.case_id or c.derived_id(command.command_id, "case_id")
            return f"/web/cases/{case_id}", "相談を受け付け、ケースを開きました"

        aliases = {**PERSON_ALIASES, "note": "consultation_note"}
        return await pages.command_form(request, build, redraw_officer(request), done, aliases)

    @routes.post("/officer/search")
    async def search(request: Request) -> Response:
        def draw(actor: Actor, form: dict[str, str]) -> Response:
            data = {k: form.get(k, "") for k in ("kana", "birth_date", "address")}
            try:
                born = _day(data["birth_date"], "birth_date", required=False)
                found = service.search_people(actor, data["kana"], born, data["address"])
            except FormError as bad:
                return officer_page(request, actor, bad.errors, data, None, 422)
            except InvalidCommandError as bad:
                return officer_page(request, actor, hub_error_field(bad), data, None, 422)
            return officer_page(request, actor, None, data, found)

        return await pages.page_form(request, draw)

    # The case page -----------------------------------------------------------------------------

    def case_page(
        request: Request,
        actor: Actor,
        case_id: UUID,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        person: dict[str, Any] | None = None,
        status: int = 200,
        read: bool = False,
        notes: list[dict[str, Any]] | None = None,
        case_notes: list[dict[str, Any]] | None = None,
    ) -> Response:
        """The case; ``person``: the details just shown, ``read``: whether that read was
        recorded (not for an erased person, nor a case without details), ``notes``: the
        reporters' 補足 shown in that read, ``case_notes``: the other narratives of the case
        shown in it (ops.case_notes)."""
        case = service.case(actor, case_id)
        given = [x for x in case["consents"] if x["state"] == "given" and not x["withdrawn_at"]]
        today = now().astimezone(JST).date()
        a_year = _a_year_through(today)
        offered = [a for a in pages.agencies() if a.kind != "coordinator"]
        context = {
            "case": case,
            "case_id": case_id,
            "agencies": pages.choices(offered),
            # The same, by ward: the officer's own first (their ward, else the case's).
            "agency_groups": pages.grouped(offered, actor.ward or case["ward"]),
            "given": given,
            "errors": errors or {},
            "values": {
                "valid_from": today.isoformat(),
                "valid_until": a_year.isoformat(),
                # An emergency declared for three days unless the officer says otherwise.
                "emergency_until": (today + timedelta(days=3)).isoformat(),
                **(values or {}),
            },
            "discoveries": service.case_discoveries(actor, case_id),
            "person": person,
            "person_read": read,
            "notes": notes or [],
            "case_notes": case_notes or [],
            "can_act": "ReferCase" in COMMANDS[actor.role],
            "can_assess": "RecordAssessment" in COMMANDS[actor.role],
            "can_consult": "ReceiveConsultation" in COMMANDS[actor.role],
            # A referral not yet ended may be withdrawn, on a closed case too (the aggregate's
            # rule): a form beside each, for a role that may cancel.
            "cancellable": [r for r in case["referrals"] if r["status"] not in ENDED]
            if "CancelReferral" in COMMANDS[actor.role]
            else [],
            "can_watch": "ArrangeWatchOver" in COMMANDS[actor.role],
            "can_record_activity": "RecordSupportActivity" in COMMANDS[actor.role],
            # Only a case with a plan (AgreePlan, the coordinator's) has one to evaluate.
            "can_evaluate": "EvaluateCase" in COMMANDS[actor.role] and bool(case["plan_id"]),
            "can_suspend": "SuspendCase" in COMMANDS[actor.role] and case["status"] != "suspended",
            "can_close": "CloseCase" in COMMANDS[actor.role],
            # 利用停止 is the person's right: recorded on a closed case too (docs/RIGHTS.md).
            "can_stop_use": "RequestUseStop" in COMMANDS[actor.role],
            "windows": [
                (a.id, a.name) for a in pages.agencies(("ward_window",)) if a.ward == case["ward"]
            ],
            # A closed case takes no referral, consent, refusal or assessment (CaseClosedError).
            "closed": case["status"] == "closed",
            "can_record_person": "RecordPersonDetails" in COMMANDS[actor.role],
            "person_erased": service.person_erased(actor, case_id),
            "clearable": [(f, label("person_field", f"person.{f}")) for f in CLEARABLE],
            "can_declare": "DeclareEmergency" in COMMANDS[actor.role],
            "can_end_emergency": "EndEmergency" in COMMANDS[actor.role],
            "emergencies": service.emergencies_in_force(actor, case_id),
            "ordinary_categories": [
                x for x in codes("data_category").items() if x[0] not in SENSITIVE_CATEGORIES
            ],
            "sensitive_categories": [
                x for x in codes("data_category").items() if x[0] in SENSITIVE_CATEGORIES
            ],
        }
        return pages.render(request, "case.html", "ケース", context, status, actor)

    @routes.get("/cases/{case_id}")
    def case(request: Request, case_id: UUID) -> Response:
        return pages.page(request, lambda actor: case_page(request, actor, case_id))

    def redraw_case(request: Request, case_id: UUID) -> Redraw:
        return lambda actor, errors, values: case_page(
            request, actor, case_id, errors, values, None, 422
        )

    @routes.post("/cases/{case_id}/person")
    async def show_person(request: Request, case_id: UUID) -> Response:
        def draw(actor: Actor, form: dict[str, str]) -> Response:
            purpose = form.get("read_purpose", "")
            if purpose not in codes("purpose"):
                errors = {"read_purpose": "目的を選んでください（必須）"}
                return case_page(request, actor, case_id, errors, None, None, 422)
            shown = service.person(actor, case_id, purpose, notes=True)
            # The reporters' 補足 under the details, then what was written on the case.
            reported = [n for n in shown["notes"] if n["path"] == "discovery.note"]
            return case_page(
                request,
                actor,
                case_id,
                person=shown["person"],
                read=shown["read_recorded"],
                notes=reported,
                case_notes=[n for n in shown["notes"] if n not in reported],
            )

        return await pages.page_form(request, draw)

    @routes.post("/cases/{case_id}/details")
    async def record_person(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            person = _person(data)
            if person is None:
                raise FormError({"person_name": "記録する項目を一つ以上入力してください"})
            return c.RecordPersonDetails(**base, case_id=case_id, person=person)  # type: ignore[arg-type]

        done = to(f"/web/cases/{case_id}", "本人の情報を記録しました")
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, PERSON_ALIASES
        )

    @routes.post("/cases/{case_id}/clear")
    async def clear_person(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            fields = _lists(data, "clear_fields")
            if not fields:
                raise FormError({"clear_fields": "消す項目を一つ以上選んでください"})
            return c.ClearPersonDetails(**base, case_id=case_id, fields=fields)  # type: ignore[arg-type]

        def refusal(bad: HubError) -> Errors:
            if isinstance(bad, NothingToClearError):
                return {"clear_fields": "選んだ項目は記録されていないため、消すものがありません"}
            raise bad

        done = to(f"/web/cases/{case_id}", "本人の情報の項目を消しました")
        return await pages.command_form(
            request,
            build,
            redraw_case(request, case_id),
            done,
            {"fields": "clear_fields"},
            refusal,
            confirm="clear_confirm",
        )

    @routes.post("/cases/{case_id}/consultation")
    async def consult(request: Request, case_id: UUID) -> Response:
        """A consultation of a person whose case 名寄せ found: recorded on that case, not
        opening a second one."""

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            command = c.ReceiveConsultation(
                **base,
                case_id=case_id,
                consultation_id=c.derived_id(base["command_id"], "consultation_id"),
                window_agency=_text(data, "case_window_agency") or "",
                needs=_lists(data, "consult_needs"),  # type: ignore[arg-type]
                note=_text(data, "case_consultation_note"),
            )
            if command.window_agency == "":
                raise FormError({"case_window_agency": "受付窓口を選んでください（必須）"})
            return command

        done = to(f"/web/cases/{case_id}", "相談を記録しました")
        aliases = {
            "window_agency": "case_window_agency",
            "needs": "consult_needs",
            "note": "case_consultation_note",
        }
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases
        )

    @routes.post("/cases/{case_id}/assessment")
    async def assess(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.RecordAssessment(
                **base,
                case_id=case_id,
                needs=_lists(data, "needs"),  # type: ignore[arg-type]
                complexity=_text(data, "complexity"),  # type: ignore[arg-type]
                summary=_text(data, "assessment_summary"),
            )

        done = to(f"/web/cases/{case_id}", "アセスメントを記録しました")
        aliases = {"summary": "assessment_summary"}
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases
        )

    @routes.post("/cases/{case_id}/refer")
    async def refer(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            command = c.ReferCase(
                **base,
                case_id=case_id,
                referral_id=c.derived_id(base["command_id"], "referral_id"),
                agency_id=_text(data, "agency_id") or "",
                purpose=_text(data, "purpose"),  # type: ignore[arg-type]
                urgency=_text(data, "urgency"),  # type: ignore[arg-type]
                note=_text(data, "referral_note"),
            )
            if not command.agency_id:
                raise FormError({"agency_id": "紹介先を選んでください（必須）"})
            return command

        def done(command: c.Command, _: Outcome) -> Done:
            agency = pages.names.agency(command.agency_id)  # type: ignore[attr-defined]
            return f"/web/cases/{case_id}", f"{agency}へ紹介しました"

        def refusal(bad: HubError) -> Errors:
            # An agency retired (hub network apply) while the form stood open: beside it.
            if isinstance(bad, UnknownAgencyError):
                return {"agency_id": f"この紹介先は今はネットワークにありません（{bad}）"}
            raise bad

        aliases = {"note": "referral_note"}
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases, refusal
        )

    @routes.post("/cases/{case_id}/cancel")
    async def cancel_referral(request: Request, case_id: UUID) -> Response:
        cancelled: dict[str, str] = {}  # the agency whose referral it was, for the line said

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            # The referral is the form's own hidden field: no field beside which to say it.
            referral = _text(data, "cancel_referral")
            if not referral:
                raise FormError({"form": NO_REFERRAL_TO_CANCEL})
            command = c.CancelReferral(
                **base,
                case_id=case_id,
                referral_id=_uuid(referral, "form"),
                reason_code=_text(data, "cancel_reason_code"),  # type: ignore[arg-type]
                reason=_text(data, "cancel_reason"),
            )
            for r in service.case(actor, case_id)["referrals"]:
                if r["referral_id"] == str(command.referral_id):
                    cancelled["agency"] = pages.names.agency(r["agency_id"])
            return command

        def done(command: c.Command, _: Outcome) -> Done:
            agency = cancelled.get("agency")
            message = f"{agency}への紹介を取り消しました" if agency else "紹介を取り消しました"
            return f"/web/cases/{case_id}", message

        def refusal(bad: HubError) -> Errors:
            # Answered (declined, completed) or cancelled elsewhere while the form stood: its
            # form is drawn no more, so this is said atop the page, the table showing its end.
            if isinstance(bad, IllegalTransitionError):
                return {"form": ENDED_REFERRAL}
            raise bad

        aliases = {"reason_code": "cancel_reason_code", "reason": "cancel_reason"}
        return await pages.command_form(
            request,
            build,
            redraw_case(request, case_id),
            done,
            aliases,
            refusal,
            confirm="cancel_confirm",
        )

    @routes.post("/cases/{case_id}/watch")
    async def arrange_watch_over(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.ArrangeWatchOver(
                **base,
                case_id=case_id,
                watch_id=c.derived_id(base["command_id"], "watch_id"),
                watchers=_lists(data, "watch_watchers"),
                frequency=_text(data, "watch_frequency"),  # type: ignore[arg-type]
                note=_text(data, "watch_note"),
            )

        def done(command: c.Command, _: Outcome) -> Done:
            often = label("watch_frequency", command.frequency)  # type: ignore[attr-defined]
            return f"/web/cases/{case_id}", f"見守り（{often}）を手配しました"

        def refusal(bad: HubError) -> Errors:
            if isinstance(bad, UnknownAgencyError):
                return {"watch_watchers": f"この機関は今はネットワークにありません（{bad}）"}
            raise bad

        aliases = {
            "watchers": "watch_watchers",
            "frequency": "watch_frequency",
            "note": "watch_note",
        }
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases, refusal
        )

    @routes.post("/cases/{case_id}/activity")
    async def record_activity(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.RecordSupportActivity(
                **base,
                case_id=case_id,
                activity_id=c.derived_id(base["command_id"], "activity_id"),
                agency_id=_text(data, "activity_agency") or "",  # none chosen: 必須です
                kind=_text(data, "activity_kind"),  # type: ignore[arg-type]
                note=_text(data, "activity_note"),
            )

        def done(command: c.Command, _: Outcome) -> Done:
            kind = label("activity_kind", command.kind)  # type: ignore[attr-defined]
            return f"/web/cases/{case_id}", f"支援（{kind}）を記録しました"

        def refusal(bad: HubError) -> Errors:
            if isinstance(bad, UnknownAgencyError):
                return {"activity_agency": f"この機関は今はネットワークにありません（{bad}）"}
            raise bad

        aliases = {"agency_id": "activity_agency", "kind": "activity_kind", "note": "activity_note"}
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases, refusal
        )

    @routes.post("/cases/{case_id}/evaluation")
    async def evaluate(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.EvaluateCase(
                **base,
                case_id=case_id,
                evaluation=_text(data, "evaluation"),  # type: ignore[arg-type]
                note=_text(data, "evaluation_note"),
            )

        def done(command: c.Command, _: Outcome) -> Done:
            result = label("evaluation", command.evaluation)  # type: ignore[attr-defined]
            return f"/web/cases/{case_id}", f"評価（{result}）を記録しました"

        aliases = {"note": "evaluation_note"}
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases
        )

    def reason_form(step: str, command: type[c.SuspendCase | c.CloseCase], said: str) -> None:
        """A step of the case that takes only a reason (中断, 終結): its form's field is
        ``<step>_reason``."""
        field = f"{step}_reason"

        async def record(request: Request, case_id: UUID) -> Response:
            def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
                return command(**base, case_id=case_id, reason=_text(data, field))  # type: ignore[arg-type]

            done = to(f"/web/cases/{case_id}", said)
            return await pages.command_form(
                request,
                build,
                redraw_case(request, case_id),
                done,
                {"reason": field},
                confirm=f"{step}_confirm" if step == "close" else None,
            )

        routes.add_api_route(f"/cases/{{case_id}}/{step}", record, methods=["POST"], name=step)

    reason_form("suspend", c.SuspendCase, "支援の中断を記録しました")
    reason_form("close", c.CloseCase, "終結を記録しました")

    @routes.post("/cases/{case_id}/consent")
    async def give_consent(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            def make(days: dict[str, date]) -> c.Command:
                return c.GiveConsent(
                    **base,
                    case_id=case_id,
                    consent_id=c.derived_id(base["command_id"], "consent_id"),
                    scope=_lists(data, "scope"),
                    purposes=_lists(data, "purposes"),  # type: ignore[arg-type]
                    data_categories=_lists(data, "data_categories"),  # type: ignore[arg-type]
                    valid_from=_start_of(days["valid_from"]),
                    valid_until=_end_of(days["valid_until"], "valid_until"),
                    by_proxy=_text(data, "by_proxy") == "yes",
                    proxy_relationship=_text(data, "proxy_relationship"),
                )

            return _dated(data, ("valid_from", "valid_until"), make)

        done = to(f"/web/cases/{case_id}", "同意を記録しました")
        return await pages.command_form(request, build, redraw_case(request, case_id), done)

    @routes.post("/cases/{case_id}/refuse")
    async def refuse_consent(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.RefuseConsent(
                **base,
                case_id=case_id,
                consent_id=c.derived_id(base["command_id"], "consent_id"),
                scope=_lists(data, "refuse_scope"),
                reason=_text(data, "refuse_reason"),
            )

        done = to(f"/web/cases/{case_id}", "同意の拒否を記録しました")
        aliases = {"scope": "refuse_scope", "reason": "refuse_reason"}
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases
        )

    @routes.post("/cases/{case_id}/withdraw")
    async def withdraw_consent(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            consent = _text(data, "consent_id")
            if not consent:
                raise FormError({"consent_id": "撤回する同意を選んでください（必須）"})
            return c.WithdrawConsent(
                **base, case_id=case_id, consent_id=_uuid(consent, "consent_id")
            )

        done = to(f"/web/cases/{case_id}", "同意の撤回を記録しました")
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, confirm="withdraw_confirm"
        )

    @routes.post("/cases/{case_id}/use-stop")
    async def request_use_stop(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.RequestUseStop(
                **base,
                case_id=case_id,
                request_id=c.derived_id(base["command_id"], "request_id"),
                reason=_text(data, "use_stop_reason"),
            )

        done = to(
            f"/web/cases/{case_id}",
            "利用停止の請求を記録しました（それまでの同意による共有は止まります）",
        )
        aliases = {"reason": "use_stop_reason"}
        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, aliases, confirm="use_stop_confirm"
        )

    # 緊急時 (vital interest): the person's details to the agencies named, without consent.

    emergency_aliases = {
        "agencies": "emergency_agencies",
        "data_categories": "emergency_categories",
        "reason": "emergency_reason",
        "expires_at": "emergency_until",
        "sensitive_categories": "emergency_sensitive",
        "sensitive_reason": "emergency_sensitive_reason",
    }

    @routes.post("/cases/{case_id}/emergency")
    async def declare_emergency(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            sensitive = _lists(data, "emergency_sensitive")

            def make(days: dict[str, date]) -> c.Command:
                return c.DeclareEmergency(
                    **base,
                    case_id=case_id,
                    declaration_id=c.derived_id(base["command_id"], "declaration_id"),
                    agencies=_lists(data, "emergency_agencies"),
                    # A sensitive category ticked is named among the categories too: the
                    # relay releases one only when a declaration names it in both.
                    data_categories=[*_lists(data, "emergency_categories"), *sensitive],  # type: ignore[list-item]
                    reason=_text(data, "emergency_reason"),  # type: ignore[arg-type]
                    expires_at=_end_of(days["emergency_until"], "emergency_until"),
                    sensitive_categories=sensitive,  # type: ignore[arg-type]
                    sensitive_reason=_text(data, "emergency_sensitive_reason"),
                )

            return _dated(data, ("emergency_until",), make, emergency_aliases)

        def done(command: c.Command, _: Outcome) -> Done:
            declared = cast(c.DeclareEmergency, command)
            named = "、".join(pages.names.agency(a) for a in declared.agencies)
            message = (
                f"緊急時の宣言を記録しました。{named}に、本人の同意なしで本人の情報を提供します"
                f"（{fmt.wareki_time(declared.expires_at)}まで）"
            )
            if declared.sensitive_categories:
                message += (
                    "。要配慮個人情報を含むため、いのちネット担当係長と監査担当の審査を受けます"
                )
            return f"/web/cases/{case_id}", message

        # What the agencies were given cannot be taken back, though the declaration ends.
        return await pages.command_form(
            request,
            build,
            redraw_case(request, case_id),
            done,
            emergency_aliases,
            confirm="emergency_confirm",
        )

    @routes.post("/cases/{case_id}/end-emergency")
    async def end_emergency(request: Request, case_id: UUID) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            declaration = _text(data, "end_declaration_id")
            if not declaration:
                raise FormError({"end_declaration_id": "終了する宣言を選んでください（必須）"})
            command = c.EndEmergency(
                **base, case_id=case_id, declaration_id=_uuid(declaration, "end_declaration_id")
            )
            # One ended meanwhile (another officer, another tab) is said beside the list, or
            # atop the page once none is left to list, not as the 404 page; a second click of
            # this form is its own command, done already.
            in_force = {e["declaration_id"] for e in service.emergencies_in_force(actor, case_id)}
            resent = service.accepted_at(base["command_id"]) is not None
            if declaration not in in_force and not resent:
                raise FormError(
                    {"end_declaration_id" if in_force else "form": NO_EMERGENCY_IN_FORCE}
                )
            return command

        def done(command: c.Command, _: Outcome) -> Done:
            declaration = str(command.declaration_id)[:8]  # type: ignore[attr-defined]
            return f"/web/cases/{case_id}", (
                f"緊急時の宣言 {declaration} を終了しました。これ以降、この宣言による提供はしません"
            )

        return await pages.command_form(
            request, build, redraw_case(request, case_id), done, confirm="end_emergency_confirm"
        )

    # いのちネット担当係長 (coordinator) -------------------------------------------------------

    def coordinator_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        cases = [x for x in service.cases(actor) if x["status"] != "closed"]
        context = {
            "cases": cases,
            "unanswered": service.unanswered_referrals(actor),
            "answers": answers_after,
            "can_escalate": "EscalateReferral" in COMMANDS[actor.role],
            "can_answer": "AnswerReferral" in COMMANDS[actor.role],
            "can_decide": "DecideSupport" in COMMANDS[actor.role],
            "escalated": service.escalated_referrals(actor),
            "meetings": service.meetings(actor),
            "members": pages.choices(pages.agencies()),
            # Grouped as the case page's choices: the coordinator's ward first, not 門司区's.
            "member_groups": pages.grouped(pages.agencies(), actor.ward),
            "errors": errors or {},
            "values": values or {},
        }
        return pages.render(
            request, "coordinator.html", "いのちネット担当係長", context, status, actor
        )

    @routes.get("/coordinator")
    def coordinator(request: Request) -> Response:
        return pages.page(request, lambda actor: coordinator_page(request, actor))

    def redraw_coordinator(request: Request) -> Redraw:
        return lambda actor, errors, values: coordinator_page(request, actor, errors, values, 422)

    @routes.post("/coordinator/meeting")
    async def hold_meeting(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            return c.HoldMeeting(
                **base,
                meeting_id=c.derived_id(base["command_id"], "meeting_id"),
                kind=_text(data, "kind"),  # type: ignore[arg-type]
                ward=actor.ward,
                members=_lists(data, "members"),
                case_ids=_lists(data, "case_ids"),  # type: ignore[arg-type]
            )

        done = to("/web/coordinator", "会議を記録しました")
        return await pages.command_form(request, build, redraw_coordinator(request), done)

    @routes.post("/coordinator/move")
    async def move(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            case = _text(data, "move_case_id")
            if not case:
                raise FormError({"move_case_id": "ケースを選んでください（必須）"})
            return c.MoveToSupportMeeting(**base, case_id=_uuid(case, "move_case_id"))

        def refusal(bad: HubError) -> Errors:
            if isinstance(bad, ConsentRequiredError):
                # No field of this form mends it: say where consent is recorded.
                return {"move_case_id": f"{NO_CONSENT_TO_MOVE}（{bad}）"}
            return {"move_case_id": said(bad)}

        done = to("/web/coordinator", "重層的支援会議へ移しました")
        return await pages.command_form(
            request, build, redraw_coordinator(request), done, refusal=refusal
        )

    @routes.post("/coordinator/plan")
    async def agree_plan(request: Request) -> Response:
        # The case's field too: with no case chosen the command is built with the nil UUID,
        # which it refuses; said beside the list as the missing choice.
        aliases = {
            "issues": "issue",
            "goals": "goal",
            "roles": "lead_agency",
            "case_id": "plan_case_id",
        }

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            def make(days: dict[str, date]) -> c.Command:
                case = _text(data, "plan_case_id")
                # No case chosen is said beside the list, with whatever else is missing.
                missing = {} if case else {"plan_case_id": "ケースを選んでください（必須）"}
                lead = _text(data, "lead_agency") or ""
                try:
                    plan = c.AgreePlan(
                        **base,
                        case_id=_uuid(case, "plan_case_id") if case else UUID(int=0),
                        plan_id=c.derived_id(base["command_id"], "plan_id"),
                        issues=[{"area": "生活", "issue": _text(data, "issue") or ""}],  # type: ignore[list-item]
                        goals=[g for g in [_text(data, "goal")] if g],
                        lead_agency=lead,
                        roles=[{"agency_id": lead, "role": "主担当"}],  # type: ignore[list-item]
                        period_from=days["period_from"],
                        period_until=days["period_until"],
                        monitoring_date=days["monitoring_date"],
                    )
                except ValidationError as bad:
                    raise FormError({**field_errors(bad, aliases), **missing}) from None
                if missing:
                    raise FormError(missing)
                return plan

            return _dated(data, ("period_from", "period_until", "monitoring_date"), make, aliases)

        done = to("/web/coordinator", "支援計画を記録しました")
        return await pages.command_form(request, build, redraw_coordinator(request), done, aliases)

    @routes.post("/coordinator/decide")
    async def decide_support(request: Request) -> Response:
        """支援の決定: a meeting that took up the case names the agency that leads."""

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            chosen = _text(data, "decide_on") or ""
            lead = _text(data, "decide_lead_agency") or ""
            missing = {}
            if not chosen:
                missing["decide_on"] = "会議で取り上げたケースを選んでください（必須）"
            if not lead:
                missing["decide_lead_agency"] = "主担当機関を選んでください（必須）"
            if missing:
                raise FormError(missing)
            case, _, meeting = chosen.partition(" ")  # the option's value: "case meeting"
            return c.DecideSupport(
                **base,
                case_id=_uuid(case, "decide_on"),
                meeting_id=_uuid(meeting, "decide_on"),
                lead_agency=lead,
            )

        def refusal(bad: HubError) -> Errors:
            # An agency retired (hub network apply) while the form stood open: beside it.
            if isinstance(bad, UnknownAgencyError):
                return {"decide_lead_agency": f"この機関は今はネットワークにありません（{bad}）"}
            return {"decide_on": said(bad)}

        def done(command: c.Command, _: Outcome) -> Done:
            decided = cast(c.DecideSupport, command)
            lead = pages.names.agency(decided.lead_agency)
            case = str(decided.case_id)[:8]
            return "/web/coordinator", f"ケース {case} の支援を決定しました（主担当：{lead}）"

        aliases = {"lead_agency": "decide_lead_agency", "case_id": "decide_on"}
        return await pages.command_form(
            request, build, redraw_coordinator(request), done, aliases, refusal
        )

    # For the referrals awaiting an answer: 督促, and an answer the agency gave by phone. The
    # referral and its case are the form's hidden fields: its address is a page's, one level
    # down (a form's address opened as a page leads to it).

    def awaiting_referral(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        """The form's referral, of a case the coordinator reads (its ward's), or 404."""
        case_id = _uuid(_text(data, "case_id"), "form")
        referral_id = _text(data, "referral_id")
        case = service.case(actor, case_id)
        for referral in case["referrals"]:
            if referral["referral_id"] == referral_id:
                return {**referral, "ward": case["ward"]}
        raise NotFoundError(NOT_A_REFERRAL)

    def redraw_referral(request: Request) -> Redraw:
        """The coordinator's page again, the referral's forms open with what was sent."""
        return lambda actor, errors, values: coordinator_page(
            request, actor, errors, {**values, "referral": _text(values, "referral_id")}, 422
        )

    @routes.post("/coordinator/escalate")
    async def escalate(request: Request) -> Response:
        agency: list[str] = []  # the referral's, for the line said after

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            referral = awaiting_referral(actor, data)
            agency[:] = [referral["agency_id"]]
            case_id, referral_id = UUID(referral["case_id"]), UUID(referral["referral_id"])
            # Minutes past the deadline the timer would have escalated it at (the CLI's 超過),
            # as the timer counts them; 0 when the coordinator escalates before it.
            made_at = datetime.fromisoformat(referral["made_at"])
            deadline = get_consumer_settings().ack_deadline(referral["urgency"], made_at)
            late = base["occurred_at"] - deadline
            minutes = min(max(0, int(late.total_seconds() // 60)), MAX_OVERDUE_MINUTES)
            return c.EscalateReferral(
                **base, case_id=case_id, referral_id=referral_id, overdue_minutes=minutes
            )

        def done(command: c.Command, _outcome: Outcome) -> Done:
            named = pages.names.agency(agency[0])
            referral = str(command.referral_id)[:8]  # type: ignore[attr-defined]
            return "/web/coordinator", f"紹介 {referral}（{named}）を督促しました"

        return await pages.command_form(request, build, redraw_referral(request), done)

    @routes.post("/coordinator/answer")
    async def answer_by_phone(request: Request) -> Response:
        """An answer the agency gave by phone, recorded by the coordinator on its behalf
        (``recorded_by``): the same answers and refusals as the agency's own inbox."""
        agency: list[str] = []

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            referral = awaiting_referral(actor, data)
            agency[:] = [referral["agency_id"]]
            case_id, referral_id = UUID(referral["case_id"]), UUID(referral["referral_id"])
            reply = _agency_answer(data, f"phone_{{}}-{referral_id}")
            return c.AnswerReferral(
                **base,
                case_id=case_id,
                referral_id=referral_id,
                agency_id=referral["agency_id"],
                answer=reply.answer,
                reason=reply.reason,
                reason_code=reply.reason_code,
                outcome=reply.outcome,
                recorded_by=pages.network.coordinator_of(referral["ward"]).id,
            )

        def done(command: c.Command, _outcome: Outcome) -> Done:
            answered = label("referral_status", command.answer)  # type: ignore[attr-defined]
            named = pages.names.agency(agency[0])
            referral = str(command.referral_id)[:8]  # type: ignore[attr-defined]
            return "/web/coordinator", (
                f"紹介 {referral}（{named}）への回答（{answered}）を、"
                "電話で受けた回答として代理で記録しました"
            )

        def box(data: dict[str, Any]) -> str | None:
            return ending_box(data, f"phone_confirm-{_text(data, 'referral_id')}")

        return await pages.command_form(request, build, redraw_referral(request), done, confirm=box)

    # 支援機関 (member agency) -------------------------------------------------------------------

    def inbox_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        if not opens("/web/inbox", actor) or actor.agency_id is None:
            raise PermissionDeniedError(
                f"{label('role', actor.role)}には支援機関の受信箱がありません"
            )
        # Ended: a referral that takes no answer any more (declined, completed, cancelled).
        referrals = [
            {**r, "ended": not answers_after(r["status"])}
            for r in service.inbox(actor, actor.agency_id)
        ]
        # Asked before the disclosures are read: a relay passing in between would otherwise
        # leave a page with neither the disclosure it recorded nor the word that one may come.
        relay_behind = service.relay_behind()
        shown: dict[str, list[dict[str, Any]]] = {}
        for d in service.inbox_disclosures(actor, actor.agency_id):
            shown.setdefault(d["case_id"], []).append(d)
        # Read (and recorded in the access log) only now the page is sure to be drawn.
        released = service.inbox_values(actor, actor.agency_id, referrals)
        context = {
            "referrals": referrals,
            "answers": answers_after,
            "disclosures": shown,
            "released": released,
            "relay_behind": relay_behind,
            "errors": errors or {},
            "values": values or {},
        }
        return pages.render(request, "inbox.html", "受信箱", context, status, actor)

    @routes.get("/inbox")
    def inbox(request: Request) -> Response:
        return pages.page(request, lambda actor: inbox_page(request, actor))

    @routes.post("/inbox/{referral_id}/answer")
    async def answer(request: Request, referral_id: UUID) -> Response:
        def act(actor: Actor, data: dict[str, Any]) -> Done:
            reply_id = _command_id(data)
            errors: Errors = {}
            try:
                reply = _agency_answer(data, f"{{}}-{referral_id}")
            except FormError as bad:
                errors.update(bad.errors)
            errors.update(unticked(data, ending_box(data, f"confirm-{referral_id}")))
            if errors:  # said together: what is left to correct, and the box
                raise FormError(errors)
            try:
                service.answer(actor, actor.agency_id or "", referral_id, reply, reply_id)
            except NotFoundError:  # the API's line names the ids; the page says it plainly
                raise NotFoundError(NOT_IN_INBOX) from None
            # Named: the page comes back at its top, the answered referral among many.
            answered = label("referral_status", reply.answer)
            return "/web/inbox", f"紹介 {str(referral_id)[:8]} に回答（{answered}）を送りました"

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return inbox_page(request, actor, errors, {**values, "referral": str(referral_id)}, 422)

        return await pages.form(request, act, redraw)

    # 監査 (auditor) -----------------------------------------------------------------------------

    @routes.get("/audit")
    def audit(request: Request) -> Response:
        def draw(actor: Actor) -> Response:
            query = request.query_params
            errors: Errors = {}
            case_id = query.get("case") or None
            agency = query.get("agency") or None
            if case_id:
                try:
                    case_id = str(UUID(case_id))  # as the log writes it (lower case, dashes)
                except ValueError:
                    errors["case"] = "ケースIDの形式が正しくありません"
                    case_id = None
            if agency and agency not in pages.names.agencies:  # a retired one keeps its past
                errors["agency"] = "ネットワークにない機関です"
                agency = None
            days: dict[str, date | None] = {}
            for key in ("from", "to", "as_of"):
                try:
                    days[key] = _filter_day(query.get(key), key)
                except FormError as bad:
                    errors.update(bad.errors)
                    days[key] = None
            if days["from"] and days["to"] and days["to"] < days["from"]:
                # Not an empty list, which would read as "nothing was disclosed".
                errors["to"] = (
                    "期間の終わりが始まりより前です。始まりと同じ日か、それより後の日にしてください"
                )
                days["to"] = None
            start, end, as_of = days["from"], days["to"], days["as_of"]
            disclosures = service.disclosures(
                actor,
                case_id,
                agency,
                _start_of(start) if start else None,
                _start_of(end + timedelta(days=1)) if end else None,
            )
            context = {
                # The newest, as the access log: a year's disclosures is a page no one reads;
                # the count says how many more the filters above narrow to.
                "disclosures": disclosures[-DISCLOSURES_SHOWN:],
                "disclosures_total": len(disclosures),
                "verdict": service.verify(actor),
                "access": service.access(actor, case_id)[-50:],
                "searches": service.searches(actor)[-50:],
                "replay": service.replay(actor, _last_instant_of(as_of), case_id)
                if as_of
                else None,
                "agencies": pages.choices(pages.agencies()),
                "errors": errors,
                "values": dict(query),
            }
            return pages.render(
                request, "audit.html", "監査", context, 422 if errors else 200, actor
            )

        return pages.page(request, draw)

    @routes.get("/audit/report")
    def audit_report(request: Request) -> Response:
        def draw(actor: Actor) -> Response:
            lines = service.audit_report(actor)
            return pages.render(
                request, "report.html", "監査報告（1ページ）", {"lines": lines}, actor=actor
            )

        return pages.page(request, draw)

    # 緊急時提供の審査 (break-glass reviewers: coordinator, auditor) ------------------------------

    def reviews_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        items = service.break_glass_reviews(actor)
        mine = actor.role.value
        awaiting = [i for i in items if mine in i.missing]
        ids = {i.emergency.declaration_id for i in awaiting}
        errors = errors or {}
        context = {
            "awaiting": awaiting,
            "reviewed": [i for i in items if mine not in i.missing],
            "reviewer": mine,
            # Refusals of a declaration no form is drawn for (unknown, reviewed meanwhile).
            "stray": {
                k: v for k, v in errors.items() if k != "form" and k.split("-", 1)[-1] not in ids
            },
            "errors": errors,
            "values": values or {},
        }
        title = "緊急時の要配慮個人情報提供の審査"
        return pages.render(request, "reviews.html", title, context, status, actor)

    @routes.get("/reviews")
    def reviews(request: Request) -> Response:
        return pages.page(request, lambda actor: reviews_page(request, actor))

    @routes.post("/reviews/{declaration_id}")
    async def review(request: Request, declaration_id: UUID) -> Response:
        field = f"declaration-{declaration_id}"

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            again = service.accepted_at(base["command_id"]) is not None
            try:
                item = service.awaiting_review(actor, declaration_id, again=again)
            except (UnknownEmergencyError, AlreadyReviewedError) as refused:
                raise FormError({field: str(refused)}) from None
            return c.ReviewBreakGlass(
                **base,
                case_id=UUID(item.emergency.case_id),
                declaration_id=declaration_id,
                reviewer=actor.role.value,  # type: ignore[arg-type]
                verdict=_text(data, "verdict"),  # type: ignore[arg-type]
                note=_text(data, "note"),
            )

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return reviews_page(
                request, actor, errors, {**values, "declaration": str(declaration_id)}, 422
            )

        def refusal(bad: HubError) -> Errors:
            return {field: said(bad)}

        def done(command: c.Command, _: Outcome) -> Done:
            verdict = label("review_verdict", command.verdict)  # type: ignore[attr-defined]
            return "/web/reviews", f"審査（{verdict}）を記録しました"

        aliases = {k: f"{k}-{declaration_id}" for k in ("verdict", "note")}
        return await pages.command_form(
            request, build, redraw, done, aliases, refusal, confirm=f"confirm-{declaration_id}"
        )

    # 消去の確認 (administrator) -------------------------------------------------------------

    @routes.get("/erasures")
    def erasures(request: Request) -> Response:
        def draw(actor: Actor) -> Response:
            pending = request.query_params.get("pending") == "1"
            listed = service.erasures(actor, pending_only=pending)
            context = {
                "erasures": listed,
                "pending": pending,
                "waiting": sum(len(e.pending) for e in listed),
            }
            return pages.render(request, "erasures.html", "消去の確認", context, actor=actor)

        return pages.page(request, draw)

    # 協力事業者・地域の拠点 (administrator) ------------------------------------------------------

    def network_page_opens(actor: Actor) -> None:
        """The page, and each of its forms, refused alike to a role that may not read the
        list (an operator gives the commands, but is not sent back to this page)."""
        authorize(actor, Read.network)
        if not opens("/web/network", actor):
            raise PermissionDeniedError(
                f"{actor.role} may not open the network page", Refusal(actor.role, "network")
            )

    def network_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Response:
        network_page_opens(actor)
        context = {
            "partners": service.partners(actor),
            "wards": [(w.code, w.name) for w in pages.network.wards],
            "base_kinds": list(codes("base_kind").items()),
            "errors": errors or {},
            "values": values or {},
        }
        title = "協力事業者・地域の拠点"
        return pages.render(request, "network.html", title, context, status, actor)

    @routes.get("/network")
    def network(request: Request) -> Response:
        return pages.page(request, lambda actor: network_page(request, actor))

    def network_form(
        request: Request, prefix: str, what: str
    ) -> tuple[Redraw, Callable[[HubError], Errors], Callable[[c.Command, Outcome], Done]]:
        """What the two registration forms share: the page drawn again, refusals beside
        the form's fields (``{prefix}_ward``) or atop it (``{prefix}``), and the line said."""

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return network_page(request, actor, errors, values, 422)

        def refusal(bad: HubError) -> Errors:
            if isinstance(bad, UnknownWardError):
                return {f"{prefix}_ward": "一覧にある区を選んでください"}
            aliases = network_aliases(prefix)
            return {aliases.get(k, prefix): v for k, v in hub_error_field(bad).items()}

        def done(command: c.Command, _: Outcome) -> Done:
            return "/web/network", f"{what}「{command.name}」を登録しました"  # type: ignore[attr-defined]

        return redraw, refusal, done

    def network_aliases(prefix: str) -> dict[str, str]:
        return {k: f"{prefix}_{k}" for k in ("name", "kind", "ward")}

    @routes.post("/network/business")
    async def register_business(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            network_page_opens(actor)
            return c.RegisterCooperatingBusiness(
                **base,
                business_id=c.derived_id(base["command_id"], "business_id"),
                name=_text(data, "business_name") or "",
                kind=_text(data, "business_kind") or "",
                ward=_text(data, "business_ward"),
            )

        redraw, refusal, done = network_form(request, "business", "協力事業者")
        aliases = network_aliases("business")
        return await pages.command_form(
            request, build, redraw, done, aliases, refusal, confirm="business_confirm"
        )

    @routes.post("/network/base")
    async def register_base(request: Request) -> Response:
        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            network_page_opens(actor)
            return c.RegisterCommunityBase(
                **base,
                base_id=c.derived_id(base["command_id"], "base_id"),
                name=_text(data, "base_name") or "",
                kind=_text(data, "base_kind") or "",  # type: ignore[arg-type]
                ward=_text(data, "base_ward") or "",
            )

        redraw, refusal, done = network_form(request, "base", "地域の拠点")
        aliases = network_aliases("base")
        return await pages.command_form(
            request, build, redraw, done, aliases, refusal, confirm="base_confirm"
        )

    def partner_ended(
        request: Request,
        partner_type: PartnerType,
        make: Callable[[dict[str, Any], UUID], c.Command],
    ) -> Awaitable[Response]:
        """A row's 退会 (a business) or 閉鎖 (a base), now: refused above the list."""
        field, what, ended = (
            ("business_id", "協力事業者", "退会")
            if partner_type == "business"
            else ("base_id", "地域の拠点", "閉鎖")
        )
        shown = f"{partner_type}_end"
        named: dict[str, str] = {}

        def build(actor: Actor, data: dict[str, Any], base: dict[str, Any]) -> c.Command:
            network_page_opens(actor)
            partner_id = _uuid(_text(data, field), shown)
            partners = service.partners(actor)
            every = partners.businesses if partner_type == "business" else partners.bases
            named.update({p.partner_id: p.name for p in every})
            return make(base, partner_id)

        def redraw(actor: Actor, errors: Errors, values: dict[str, Any]) -> Response:
            return network_page(request, actor, errors, {}, 422)

        def refusal(bad: HubError) -> Errors:
            return {shown: refusal_said(bad)}

        def done(command: c.Command, _: Outcome) -> Done:
            partner_id = str(getattr(command, field))
            return (
                "/web/network",
                f"{what}「{named.get(partner_id, partner_id)}」の{ended}を記録しました",
            )

        aliases = {field: shown, "form": shown}
        # An end cannot be undone: each row's form has a box of its own, named by its row.
        return pages.command_form(
            request,
            build,
            redraw,
            done,
            aliases,
            refusal,
            confirm=lambda data: f"end-confirm-{data.get(field, '')}",
        )

    @routes.post("/network/business/withdraw")
    async def withdraw_business(request: Request) -> Response:
        return await partner_ended(
            request,
            "business",
            lambda base, business_id: c.WithdrawCooperatingBusiness(
                **base, business_id=business_id
            ),
        )

    @routes.post("/network/base/close")
    async def close_base(request: Request) -> Response:
        return await partner_ended(
            request,
            "base",
            lambda base, base_id: c.CloseCommunityBase(**base, base_id=base_id),
        )

    # 分析 (analyst) -----------------------------------------------------------------------------

    def this_fiscal_year() -> str:
        return reiwa_label(fiscal_year(now()))

    def analysis_query(request: Request) -> tuple[str, str | None]:
        fy = request.query_params.get("fy") or this_fiscal_year()
        by = request.query_params.get("by") or None
        if by not in (None, "ward", "month"):
            raise InvalidCommandError("by: 区別（ward）か月別（month）を選んでください")
        return fy, by

    def table4(actor: Actor, fy: str, by: str | None, today: date) -> tuple[Cut, list[ReportRow]]:
        # Cut at today: the year in course shows the months so far and the pace still
        # needed, not months to come as 0; a year past is whole, one to come reads 0.
        return service.indicator_rows(actor, fy, by, today)

    @routes.get("/analysis")
    def analysis(request: Request) -> Response:
        def draw(actor: Actor) -> Response:
            errors: Errors = {}
            today = now().astimezone(JST).date()  # one cut for the whole page
            try:
                fy, by = analysis_query(request)
                cut, rows = table4(actor, fy, by, today)
            except InvalidCommandError as bad:
                errors = hub_error_field(bad)
                if "fy" in errors:  # said in Japanese, without echoing what was typed
                    errors["fy"] = FY_MESSAGE
                fy, by = this_fiscal_year(), None
                cut, rows = table4(actor, fy, None, today)
            context = {
                "rows": rows,
                "fy": fy,
                "by": by,
                "cut_label": report.period(cut),
                # The city's targets (R8目標) beside the year's figures, as every report shows.
                "targets": any(r.target is not None for r in rows),
                "progress": progress_texts,
                "indicators": INDICATORS,
                "table_title": TABLE4_TITLE,
                "errors": errors,
                "values": {**dict(request.query_params), "fy": fy},
            }
            return pages.render(
                request, "analysis.html", "分析", context, 422 if errors else 200, actor
            )

        return pages.page(request, draw)

    @routes.get("/analysis/download/{kind}")
    def download(request: Request, kind: str) -> Response:
        from projections import chart

        def draw(actor: Actor) -> Response:
            today = now().astimezone(JST).date()  # one cut for the table, totals and chart
            fy, by = analysis_query(request)
            cut, rows = table4(actor, fy, by, today)
            wards = pages.names.wards
            heading = report.title(cut)
            stem = f"table4-{reiwa_label(cut.fy)}{'-' + by if by else ''}"
            if kind == "csv":
                return Response(
                    report.to_csv(rows, wards),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
                )
            if kind in ("wide.csv", "xlsx", "chart.png"):
                # The CLI's report (ops/cli/_report.py): the same tables and chart.
                def rows_of(_: Cut, breakdown: Breakdown) -> list[ReportRow]:
                    return table4(actor, fy, breakdown, today)[1]

                asked = cast(Breakdown, by)  # analysis_query let only these through
                if kind == "wide.csv":
                    table = report.wide_of(rows, rows_of, cut, asked, wards)
                    return Response(
                        report.to_wide_csv(table, heading),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}-wide.csv"'},
                    )
                with tempfile.TemporaryDirectory() as folder:
                    if kind == "xlsx":
                        path = Path(folder) / "table4.xlsx"
                        table = report.wide_of(rows, rows_of, cut, asked, wards)
                        report.to_xlsx(table, rows, heading, path, wards)
                        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                        return Response(
                            path.read_bytes(),
                            media_type=media,
                            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
                        )
                    path = Path(folder) / "chart.png"
                    parts = report.chart_parts(rows, rows_of, cut, asked)
                    chart.draw(parts.rows, cut, path, heading, wards, parts.targets, parts.notes)
                    return Response(path.read_bytes(), media_type="image/png")
            raise NotFoundError(f"no download {kind!r}")

        return pages.page(request, draw)

    return routes


def form_page_of(app: FastAPI, path: str) -> str | None:
    """The page a form's address belongs to (``/web/cases/ID/refer``: ``/web/cases/ID``),
    or None when the address one level up is no page."""
    parent = path.rstrip("/").rsplit("/", 1)[0]
    if not is_page(parent):
        return None
    scope = {"type": "http", "path": parent, "method": "GET", "root_path": ""}
    if any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
        return parent
    return None


def install(app: FastAPI, service: HubService, settings: Settings) -> None:
    """Mount the pages on the API's application (same process, same use cases)."""
    from fastapi.staticfiles import StaticFiles

    pages = Pages(service, settings, app.state.verifier)
    app.include_router(router(pages))
    app.mount("/web/static", StaticFiles(directory=str(Path(__file__).parent / "static")), "web")

    # A page's address that names nothing (a mistyped or shortened id, a page that does not
    # exist) is a page in Japanese, not the API's problem+json.
    Handler = Callable[[Request, Exception], Awaitable[Response]]  # problems.install's
    api_invalid = cast(Handler, app.exception_handlers[RequestValidationError])
    api_http = cast(Handler, app.exception_handlers[StarletteHTTPException])
    api_refused = cast(Handler, app.exception_handlers[HubError])

    def refusal_page(request: Request, error: HubError) -> Response:
        actor: Actor | None = None
        with suppress(HubError):  # shown to the signed-in user with their navigation
            actor = pages.sessions.actor(request)
        return pages.refused(request, error, actor)

    def missing_page(
        request: Request, status: int, headers: Mapping[str, str] | None = None
    ) -> Response:
        if status == 404:
            return refusal_page(request, NotFoundError(NO_PAGE))
        page = refusal_page(request, InvalidCommandError("このアドレスでは処理できません"))
        if status == 405:  # the page exists, not for this method: said so, as the API does
            page.status_code = 405
            page.headers.update(headers or {})  # Allow: the methods it takes
        return page

    app.state.page_refusal = refusal_page  # a form's body too large (ops/api/limits.py)

    async def invalid(request: Request, error: Exception) -> Response:
        if is_page(request.url.path):
            return missing_page(request, 404)
        return await api_invalid(request, error)

    async def http(request: Request, error: Exception) -> Response:
        if is_page(request.url.path) and isinstance(error, StarletteHTTPException):
            # A form's address opened as a page (the address bar after a form came back with
            # an error, a bookmark, a link passed on): the page the form is on, not a dead end.
            page = form_page_of(app, request.url.path) if error.status_code == 405 else None
            if page is not None and request.method in ("GET", "HEAD"):
                return RedirectResponse(page, status_code=303)
            return missing_page(request, error.status_code, error.headers)
        return await api_http(request, error)

    async def refused(request: Request, error: Exception) -> Response:
        # A refusal before the page's own code runs (a query giving a parameter twice).
        if is_page(request.url.path) and isinstance(error, HubError):
            return await run_in_threadpool(refusal_page, request, error)
        return await api_refused(request, error)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HubError, refused)
    app.add_exception_handler(StarletteHTTPException, http)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/web", status_code=303)
