"""Commands: what users ask the hub to do, named in the imperative, validated at the edge.

Every command carries a ``command_id``; the hub applies each id once. Ids of things a
command creates default to values derived from the command id, so a resubmitted command
addresses the same case, referral or consent.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_args
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic_core import to_jsonable_python

from hub import plausible
from hub import vocabulary as v
from hub.events import AgencyRole, IssueByArea, PersonDetails
from hub.ids import Id

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
# A line break inside a name, an address or a statute (pasted from a document) splits the
# row of every table and list it is shown in; a note (``Text``) may hold several lines.
_LINE_BREAK = re.compile("[\n\u2028\u2029]")


def _one_line(value: str) -> str:
    if _LINE_BREAK.search(value):
        raise ValueError("is one line: it holds a line break")
    return value


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]
# フリガナ as a window writes it: full-width katakana (ァ..ヾ, which holds ・ and ー) and
# spaces, half- or full-width, between its words. For new commands only: PersonDetails,
# which decodes the stored events, takes any text, so the events of before still read.
KANA_PATTERN = r"^[ァ-ヾ 　]+$"
KANA_RULE = "is not in full-width katakana (カナは全角カタカナで入力してください)"


def _katakana(value: str) -> str:
    # Composed first: ガ typed as カ and a combining mark (U+3099) is the ガ a search types.
    value = unicodedata.normalize("NFC", value)
    if not re.fullmatch(KANA_PATTERN, value):
        raise ValueError(KANA_RULE)
    return value


Kana = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_katakana),
    Field(
        json_schema_extra={"pattern": KANA_PATTERN},
        description="フリガナ: full-width katakana (ァ-ヾ, with ー and ・) and spaces.",
    ),
]
CODE_PATTERN = r"^[a-z0-9][a-z0-9._:-]{0,63}$"  # a ward, an agency, a kind of thing
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
# An instant in the plausible window (2000-01-01 .. now + HUB_FUTURE_MARGIN_DAYS); the end of
# a period is only aware here, and bounded by its start plus the longest period of its kind.
# Said in the schema too: a client written from the document alone cannot know these bounds.
Instant = Annotated[
    datetime,
    BeforeValidator(plausible.written_out),
    AfterValidator(plausible.instant),
    Field(
        description="ISO 8601 with a UTC offset (-12:00 to +14:00), from 2000-01-01T00:00:00+09:00 "
        "to HUB_FUTURE_MARGIN_DAYS (31 by default) days ahead of now."
    ),
]
PeriodEnd = Annotated[
    datetime,
    BeforeValidator(plausible.written_out),
    AfterValidator(plausible.aware),
    Field(description="ISO 8601 with a UTC offset (-12:00 to +14:00), after the period's start."),
]
Day = Annotated[
    date,
    BeforeValidator(plausible.written_out),
    AfterValidator(plausible.day),
    Field(description="YYYY-MM-DD, from 2000-01-01 to HUB_FUTURE_MARGIN_DAYS days ahead."),
]
BirthDate = Annotated[
    date, BeforeValidator(plausible.written_out), AfterValidator(plausible.birth_date)
]


def derived_id(command_id: UUID, role: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/commands/{command_id}/{role}")


def command_digest(command: BaseModel) -> str:
    """SHA-256 of the validated command as canonical JSON (sorted keys, no nulls, instants
    in UTC), so the same command spelled differently has the same digest."""

    def canonical(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        return to_jsonable_python(value)

    data = command.model_dump(exclude_none=True)
    text = json.dumps(data, default=canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Lone surrogates, the control characters (Unicode category Cc: U+0000-001F and
# U+007F-009F) other than newline and tab, and the bidirectional embeddings, overrides and
# isolates (U+202A-202E, U+2066-2069), which make a name or an address read on screen in
# another order than the one stored and searched. One regex search per string: a loop over
# every character cost a fifth of a command's CPU (BENCHMARKS.md, group commit).
_NOT_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# Text with no visible character, only zero-width ones (spaces, joiners, a byte order mark,
# soft hyphens) among spaces: a name or a note that shows as nothing.
_INVISIBLE = "\u00ad\u200b-\u200f\u2060-\u2064\ufeff"
# Two linear scans: one pattern "blanks, an invisible one, blanks" backtracked quadratically,
# and a note of 21,000 zero-width spaces and one letter held the API's event loop for 2 s.
_ONLY_BLANK = re.compile(f"[\\s{_INVISIBLE}]*")
_AN_INVISIBLE = re.compile(f"[{_INVISIBLE}]")


def _nothing_visible(value: str) -> bool:
    """Whether ``value`` is spaces and invisible characters only, one of them invisible."""
    return _ONLY_BLANK.fullmatch(value) is not None and _AN_INVISIBLE.search(value) is not None


def _check_text(value: Any, path: str = "") -> None:
    """Refuses lone surrogates, control characters and bidirectional controls anywhere in
    the input, and text whose every character is invisible."""
    if isinstance(value, str):
        found = _NOT_TEXT.search(value)
        if found is not None:
            char = found.group()
            if "\ud800" <= char <= "\udfff":
                raise ValueError(f"{path or 'text'}: contains a lone surrogate (not valid text)")
            if char >= "\u202a":
                raise ValueError(
                    f"{path or 'text'}: contains a bidirectional control character {ord(char):#x}"
                )
            raise ValueError(f"{path or 'text'}: contains a control character {ord(char):#x}")
        if _nothing_visible(value):
            raise ValueError(f"{path or 'text'}: has no visible character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")


# A refusal by a rule of a whole command names the field it is about first ("note: contains
# …", "person.name: …") or among its words ("valid_until must be after valid_from").
_FIELD_FIRST = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]]*): (?P<rule>.+)", re.DOTALL)
_FIELD_WORD = re.compile(r"[a-z]+(?:_[a-z]+)+")


def field_of_rule(fields: Collection[str], rule: str) -> tuple[str, str] | None:
    """The field of ``fields`` a refusal by a rule of the whole command is about, and the
    rule without that field's name in front; None when the rule names none of them."""
    named = _FIELD_FIRST.fullmatch(rule)
    if named is not None and re.split(r"[.\[]", named["field"], maxsplit=1)[0] in fields:
        return named["field"], named["rule"]
    word = next((w for w in _FIELD_WORD.findall(rule) if w in fields), None)
    return (word, rule) if word is not None else None


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    command_id: Id
    occurred_at: Instant

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        _check_text(data)
        return data


