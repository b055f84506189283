"""Synthetic commands for tests: obviously fake people, fixed times, fresh ids.

Every helper returns a validated command; pass keyword overrides to change a field.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hub import commands as c
from hub.fiscal import JST

T0 = datetime(2025, 4, 10, 9, 0, tzinfo=JST)

# Synthetic person data: the leak scans look for these exact strings.
SYNTHETIC_NAME = "試験 花子"
SYNTHETIC_KANA = "シケン ハナコ"
SYNTHETIC_ADDRESS = "北九州市架空区試験町1-2-3"
SYNTHETIC_PHONE = "093-000-0000"
SYNTHETIC_HEALTH = "試験用の架空の病歴"
SYNTHETIC_NOTE = "架空の相談メモ"
SYNTHETIC_STRINGS = (
    SYNTHETIC_NAME,
    SYNTHETIC_KANA,
    SYNTHETIC_ADDRESS,
    SYNTHETIC_PHONE,
    SYNTHETIC_HEALTH,
    SYNTHETIC_NOTE,
)


def at(days: float = 0, base: datetime = T0) -> datetime:
    return base + timedelta(days=days)


def person(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": SYNTHETIC_NAME,
        "kana": SYNTHETIC_KANA,
        "birth_date": "1950-01-01",
        "address": SYNTHETIC_ADDRESS,
        "phone": SYNTHETIC_PHONE,
        "health": SYNTHETIC_HEALTH,
    }
    data.update(overrides)
    return data


def _build(model: type[c.Command], defaults: dict[str, Any], overrides: dict[str, Any]) -> Any:
    data = {"command_id": uuid4(), "occurred_at": T0, **defaults, **overrides}
    return model.model_validate(data)


def consultation(**kw: Any) -> c.ReceiveConsultation:
    defaults = {
        "window_agency": "kokurakita.houkatsu",
        "needs": ["elderly"],
        "note": SYNTHETIC_NOTE,
        "person": person(),
    }
    return _build(c.ReceiveConsultation, defaults, kw)


def discovery(**kw: Any) -> c.ReportDiscovery:
    defaults = {
        "reporter_kind": "partner_company",
        "reporter_group": "newspaper",
        "ward": "tobata",
        "signs": ["newspapers_piling_up"],
        "urgency": "urgent",
        "note": SYNTHETIC_NOTE,
    }
    return _build(c.ReportDiscovery, defaults, kw)


def open_case(**kw: Any) -> c.OpenCase:
    return _build(c.OpenCase, {"case_id": uuid4(), "ward": "tobata"}, kw)


def assessment(case_id: UUID, **kw: Any) -> c.RecordAssessment:
    defaults = {"case_id": case_id, "needs": ["8050", "hikikomori"], "complexity": "complex"}
    return _build(c.RecordAssessment, defaults, kw)


def referral(case_id: UUID, agency_id: str = "kokurakita.hogo", **kw: Any) -> c.ReferCase:
    defaults = {
        "case_id": case_id,
        "agency_id": agency_id,
        "purpose": "consultation",
        "urgency": "soon",
        "note": SYNTHETIC_NOTE,
    }
    return _build(c.ReferCase, defaults, kw)


def answer(
    case_id: UUID, referral_id: UUID, agency_id: str, answer: str, **kw: Any
) -> c.AnswerReferral:
    defaults = {
        "case_id": case_id,
        "referral_id": referral_id,
        "agency_id": agency_id,
        "answer": answer,
    }
    return _build(c.AnswerReferral, defaults, kw)


def consent(case_id: UUID, **kw: Any) -> c.GiveConsent:
    defaults = {
        "case_id": case_id,
        "scope": ["ward_windows"],
        "purposes": ["consultation", "support_planning"],
        "data_categories": ["identity", "contact"],
        "valid_from": T0,
        "valid_until": at(365),
    }
    return _build(c.GiveConsent, defaults, kw)


def withdrawal(case_id: UUID, consent_id: UUID, **kw: Any) -> c.WithdrawConsent:
    return _build(c.WithdrawConsent, {"case_id": case_id, "consent_id": consent_id}, kw)


def meeting(case_ids: list[UUID], kind: str = "connection", **kw: Any) -> c.HoldMeeting:
    defaults = {
        "kind": kind,
        "ward": "kokurakita",
        "members": ["kokurakita.coordinator", "kokurakita.hogo", "hoboku-shakyo"],
        "case_ids": case_ids,
    }
    return _build(c.HoldMeeting, defaults, kw)


def plan(case_id: UUID, **kw: Any) -> c.AgreePlan:
    defaults = {
        "case_id": case_id,
        "issues": [{"area": "生活", "issue": "架空の課題"}],
        "goals": ["架空の目標"],
        "lead_agency": "kokurakita.coordinator",
        "roles": [{"agency_id": "hoboku-shakyo", "role": "伴走型支援"}],
        "period_from": "2025-05-01",
        "period_until": "2025-10-31",
        "monitoring_date": "2025-07-31",
    }
    return _build(c.AgreePlan, defaults, kw)


def visit(case_id: UUID, outcome: str = "letter_left", **kw: Any) -> c.RecordOutreachVisit:
    return _build(c.RecordOutreachVisit, {"case_id": case_id, "outcome": outcome}, kw)


def activity(case_id: UUID, **kw: Any) -> c.RecordSupportActivity:
    defaults = {"case_id": case_id, "agency_id": "hoboku-shakyo", "kind": "accompaniment"}
    return _build(c.RecordSupportActivity, defaults, kw)


def emergency(case_id: UUID, **kw: Any) -> c.DeclareEmergency:
    defaults = {
        "case_id": case_id,
        "agencies": ["kokurakita.hogo"],
        "data_categories": ["identity", "contact"],
        "reason": "安否不明",
        "expires_at": at(3),
    }
    return _build(c.DeclareEmergency, defaults, kw)


def build(model: type[c.Command], **kw: Any) -> Any:
    """Any command with a fresh id and T0 unless given."""
    return _build(model, {}, kw)
