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


class InboxRow(BaseModel):
    """One referral the hub sent the agency, and where it stands (codes only)."""

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