def _fill_ids(*fields: str) -> Any:
    """A before-validator that derives missing ids of created things from the command id."""

    def fill(cls: type, data: Any) -> Any:
        if isinstance(data, dict) and "command_id" in data:
            try:
                command_id = UUID(str(data["command_id"]))
            except ValueError:
                return data  # the field validator reports the bad id
            for name in fields:
                if data.get(name) is None:
                    data = {**data, name: derived_id(command_id, name)}
        return data

    fill.derived = fields  # type: ignore[attr-defined]  # read by commands_json_schema
    return model_validator(mode="before")(classmethod(fill))  # type: ignore[arg-type]


class IssueInput(IssueByArea):
    # The area is a heading (生活, 社会参加), kept in clear: bounded and never blank.
    area: ShortText
    issue: Text  # type: ignore[assignment]


class AgencyRoleInput(AgencyRole):
    """An agency's part in a plan as submitted: the agency by its code (checked against the
    network), its role a short text, never blank."""

    agency_id: Code
    role: ShortText


# 6 to 20 characters of digits, +, (, ), - and spaces, six of them digits at least: "()()()"
# or "------" is no phone number.
Phone = Annotated[
    str,
    StringConstraints(min_length=6, max_length=20, pattern=r"^[+()\- ]*(?:[0-9][+()\- ]*){6,}$"),
]


class PersonInput(PersonDetails):
    """Person details as submitted; text fields are bounded."""

    name: ShortText | None = None  # type: ignore[assignment]
    kana: Kana | None = None  # type: ignore[assignment]
    birth_date: BirthDate | None = None  # type: ignore[assignment]
    address: ShortText | None = None  # type: ignore[assignment]
    phone: Phone | None = None  # type: ignore[assignment]
    health: Text | None = None  # type: ignore[assignment]
    disability: Text | None = None  # type: ignore[assignment]
    criminal_record: Text | None = None  # type: ignore[assignment]


# 見つける -----------------------------------------------------------------------------------


