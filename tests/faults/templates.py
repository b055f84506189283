"""One well-formed JSON command of every type, as a user would write it in a `hub submit` file.

The fuzz tests start from these and break them in one way at a time, so every generated line
is known to be invalid for a single, nameable reason. ``case_id`` lets a template point at a
case that exists (or not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from tests.factories import SYNTHETIC_NAME, SYNTHETIC_NOTE, T0

Template = dict[str, Any]

_T0 = T0.isoformat()


def _base(kind: str) -> Template:
    return {"type": kind, "command_id": str(uuid4()), "occurred_at": _T0}


def _person() -> dict[str, Any]:
    return {"name": SYNTHETIC_NAME, "birth_date": "1950-01-01", "phone": "093-000-0000"}


def templates(case_id: UUID | None = None, agency: str = "kokurakita.hogo") -> list[Template]:
    """Every command type once, well-formed; case-bound ones address ``case_id``."""
    case = str(case_id or uuid4())
    other = lambda: str(uuid4())  # noqa: E731 - a fresh id for things the command references
    makers: list[Callable[[], Template]] = [
        lambda: {
            **_base("ReportDiscovery"),
            "reporter_kind": "resident",
            "ward": "tobata",
            "signs": ["mailbox_full"],
            "urgency": "soon",
            "note": SYNTHETIC_NOTE,
        },
        lambda: {
            **_base("ReceiveConsultation"),
            "window_agency": "kokurakita.houkatsu",
            "needs": ["elderly"],
            "person": _person(),
        },
        lambda: {**_base("OpenCase"), "case_id": other(), "ward": "tobata"},
        lambda: {**_base("RecordPersonDetails"), "case_id": case, "person": _person()},
        lambda: {**_base("ClearPersonDetails"), "case_id": case, "fields": ["phone"]},
        lambda: {
            **_base("RecordAssessment"),
            "case_id": case,
            "needs": ["8050"],
            "complexity": "complex",
            "summary": "架空の要約",
        },
        lambda: {
            **_base("ReferCase"),
            "case_id": case,
            "agency_id": agency,
            "purpose": "consultation",
            "urgency": "soon",
        },
        lambda: {
            **_base("AnswerReferral"),
            "case_id": case,
            "referral_id": other(),
            "agency_id": agency,
            "answer": "accepted",
        },
        lambda: {
            **_base("EscalateReferral"),
            "case_id": case,
            "referral_id": other(),
            "overdue_minutes": 90,
        },
        lambda: {
            **_base("GiveConsent"),
            "case_id": case,
            "scope": ["ward_windows"],
            "purposes": ["consultation"],
            "data_categories": ["identity"],
            "valid_from": _T0,
            "valid_until": "2026-04-10T09:00:00+09:00",
        },
        lambda: {**_base("RefuseConsent"), "case_id": case, "scope": ["council"]},
        lambda: {**_base("WithdrawConsent"), "case_id": case, "consent_id": other()},
        lambda: {
            **_base("HoldMeeting"),
            "kind": "connection",
            "ward": "kokurakita",
            "members": ["kokurakita.coordinator"],
            "case_ids": [case],
        },
        lambda: {**_base("MoveToSupportMeeting"), "case_id": case},
        lambda: {
            **_base("DecideSupport"),
            "case_id": case,
            "meeting_id": other(),
            "lead_agency": "kokurakita.coordinator",
        },
        lambda: {
            **_base("AgreePlan"),
            "case_id": case,
            "plan_id": other(),
            "issues": [{"area": "生活", "issue": "架空の課題"}],
            "goals": ["架空の目標"],
            "lead_agency": "kokurakita.coordinator",
            "roles": [{"agency_id": "hoboku-shakyo", "role": "伴走型支援"}],
            "period_from": "2025-05-01",
            "period_until": "2025-10-31",
            "monitoring_date": "2025-07-31",
        },
        lambda: {**_base("EvaluateCase"), "case_id": case, "evaluation": "improved"},
        lambda: {**_base("SuspendCase"), "case_id": case, "reason": "転居"},
        lambda: {**_base("CloseCase"), "case_id": case, "reason": "支援終結"},
        lambda: {**_base("RecordOutreachVisit"), "case_id": case, "outcome": "met"},
        lambda: {
            **_base("RecordSupportActivity"),
            "case_id": case,
            "agency_id": agency,
            "kind": "phone_call",
        },
        lambda: {**_base("MatchParticipation"), "case_id": case, "place_kind": "salon"},
        lambda: {
            **_base("ArrangeWatchOver"),
            "case_id": case,
            "watchers": [agency],
            "frequency": "weekly",
        },
        lambda: {
            **_base("DeclareEmergency"),
            "case_id": case,
            "agencies": [agency],
            "data_categories": ["identity"],
            "reason": "安否不明",
            "expires_at": "2025-04-13T09:00:00+09:00",
        },
        lambda: {**_base("EndEmergency"), "case_id": case, "declaration_id": other()},
        lambda: {**_base("RegisterCooperatingBusiness"), "name": "架空商事", "kind": "小売"},
        lambda: {
            **_base("RegisterCommunityBase"),
            "name": "架空サロン",
            "kind": "salon",
            "ward": "tobata",
        },
        lambda: {**_base("HoldGathering"), "base_id": other(), "participants": 12},
    ]
    return [make() for make in makers]


COMMAND_TYPES = tuple(t["type"] for t in templates())
