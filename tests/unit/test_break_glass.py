"""Break-glass (DOMAIN.md rule 6): an emergency declaration naming sensitive categories and why
releases them to its agencies while in force; each such disclosure goes on a review list the
coordinator and the auditor close."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import IllegalTransitionError, PermissionDeniedError
from hub.identity import Actor, Role
from hub.policy import authorize_command
from producers.governance import Decision, GovernanceState, decide
from projections.audit.breakglass import review_list
from projections.audit.history import Entry, History, replay
from projections.audit.report import Period, render_report
from projections.audit.source import log_entries
from projections.audit.tamper import LogVerdict
from projections.audit.verify import Disclosure, check, verify
from tests import factories as f
from tests.unit.governance_log import (
    HEALTH,
    NAME,
    Log,
    at,
    details,
    emergency,
    ended,
    ident,
    opened,
    referral,
)

CASE = ident("break-glass-case")
NAMED = "moji.hoiku"
OTHER = "moji.inochinet"


def run(log: Log) -> list[Decision]:
    state = GovernanceState()
    return [decide(state, event) for event in log.events]


def person_for(decision: Decision, agency: str) -> dict:
    (record,) = [r for r in decision.agencies if r.agency_id == agency]
    return record.record["person"]


def glass_log() -> tuple[Log, list[int]]:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, OTHER, 1))
    declared = log.add(emergency(CASE, 2, [NAMED], ["identity"], until=50, sensitive=["health"]))
    during = log.add(details(CASE, 3))
    log.add(ended(CASE, 4))
    after = log.add(details(CASE, 5))
    return log, [declared.position, during.position, after.position]


def test_a_declaration_naming_health_releases_it_to_its_agencies_while_in_force() -> None:
    log, (declared, during, after) = glass_log()
    made = run(log)
    delivery = [r for r in made[declared - 1].agencies if r.agency_id == NAMED and r.own_event]
    assert delivery and delivery[0].record["person"]["health"] == HEALTH
    assert person_for(made[during - 1], NAMED)["health"] == HEALTH
    assert person_for(made[during - 1], NAMED)["name"] == NAME
    assert person_for(made[during - 1], OTHER)["health"] is None  # not named: a notice
    assert person_for(made[after - 1], NAMED)["health"] is None  # ended
    sensitive = [d for m in made for d in m.disclosures if "health" in d["categories"]]
    assert {(d["agency_id"], d["basis"]) for d in sensitive} == {(NAMED, "vital_interest")}


def test_a_sensitive_category_named_only_as_data_releases_nothing_sensitive() -> None:
    # Declarations before break-glass could name health among data_categories: it never
    # released health, and a replay of such a log must not start to.
    log = Log()
    log.add(opened(CASE))
    log.add(emergency(CASE, 1, [NAMED], ["identity", "health"], until=50))
    during = log.add(details(CASE, 2))
    sent = person_for(run(log)[during.position - 1], NAMED)
    assert sent["name"] == NAME
    assert sent["health"] is None


def test_an_expired_declaration_releases_no_sensitive_data() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(emergency(CASE, 1, [NAMED], ["identity"], until=2, sensitive=["health"]))
    late = log.add(details(CASE, 3))
    assert person_for(run(log)[late.position - 1], NAMED)["health"] is None


def _history_and_disclosures(log: Log) -> tuple[History, list[Disclosure]]:
    disclosures = [Disclosure.from_record(d) for m in run(log) for d in m.disclosures]
    history = replay(Entry(e.position, e.payload, e.event_id) for e in log.events)
    return history, disclosures


def test_the_audit_proves_break_glass_disclosures_and_refutes_them_without_it() -> None:
    log, _ = glass_log()
    history, disclosures = _history_and_disclosures(log)
    assert verify(history, disclosures).valid
    plain = Log()
    plain.add(opened(CASE))
    plain.add(emergency(CASE, 1, [NAMED], ["identity", "health"], until=50))
    event = plain.add(details(CASE, 2))
    forged = Disclosure.from_record(
        {
            "disclosure_id": str(uuid4()),
            "event_id": event.event_id,
            "position": event.position,
            "case_id": str(CASE),
            "agency_id": NAMED,
            "fields": ["person.health"],
            "categories": ["health"],
            "basis": "vital_interest",
            "basis_ref": str(ident(f"{CASE}/e")),
            "confidentiality_duty": False,
            "occurred_at": event.payload.occurred_at.isoformat(),
        }
    )
    found = check(replay(Entry(e.position, e.payload, e.event_id) for e in plain.events), forged)
    assert any("break-glass" in reason for reason in found)


def review(declaration: UUID, reviewer: str, hours: float) -> ev.BreakGlassReviewed:
    return ev.BreakGlassReviewed(
        occurred_at=at(hours),
        case_id=CASE,
        declaration_id=declaration,
        reviewer=reviewer,  # type: ignore[arg-type]
        verdict="justified",
    )


def test_the_review_stays_open_until_both_reviewers_judged_every_disclosure() -> None:
    log, _ = glass_log()
    declaration = ident(f"{CASE}/e")
    history, disclosures = _history_and_disclosures(log)
    (item,) = review_list(history, disclosures)
    assert len(item.disclosures) == 2  # the delivery on the declaration, and the details
    assert not item.closed and item.missing == ("coordinator", "auditor")
    log.add(review(declaration, "coordinator", 6))
    (item,) = review_list(*_history_and_disclosures(log))
    assert not item.closed and item.missing == ("auditor",)
    log.add(review(declaration, "auditor", 7))
    history, disclosures = _history_and_disclosures(log)
    (item,) = review_list(history, disclosures)
    assert item.closed
    report = "\n".join(
        render_report(
            history,
            disclosures,
            verify(history, disclosures),
            LogVerdict(),
            Period(None, None),
            datetime(2026, 6, 1, tzinfo=UTC),
        )
    )
    assert "break-glass review:\n  1 declaration(s), 2 disclosure(s), 0 open" in report
    items = [line for line in report.splitlines() if line.startswith(("  declaration", "      "))]
    assert "coordinator: justified, auditor: justified; closed" in " ".join(" ".join(items).split())
    assert all(len(line) <= 80 for line in items), items


def _break_glass_lines(log: Log, period: Period) -> str:
    history, disclosures = _history_and_disclosures(log)
    report = render_report(
        history,
        disclosures,
        verify(history, disclosures),
        LogVerdict(),
        period,
        datetime(2026, 6, 1, tzinfo=UTC),
    )
    start = report.index("緊急時の要配慮個人情報の提供 break-glass review:")
    lines = report[start : start + 8]
    assert all(len(line) <= 80 for line in lines), lines
    return " ".join(" ".join(lines).split())


def test_a_review_left_open_is_carried_into_the_next_periods_report() -> None:
    """`hub audit report --from/--to` listed only declarations of the period: one still
    awaiting a verdict dropped off every later period's page."""
    log, _ = glass_log()
    declaration = ident(f"{CASE}/e")
    later = Period(at(100), at(200))
    shown = _break_glass_lines(log, later)
    assert "1 declaration(s), 2 disclosure(s), 1 open" in shown
    assert "うち前期からの繰越 carried over from before the period: 1" in shown
    assert f"declaration {declaration}" in shown and "OPEN" in shown
    log.add(review(declaration, "coordinator", 6))
    log.add(review(declaration, "auditor", 7))
    assert "0 declaration(s), 0 disclosure(s), 0 open" in _break_glass_lines(log, later)
    assert "0 declaration(s)" in _break_glass_lines(log, Period(at(300), None))


