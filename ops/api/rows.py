"""What the read routes answer, declared in the OpenAPI document so that an integrator's
client knows each field, its type and its codes (README, The HTTP API)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from hub import vocabulary as v

# An instant of an answer: ISO 8601 in JST, ``2025-04-01T09:00:00+09:00`` (ops/api/times.py).
INSTANT: JsonDict = {"format": "date-time"}
IN_JST = "ISO 8601 in JST (+09:00)"
# The bases a disclosure to an agency rests on (producers.governance.BASES; no staff duty).
ReleaseBasis = Literal["consent", "support_meeting", "statute", "vital_interest"]


class ReleasedField(BaseModel):
    """The newest value of one field the relay released to the agency, and that release."""

    value: str
    occurred_at: str = Field(
        description=f"when the released record's event happened; {IN_JST}",
        json_schema_extra=INSTANT,
    )
    basis: ReleaseBasis
    basis_ref: str | None = Field(
        description="the consent's, meeting's or declaration's id, or the statute's name"
    )
    sensitive: bool = Field(
        description="a sensitive detail (要配慮個人情報: person.health, person.disability, "
        "person.criminal_record), released because the ledger records its disclosure"
    )


class ReleasedNarrative(BaseModel):
    """One narrative of the case's events the relay released to the agency (a watch-over's,
    an activity's or a visit's note, a reason, ...), with the event it was written in."""

    path: str = Field(description="what it is, as the access log names it: watch_over.note, …")
    label: str = Field(description="its Japanese label, e.g. 見守りの手配の内容")
    event_type: str = Field(description="the event it was written in, e.g. WatchOverArranged")
    text: str
    occurred_at: str = Field(
        description=f"when its event happened; {IN_JST}", json_schema_extra=INSTANT
    )
    basis: ReleaseBasis
    basis_ref: str | None = Field(
        description="the consent's, meeting's or declaration's id, or the statute's name"
    )


class Released(BaseModel):
    """What the relay released to the agency of the case's person (docs/STREAMS.md, "An
    agency that uses only the browser"); its reading is in the access log."""

    erased: bool = Field(description="the person was erased: no value is given")
    fields: dict[str, ReleasedField] = Field(
        description="by field path: person.name, person.kana, person.birth_date, "
        "person.address, person.phone, person.health, person.disability, "
        "person.criminal_record, note (the referral's 申し送り); only those released, the "
        "newest value of each"
    )
    narratives: list[ReleasedNarrative] = Field(
        description="the narratives of the case's events released to the agency, oldest "
        "first (never one about another agency's referral)"
    )


class InboxRow(BaseModel):
    """One referral the hub sent the agency, and where it stands (codes only, unless
    ``details`` asked for the values released to the agency)."""

    referral_id: UUID
    agency_id: str
    case_id: UUID
    ward: str = Field(description="the case's ward code, e.g. tobata")
    purpose: v.Purpose
    urgency: v.Urgency
    sent_at: str = Field(
        description=f"when the referral was made; {IN_JST}", json_schema_extra=INSTANT
    )
    status: Literal["sent", v.ReferralAnswer, "cancelled"] = Field(
        description="sent (no answer yet), the last answer given, or cancelled by the referrer"
    )
    answers: int = Field(description="how many answers the agency gave")
    first_answer_at: str | None = Field(
        description=f"the earliest answer given; {IN_JST}", json_schema_extra=INSTANT
    )
    last_answer_at: str | None = Field(
        description=f"the answer recorded last; {IN_JST}", json_schema_extra=INSTANT
    )
    escalated_at: str | None = Field(
        description=f"when it was escalated to the ward's coordinator, unanswered; {IN_JST}",
        json_schema_extra=INSTANT,
    )
    released: Released | None = Field(
        description="with details=true, to the agency's own staff: the values the relay "
        "released to the agency about the case's person (null: none, the referral ended, or "
        "details not asked)",
    )


class CaseNote(BaseModel):
    """One narrative written on the case or in a report it was opened from (ops/case_notes.py),
    shown in the same recorded read as the person's details."""

    path: str = Field(
        description="its kind, as the access record names it: discovery.note, "
        "consultation.note, assessment.summary, referral.note, referral_answer.reason, "
        "referral_cancellation.reason, consent.proxy_relationship, consent_refusal.reason, "
        "use_stop.reason, plan.issue, plan.goal, evaluation.note, suspension.reason, "
        "closure.reason, outreach_visit.note, support_activity.note, watch_over.note, "
        "emergency.reason, emergency.sensitive_reason, break_glass_review.note"
    )
    label: str = Field(description="its kind in Japanese: 相談内容の要旨, 中断の理由, …")
    written_at: str = Field(
        description=f"when the event holding it happened; {IN_JST}", json_schema_extra=INSTANT
    )
    agency_id: str | None = Field(
        description="the agency it is about (a referral, its answer or cancellation, a visit, "
        "a support activity); null for the others"
    )
    coded: str | None = Field(
        description="the coded value it goes with, as its Japanese label (辞退（対象外）, 不在, "
        "改善); null when none"
    )
    text: str


class PersonRead(BaseModel):
    """The person's details and the case's narratives, read once and recorded first in the
    access log: the record names every field and every narrative path shown."""

    case_id: UUID
    ward: str = Field(description="the case's ward code, e.g. tobata")
    person: dict[str, str] = Field(
        description="the details held: name, kana, birth_date, address, phone, health, "
        "disability, criminal_record (each only when held; ［消去済み］ once erased)"
    )
    erased: bool = Field(description="the person was erased: nothing is read or recorded")
    read_recorded: bool = Field(description="whether the read was recorded in the access log")
    notes: list[CaseNote] = Field(description="oldest first; none on an erased case")


class PartnerRow(BaseModel):
    """One registered 協力事業者 or 地域の拠点 (organisations only): by type, then ward in the
    city's order (a business of the whole city first), then name."""

    partner_type: Literal["business", "base"] = Field(
        description="business (協力事業者, 参加支援) or base (地域の拠点, 地域づくり)"
    )
    partner_type_label: str = Field(description="協力事業者 or 地域の拠点")
    partner_id: UUID = Field(
        description="the business_id or base_id a participation match or a gathering names"
    )
    name: str
    kind: str = Field(description="a business's kind as typed (飲食 …); a base's base_kind code")
    kind_label: str = Field(description="the kind in Japanese (a base's code's label)")
    ward: str | None = Field(description="the ward code; null: a business of the whole city")
    ward_label: str = Field(description="区名, or 市内全域")
    registered_at: str = Field(
        description=f"when it was registered (occurred_at); {IN_JST}", json_schema_extra=INSTANT
    )
    ended_at: str | None = Field(
        description="when the business left the network or the base closed (from then it is "
        f"counted no more and may not be named by a match or a gathering); null: in the "
        f"network; {IN_JST}",
        json_schema_extra=INSTANT,
    )