class ReportDiscovery(Command):
    type: Literal["ReportDiscovery"] = "ReportDiscovery"
    discovery_id: Id
    reporter_kind: v.ReporterKind
    reporter_group: Code | None = None
    reporter_agency: Code | None = None
    ward: Code
    signs: list[v.Sign] = Field(min_length=1, max_length=20)
    urgency: v.Urgency
    channel: v.Channel = "unknown"
    note: Text | None = None
    person: PersonInput | None = None
    _ids = _fill_ids("discovery_id")


# 包括的相談支援 -------------------------------------------------------------------------------


class ReceiveConsultation(Command):
    """A consultation at a ward window (相談受付); opens a case unless ``case_id`` names one."""

    type: Literal["ReceiveConsultation"] = "ReceiveConsultation"
    case_id: Id | None = None
    consultation_id: Id
    window_agency: Code
    # The person's ward; needed only when a city-wide window opens a case (a ward's window
    # opens its cases in its ward: another ward stated is WardMismatchError).
    ward: Code | None = None
    needs: list[v.Need] = Field(default_factory=list, max_length=20)
    note: Text | None = None
    person: PersonInput | None = None
    _ids = _fill_ids("consultation_id")


class OpenCase(Command):
    type: Literal["OpenCase"] = "OpenCase"
    case_id: Id
    ward: Code
    discovery_id: Id | None = None
    person: PersonInput | None = Field(
        default=None,
        description=(
            "With discovery_id, the person details the discovery reported are the case's; "
            "each field given here replaces the report's."
        ),
    )
    _ids = _fill_ids("case_id")


class RecordPersonDetails(Command):
    type: Literal["RecordPersonDetails"] = "RecordPersonDetails"
    case_id: Id
    person: PersonInput


class ClearPersonDetails(Command):
    """訂正 by deletion: empty details of the person held wrong, with no value to replace them
    (RecordPersonDetails replaces a value)."""

    type: Literal["ClearPersonDetails"] = "ClearPersonDetails"
    case_id: Id
    fields: list[v.ClearableField] = Field(min_length=1, max_length=5)


class RecordAssessment(Command):
    type: Literal["RecordAssessment"] = "RecordAssessment"
    case_id: Id
    needs: list[v.Need] = Field(min_length=1, max_length=20)
    complexity: v.Complexity
    summary: Text | None = None


# つなげる -------------------------------------------------------------------------------------


class ReferCase(Command):
    type: Literal["ReferCase"] = "ReferCase"
    case_id: Id
    referral_id: Id
    agency_id: Code
    purpose: v.Purpose
    urgency: v.Urgency
    statute: ShortText | None = None
    note: Text | None = None
    _ids = _fill_ids("referral_id")


class AnswerReferral(Command):
    type: Literal["AnswerReferral"] = "AnswerReferral"
    case_id: Id
    referral_id: Id
    agency_id: Code
    answer: v.ReferralAnswer
    reason: ShortText | None = None  # free text, beside the coded reason
    reason_code: v.DeclineReason | None = None  # why it was declined
    outcome: v.Outcome | None = None  # how a completed referral ended
    # The ward's いのちネット担当係長 (``<ward>.coordinator``) recording an answer the agency
    # gave by phone, on its behalf; omitted when the agency answers itself.
    recorded_by: Code | None = None

    @model_validator(mode="after")
    def _declines_have_reasons(self) -> AnswerReferral:
        if self.answer == "declined" and not (self.reason or self.reason_code):
            raise ValueError("a declined referral needs a reason (reason_code and/or reason)")
        if self.reason_code is not None and self.answer != "declined":
            raise ValueError("reason_code is the reason of a decline")
        if self.outcome is not None and self.answer != "completed":
            raise ValueError("outcome: belongs to a completion")
        return self


class CancelReferral(Command):
    """The referrer withdraws a referral that has not ended."""

    type: Literal["CancelReferral"] = "CancelReferral"
    case_id: Id
    referral_id: Id
    reason_code: v.CancelReason
    reason: ShortText | None = None


class EscalateReferral(Command):
    type: Literal["EscalateReferral"] = "EscalateReferral"
    case_id: Id
    referral_id: Id
    overdue_minutes: int = Field(ge=0, le=plausible.MAX_OVERDUE_MINUTES, strict=True)


# Consent ------------------------------------------------------------------------------------

# A list of codes is as long as its codes at most: 4,000 "consultation"s were a consent.
PURPOSES = len(get_args(v.Purpose))
CATEGORIES = len(get_args(v.DataCategory))