def test_a_closed_review_is_carried_into_a_period_it_disclosed_in() -> None:
    log = Log()
    log.add(opened(CASE))
    declaration = ident(f"{CASE}/e")
    log.add(emergency(CASE, 1, [NAMED], ["identity"], until=50, sensitive=["health"]))
    log.add(details(CASE, 2))
    log.add(details(CASE, 10))
    log.add(review(declaration, "coordinator", 11))
    log.add(review(declaration, "auditor", 12))
    shown = _break_glass_lines(log, Period(at(5), None))
    assert "1 declaration(s), 3 disclosure(s), 0 open" in shown, shown
    assert "carried over from before the period: 1" in shown
    assert "0 declaration(s)" in _break_glass_lines(log, Period(at(20), None))


def test_a_disclosure_after_the_verdicts_reopens_the_review() -> None:
    log = Log()
    log.add(opened(CASE))
    declaration = ident(f"{CASE}/e")
    log.add(emergency(CASE, 1, [NAMED], ["identity"], until=50, sensitive=["health"]))
    log.add(details(CASE, 2))
    log.add(review(declaration, "coordinator", 3))
    log.add(review(declaration, "auditor", 4))
    assert review_list(*_history_and_disclosures(log))[0].closed
    log.add(details(CASE, 5))
    (item,) = review_list(*_history_and_disclosures(log))
    assert not item.closed and item.missing == ("coordinator", "auditor")


