"""``ops.disclosed_notes`` reads the narratives the relay's ledger lists for one agency from
the case's events: every one (oldest first), each with its event; nothing the rows do not
list, nothing read as erased, nothing after the person's erasure, no referral's narrative
that is another agency's (synthetic records)."""

from __future__ import annotations

from typing import Any

from hub.sealing import ERASED
from ops.disclosed import CaseEvent
from ops.disclosed_notes import released_narratives

AGENCY = "tobata.hogo"
OTHER = "tobata.houkatsu"


def row(event_id: str, *fields: str, at: str = "2026-04-01T10:00:00+09:00") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "fields": list(fields),
        "occurred_at": at,
        "basis": "consent",
        "basis_ref": "c-1",
        "position": 3,
    }


def texts(rows: list[dict[str, Any]], events: list[CaseEvent]) -> list[str]:
    return [n.text for n in released_narratives(rows, events, AGENCY)]


def test_every_narrative_listed_is_shown_oldest_first_not_the_newest_per_path() -> None:
    events = [
        CaseEvent("e1", "WatchOverArranged", {"note": "見守り一（架空）"}),
        CaseEvent("e2", "WatchOverArranged", {"note": "見守り二（架空）"}),
    ]
    rows = [row("e2", "note", at="2026-04-02T10:00:00+09:00"), row("e1", "note")]

    found = released_narratives(rows, events, AGENCY)

    assert [n.text for n in found] == ["見守り一（架空）", "見守り二（架空）"]
    assert found[0].view()["label"] == "見守りの手配の内容"
    assert found[0].view()["path"] == "watch_over.note"
    assert found[1].event_type == "WatchOverArranged"
    assert found[1].occurred_at == "2026-04-02T10:00:00+09:00"


def test_a_field_the_rows_do_not_list_is_not_shown() -> None:
    events = [CaseEvent("e1", "SupportActivityRecorded", {"note": "活動（架空）"})]
    assert texts([row("e1", "person.name")], events) == []
    assert texts([], events) == []


def test_a_plans_issues_are_said_with_their_area_and_each_listed_field_alone() -> None:
    plan = {
        "issues": [{"area": "生活", "issue": "課題（架空）"}],
        "goals": ["目標一（架空）", "目標二（架空）"],
    }
    events = [CaseEvent("e1", "PlanAgreed", plan)]
    assert texts([row("e1", "issues.issue")], events) == ["生活：課題（架空）"]
    assert texts([row("e1", "goals")], events) == ["目標一（架空）", "目標二（架空）"]


def test_a_text_read_as_erased_and_anything_before_an_erasure_is_not_shown() -> None:
    read_erased = [CaseEvent("e1", "CaseClosed", {"reason": ERASED})]
    assert texts([row("e1", "reason")], read_erased) == []
    erased = [
        CaseEvent("e1", "CaseEvaluated", {"note": "評価（架空）"}),
        CaseEvent("e2", "PersonErased", {}),
    ]
    assert texts([row("e1", "note")], erased) == []


def test_no_referrals_narrative_of_another_agency_nor_the_referrals_own_note() -> None:
    events = [
        # The 申し送り is ops.disclosed's ``note``, this agency's referral's alone.
        CaseEvent("e1", "ReferralMade", {"agency_id": AGENCY, "note": "申し送り（架空）"}),
        CaseEvent("e2", "ReferralAnswered", {"agency_id": OTHER, "reason": "他機関（架空）"}),
        CaseEvent("e3", "ReferralCancelled", {"agency_id": AGENCY, "reason": "取消（架空）"}),
    ]
    rows = [row("e1", "note"), row("e2", "reason"), row("e3", "reason")]
    assert texts(rows, events) == ["取消（架空）"]


def test_a_field_listed_twice_is_shown_once() -> None:
    events = [CaseEvent("e1", "OutreachVisitMade", {"note": "訪問（架空）"})]
    assert texts([row("e1", "note"), row("e1", "note")], events) == ["訪問（架空）"]