class GiveConsent(Command):
    type: Literal["GiveConsent"] = "GiveConsent"
    case_id: Id
    consent_id: Id
    scope: list[Code] = Field(min_length=1, max_length=100)
    purposes: list[v.Purpose] = Field(min_length=1, max_length=PURPOSES)
    data_categories: list[v.DataCategory] = Field(min_length=1, max_length=CATEGORIES)
    valid_from: Instant
    valid_until: PeriodEnd
    by_proxy: bool = Field(default=False, strict=True)
    proxy_relationship: ShortText | None = None
    _ids = _fill_ids("consent_id")

    @model_validator(mode="after")
    def _period_and_proxy(self) -> GiveConsent:
        broken = plausible.period(
            "valid_from", "valid_until", self.valid_until - self.valid_from, "consent"
        )
        if broken:
            raise ValueError(broken)
        if self.by_proxy and not self.proxy_relationship:
            raise ValueError("consent by proxy must say who gave it (proxy_relationship)")
        return self


class RefuseConsent(Command):
    type: Literal["RefuseConsent"] = "RefuseConsent"
    case_id: Id
    consent_id: Id
    scope: list[Code] = Field(default_factory=list, max_length=100)
    reason: ShortText | None = None
    _ids = _fill_ids("consent_id")


class WithdrawConsent(Command):
    type: Literal["WithdrawConsent"] = "WithdrawConsent"
    case_id: Id
    consent_id: Id


class RequestUseStop(Command):
    """利用停止: record the person's request that their details be used no more on consent."""

    type: Literal["RequestUseStop"] = "RequestUseStop"
    case_id: Id
    request_id: Id
    reason: ShortText | None = None
    _ids = _fill_ids("request_id")


# Meetings -----------------------------------------------------------------------------------


class HoldMeeting(Command):
    """つながりづくり会議 (kind=connection) or 重層的支援会議 (kind=support)."""

    type: Literal["HoldMeeting"] = "HoldMeeting"
    meeting_id: Id
    kind: v.MeetingKind
    ward: Code | None = None
    members: list[Code] = Field(min_length=1, max_length=100)
    case_ids: list[Id] = Field(min_length=1, max_length=200)
    _ids = _fill_ids("meeting_id")


class MoveToSupportMeeting(Command):
    type: Literal["MoveToSupportMeeting"] = "MoveToSupportMeeting"
    case_id: Id


class DecideSupport(Command):
    type: Literal["DecideSupport"] = "DecideSupport"
    case_id: Id
    meeting_id: Id
    lead_agency: Code


class AgreePlan(Command):
    type: Literal["AgreePlan"] = "AgreePlan"
    case_id: Id
    plan_id: Id
    meeting_id: Id | None = None
    issues: list[IssueInput] = Field(min_length=1, max_length=50)
    goals: list[ShortText] = Field(min_length=1, max_length=50)
    lead_agency: Code
    roles: list[AgencyRoleInput] = Field(min_length=1, max_length=50)
    period_from: Day
    period_until: Annotated[date, BeforeValidator(plausible.written_out)]
    monitoring_date: Annotated[date, BeforeValidator(plausible.written_out)]
    _ids = _fill_ids("plan_id")

    @model_validator(mode="after")
    def _dates(self) -> AgreePlan:
        broken = plausible.period(
            "period_from", "period_until", self.period_until - self.period_from, "plan"
        )
        if broken:
            raise ValueError(broken)
        if not self.period_from <= self.monitoring_date <= self.period_until:
            raise ValueError("monitoring_date must fall within the plan's period")
        return self


class EvaluateCase(Command):
    type: Literal["EvaluateCase"] = "EvaluateCase"
    case_id: Id
    evaluation: v.Evaluation
    note: Text | None = None


class SuspendCase(Command):
    type: Literal["SuspendCase"] = "SuspendCase"
    case_id: Id
    reason: ShortText


class CloseCase(Command):
    type: Literal["CloseCase"] = "CloseCase"
    case_id: Id
    reason: ShortText


# 見守る and support --------------------------------------------------------------------------


class RecordOutreachVisit(Command):
    type: Literal["RecordOutreachVisit"] = "RecordOutreachVisit"
    case_id: Id
    visit_id: Id
    # Omitted: the network's outreach contractor in force when the visit is recorded
    # (reference data is on the log, not in the command contract).
    agency_id: Code | None = None
    outcome: v.VisitOutcome
    note: Text | None = None
    _ids = _fill_ids("visit_id")