def test_a_reason_is_required_with_sensitive_categories() -> None:
    with pytest.raises(ValidationError, match="sensitive_reason"):
        f.emergency(uuid4(), sensitive_categories=["health"])
    with pytest.raises(ValidationError):
        f.emergency(uuid4(), sensitive_categories=["identity"], sensitive_reason="x")


def test_each_reviewer_gives_only_their_own_verdict() -> None:
    case_id, declaration = uuid4(), uuid4()

    class Lookup:
        def ward_of_case(self, case: UUID) -> str | None:
            return "moji"

        def ward_of_agency(self, agency_id: str) -> str | None:
            return None

        def ward_of_discovery(self, discovery_id: UUID) -> str | None:
            return None

        def outreach_agency(self) -> str | None:
            return None

    def verdict(reviewer: str) -> c.ReviewBreakGlass:
        return f.build(
            c.ReviewBreakGlass,
            case_id=case_id,
            declaration_id=declaration,
            reviewer=reviewer,
            verdict="not_justified",
        )

    auditor = Actor("kansa-試験", Role.auditor)
    coordinator = Actor("kakaricho-試験", Role.coordinator, ward="moji")
    authorize_command(auditor, verdict("auditor"), Lookup())
    authorize_command(coordinator, verdict("coordinator"), Lookup())
    with pytest.raises(PermissionDeniedError):
        authorize_command(coordinator, verdict("auditor"), Lookup())
    with pytest.raises(PermissionDeniedError):
        authorize_command(auditor, verdict("coordinator"), Lookup())
    with pytest.raises(PermissionDeniedError):
        authorize_command(Actor("officer-試験", Role.ward_officer), verdict("auditor"), Lookup())


def test_the_application_records_verdicts_only_on_a_break_glass_declaration() -> None:
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        plain, glass = uuid4(), uuid4()
        app.execute(f.emergency(case_id, declaration_id=plain, occurred_at=f.at(1)))
        app.execute(
            f.emergency(
                case_id,
                declaration_id=glass,
                sensitive_categories=["health"],
                sensitive_reason="意識不明、持病の確認が必要",
                occurred_at=f.at(1),
            )
        )
        with pytest.raises(IllegalTransitionError):
            app.execute(
                f.build(
                    c.ReviewBreakGlass,
                    case_id=case_id,
                    declaration_id=plain,
                    reviewer="auditor",
                    verdict="justified",
                )
            )
        app.execute(
            f.build(
                c.ReviewBreakGlass,
                case_id=case_id,
                declaration_id=glass,
                reviewer="auditor",
                verdict="justified",
                occurred_at=f.at(2),
            )
        )
        history = replay(log_entries(app))
        (reviewed,) = history.emergencies[str(glass)].reviews
        assert (reviewed.reviewer, reviewed.verdict) == ("auditor", "justified")
        assert history.emergencies[str(glass)].sensitive_categories == ("health",)
    finally:
        app.close()
