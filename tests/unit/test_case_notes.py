"""Every free-text narrative a case's events hold is listed once (ops/case_notes.py), with
the path the access log names it by and a Japanese label: a field marked personal
``narrative`` and missing there would be held, sealed, and shown to no one. A coded reason
beside a narrative is said by its label and is no narrative path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from hub import events as ev
from hub.labels import VOCABULARY
from ops.case_notes import NOTE_FIELDS, case_notes

AT = datetime(2025, 4, 10, tzinfo=UTC)


def narrative_fields(record: type[ev.Record]) -> set[str]:
    """The top-level fields of ``record`` that hold a narrative, nested ones by their top."""
    found = set()
    for name, field in record.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("personal") == "narrative":
            found.add(name)
        inner = getattr(field.annotation, "__args__", ())
        if any(isinstance(t, type) and issubclass(t, ev.Record) for t in inner):
            nested = [t for t in inner if isinstance(t, type) and issubclass(t, ev.Record)]
            if any(narrative_fields(t) for t in nested):
                found.add(name)
    return found


def case_events() -> list[type[ev.Event]]:
    events = [
        getattr(ev, name)
        for name in dir(ev)
        if isinstance(getattr(ev, name), type) and issubclass(getattr(ev, name), ev.CaseEvent)
    ]
    return [*events, ev.DiscoveryReported]


def test_every_narrative_field_of_a_case_event_is_listed_with_a_japanese_label() -> None:
    for event in case_events():
        held = narrative_fields(event)
        listed = {field for field, _ in NOTE_FIELDS.get(event, ())}
        assert held == listed, event.__name__
    paths = [path for fields in NOTE_FIELDS.values() for _, path in fields]
    assert len(paths) == len(set(paths))
    named = VOCABULARY["person_field"]
    assert all(path in named and named[path] != path for path in paths)


# Each narrative event with a text in its field, the path it is shown by, and the coded value
# said beside it.
CASES: list[tuple[type[ev.Event], dict[str, Any], str, str, str | None]] = [
    (ev.ConsultationReceived, {"note": "架空の相談"}, "consultation.note", "架空の相談", None),
    (ev.ReferralMade, {"note": "架空の申し送り"}, "referral.note", "架空の申し送り", None),
    (
        ev.ReferralAnswered,
        {"answer": "declined", "reason_code": "capacity", "outcome": None, "reason": "架空"},
        "referral_answer.reason",
        "架空",
        "辞退（定員超過・対応困難）",
    ),
    (
        ev.ReferralCancelled,
        {"reason_code": "referred_elsewhere", "reason": "架空の取り消し"},
        "referral_cancellation.reason",
        "架空の取り消し",
        "他機関へつないだ",
    ),
    (ev.CaseSuspended, {"reason": "架空の中断"}, "suspension.reason", "架空の中断", None),
    (ev.CaseClosed, {"reason": "架空の終結"}, "closure.reason", "架空の終結", None),
    (
        ev.OutreachVisitMade,
        {"outcome": "no_answer", "note": "架空の訪問"},
        "outreach_visit.note",
        "架空の訪問",
        "不在",
    ),
    (ev.ConsentRefused, {"reason": "架空の拒否"}, "consent_refusal.reason", "架空の拒否", None),
    (ev.UseStopRequested, {"reason": "架空の請求"}, "use_stop.reason", "架空の請求", None),
    (
        ev.ConsentGiven,
        {"proxy_relationship": "架空の長女"},
        "consent.proxy_relationship",
        "架空の長女",
        None,
    ),
    (
        ev.BreakGlassReviewed,
        {"verdict": "justified", "note": "架空の所見"},
        "break_glass_review.note",
        "架空の所見",
        "正当（必要な提供だった）",
    ),
]


@pytest.mark.parametrize(("event", "fields", "path", "text", "coded"), CASES)
def test_each_narrative_event_is_shown_by_its_path(
    event: type[ev.Event], fields: dict[str, Any], path: str, text: str, coded: str | None
) -> None:
    payload = event.model_construct(occurred_at=AT, case_id=uuid4(), agency_id=None, **fields)
    (note,) = case_notes([payload])
    assert (note["path"], note["text"], note["label"]) == (
        path,
        text,
        VOCABULARY["person_field"][path],
    )
    assert note["coded"] == coded


def test_an_emergency_gives_its_reason_and_why_sensitive_data_is_needed() -> None:
    declared = ev.EmergencyDeclared.model_construct(
        occurred_at=AT, case_id=uuid4(), reason="架空の緊急", sensitive_reason="架空の理由"
    )
    shown = [(n["path"], n["text"]) for n in case_notes([declared])]
    assert shown == [
        ("emergency.reason", "架空の緊急"),
        ("emergency.sensitive_reason", "架空の理由"),
    ]


def test_a_plans_issues_and_goals_are_each_shown() -> None:
    plan = ev.PlanAgreed.model_construct(
        occurred_at=AT,
        case_id=uuid4(),
        issues=[ev.IssueByArea(area="生活", issue="架空の課題"), ev.IssueByArea(area="就労")],
        goals=["架空の目標1", "架空の目標2"],
    )
    shown = [(n["path"], n["text"]) for n in case_notes([plan])]
    assert shown == [
        ("plan.issue", "生活：架空の課題"),
        ("plan.goal", "架空の目標1"),
        ("plan.goal", "架空の目標2"),
    ]


def test_a_coded_reason_without_free_text_is_no_narrative() -> None:
    answered = ev.ReferralAnswered.model_construct(
        occurred_at=AT, case_id=uuid4(), answer="declined", reason_code="capacity", reason=None
    )
    cancelled = ev.ReferralCancelled.model_construct(
        occurred_at=AT, case_id=uuid4(), reason_code="other", reason=""
    )
    assert case_notes([answered, cancelled]) == []