class RecordSupportActivity(Command):
    type: Literal["RecordSupportActivity"] = "RecordSupportActivity"
    case_id: Id
    activity_id: Id
    agency_id: Code
    kind: v.ActivityKind
    note: Text | None = None
    _ids = _fill_ids("activity_id")


class MatchParticipation(Command):
    type: Literal["MatchParticipation"] = "MatchParticipation"
    case_id: Id
    match_id: Id
    place_kind: v.PlaceKind
    business_id: Id | None = None
    base_id: Id | None = None
    _ids = _fill_ids("match_id")


class ArrangeWatchOver(Command):
    type: Literal["ArrangeWatchOver"] = "ArrangeWatchOver"
    case_id: Id
    watch_id: Id
    watchers: list[Code] = Field(min_length=1, max_length=50)
    frequency: v.WatchFrequency
    note: Text | None = None  # who looks in when, where: the person's data (sealed, withheld)
    _ids = _fill_ids("watch_id")


class DeclareEmergency(Command):
    """Vital interest (個人情報保護法 27条1項2号): time-limited, reviewed."""

    type: Literal["DeclareEmergency"] = "DeclareEmergency"
    case_id: Id
    declaration_id: Id
    agencies: list[Code] = Field(min_length=1, max_length=50)
    data_categories: list[v.DataCategory] = Field(min_length=1, max_length=CATEGORIES)
    reason: ShortText
    expires_at: PeriodEnd
    # Break-glass: sensitive categories the responders need, and why (both or neither).
    sensitive_categories: list[v.SensitiveCategory] = Field(default_factory=list, max_length=3)
    sensitive_reason: ShortText | None = None
    _ids = _fill_ids("declaration_id")

    @model_validator(mode="after")
    def _break_glass(self) -> DeclareEmergency:
        if self.sensitive_categories and not self.sensitive_reason:
            raise ValueError("sensitive_reason: say why the responders need sensitive data")
        if self.sensitive_reason and not self.sensitive_categories:
            raise ValueError("sensitive_categories: name the sensitive data the reason is for")
        return self

    @model_validator(mode="after")
    def _expiry(self) -> DeclareEmergency:
        broken = plausible.period(
            "occurred_at", "expires_at", self.expires_at - self.occurred_at, "emergency"
        )
        if broken:
            raise ValueError(broken)
        return self


class EndEmergency(Command):
    type: Literal["EndEmergency"] = "EndEmergency"
    case_id: Id
    declaration_id: Id


class ReviewBreakGlass(Command):
    """Close (for one reviewer) the review of what a break-glass declaration released."""

    type: Literal["ReviewBreakGlass"] = "ReviewBreakGlass"
    case_id: Id
    declaration_id: Id
    reviewer: v.Reviewer
    verdict: v.ReviewVerdict
    note: ShortText | None = None


# 参加支援 and 地域づくり -----------------------------------------------------------------------


class RegisterCooperatingBusiness(Command):
    type: Literal["RegisterCooperatingBusiness"] = "RegisterCooperatingBusiness"
    business_id: Id
    name: ShortText
    kind: ShortText
    ward: Code | None = None
    _ids = _fill_ids("business_id")


class RegisterCommunityBase(Command):
    type: Literal["RegisterCommunityBase"] = "RegisterCommunityBase"
    base_id: Id
    name: ShortText
    kind: v.BaseKind
    ward: Code
    _ids = _fill_ids("base_id")


class WithdrawCooperatingBusiness(Command):
    """A business leaves the network (no longer takes people in): table ④ counts it no more
    from the JST day of ``occurred_at``, and no match names it from that instant."""

    type: Literal["WithdrawCooperatingBusiness"] = "WithdrawCooperatingBusiness"
    business_id: Id


class CloseCommunityBase(Command):
    """A base closes: table ④ counts it no more from the JST day of ``occurred_at``, and no
    match or gathering names it from that instant."""

    type: Literal["CloseCommunityBase"] = "CloseCommunityBase"
    base_id: Id


class HoldGathering(Command):
    type: Literal["HoldGathering"] = "HoldGathering"
    base_id: Id
    gathering_id: Id
    participants: int = Field(ge=0, le=plausible.MAX_PARTICIPANTS, strict=True)
    bodies: list[ShortText] = Field(default_factory=list, max_length=200)
    _ids = _fill_ids("gathering_id")


# Targets (R8目標) -----------------------------------------------------------------------------


def _hundredths(value: float) -> float:
    if value != round(value, 2):
        raise ValueError("a target has at most two decimals (e.g. 12.5)")
    return value + 0.0  # -0.0 (JSON allows it) is the target 0, not one printed "-0"


# A count, a share or a rate of table ④: not NaN, and no finer than a table prints it.
TargetValue = Annotated[
    float,
    Field(ge=0, le=10_000_000, allow_inf_nan=False, strict=True),
    AfterValidator(_hundredths),
]


class SetTarget(Command):
    """Set (or revise) the target of one indicator of table ④ for a fiscal year (R8目標)."""

    type: Literal["SetTarget"] = "SetTarget"
    fiscal_year: int = Field(ge=2019, le=2100, strict=True)  # the year April starts in: R8 = 2026
    indicator: Code  # a code of table ④ (`hub ref codes indicator`)
    value: TargetValue
    note: ShortText | None = None


AnyCommand = Annotated[
    ReportDiscovery
    | ReceiveConsultation
    | OpenCase
    | RecordPersonDetails
    | ClearPersonDetails
    | RecordAssessment
    | ReferCase
    | AnswerReferral
    | CancelReferral
    | EscalateReferral
    | GiveConsent
    | RefuseConsent
    | WithdrawConsent
    | RequestUseStop
    | HoldMeeting
    | MoveToSupportMeeting
    | DecideSupport
    | AgreePlan
    | EvaluateCase
    | SuspendCase
    | CloseCase
    | RecordOutreachVisit
    | RecordSupportActivity
    | MatchParticipation
    | ArrangeWatchOver
    | DeclareEmergency
    | EndEmergency
    | ReviewBreakGlass
    | RegisterCooperatingBusiness
    | RegisterCommunityBase
    | WithdrawCooperatingBusiness
    | CloseCommunityBase
    | HoldGathering
    | SetTarget,
    Field(discriminator="type"),
]

COMMAND_ADAPTER: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)


def derived_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The ids ``model`` derives from its command id when they are left out."""
    validator = model.__pydantic_decorators__.model_validators.get("_ids")
    if validator is None:
        return ()
    return tuple(getattr(getattr(validator.func, "__func__", None), "derived", ()))


def commands_json_schema() -> dict[str, Any]:
    """The JSON Schema of one command. Ids that a command derives from its ``command_id`` when
    left out (uuid5 of ``/commands/<command_id>/<field>``) are optional here, as at run time."""
    schema = COMMAND_ADAPTER.json_schema()
    for model in _command_models():
        definition = schema.get("$defs", {}).get(model.__name__)
        if definition is not None:
            optional_ids(model, definition)
    return schema


def optional_ids(
    model: type[BaseModel], definition: dict[str, Any], source: str = "command_id"
) -> None:
    """``definition`` (the JSON Schema of ``model``) with the ids it derives from ``source``
    when left out optional, and said so, in place."""
    for name in derived_fields(model):
        if name in definition.get("required", []):
            definition["required"].remove(name)
        field = definition["properties"][name]
        if "anyOf" not in field:  # null is left out too: the id is derived all the same
            title = {"title": field.pop("title")} if "title" in field else {}
            definition["properties"][name] = {"anyOf": [field, {"type": "null"}], **title}
        definition["properties"][name]["description"] = (
            f"Optional: derived from {source} when left out "
            f"(uuid5(NAMESPACE_URL, '/commands/<command_id>/{name}'))."
        )
    for name in OPENED_WHEN_LEFT_OUT.get(model.__name__, ()):
        definition["properties"][name]["description"] = (
            "Optional: names the case it belongs to; when left out a case is opened, its id "
            f"derived from {source} "
            f"(uuid5(NAMESPACE_URL, '/commands/<command_id>/{name}'))."
        )


# Ids a command names when given and creates, derived from its command id, when left out.
OPENED_WHEN_LEFT_OUT: dict[str, tuple[str, ...]] = {"ReceiveConsultation": ("case_id",)}


def _command_models() -> list[type[BaseModel]]:
    union = AnyCommand.__origin__  # type: ignore[attr-defined]
    return list(union.__args__)
