"""利用停止 (stop using): a request on the log stops disclosure on consent from the next event;
the bases the law gives continue; the auditor's own check proves it."""

from __future__ import annotations

from uuid import uuid4

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from producers.governance import Decision, GovernanceState, decide, logged
from projections.audit.history import Entry, replay
from projections.audit.source import log_entries
from projections.audit.verify import Disclosure, check, verify
from tests import factories as f
from tests.audit_scenario import details
from tests.unit.governance_log import (
    NAME,
    Log,
    at,
    consent,
    ident,
    opened,
    referral,
    taken_up,
)
from tests.unit.governance_log import details as details_event

CASE = ident("use-stop-case")
HOUKATSU = "moji.houkatsu"
HOKEN = "moji.hoken"


def stop_requested(hours: float, label: str = "s") -> ev.UseStopRequested:
    return ev.UseStopRequested(
        occurred_at=at(hours), case_id=CASE, request_id=ident(f"{CASE}/{label}")
    )


def decisions(log: Log) -> list[Decision]:
    state = GovernanceState()
    return [decide(state, event) for event in log.events]


def name_sent(decision: Decision, agency: str) -> str | None:
    (record,) = [r for r in decision.agencies if r.agency_id == agency]
    return record.record["person"]["name"]


def test_consent_releases_nothing_from_the_event_after_the_request() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, ["ward:moji"], ["identity"]))
    before = log.add(details_event(CASE, 3))
    stop = log.add(stop_requested(4))
    after = log.add(details_event(CASE, 5))
    made = decisions(log)
    assert name_sent(made[before.position - 1], HOUKATSU) == NAME
    assert made[stop.position - 1].disclosures == ()
    assert name_sent(made[after.position - 1], HOUKATSU) is None
    assert made[after.position - 1].disclosures == ()


def test_a_connection_meeting_still_shares_after_the_request() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(consent(CASE, 1, ["ward:moji"], ["identity"]))
    log.add(taken_up(CASE, 2, [HOKEN]))
    log.add(stop_requested(3))
    after = log.add(details_event(CASE, 4))
    decision = decisions(log)[after.position - 1]
    assert name_sent(decision, HOKEN) == NAME
    assert {d["basis"] for d in decision.disclosures} == {"support_meeting"}


def test_a_consent_given_after_the_request_is_the_persons_new_decision() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, ["ward:moji"], ["identity"]))
    log.add(stop_requested(3))
    log.add(consent(CASE, 4, ["ward:moji"], ["identity"], label="again"))
    after = log.add(details_event(CASE, 5))
    decision = decisions(log)[after.position - 1]
    assert name_sent(decision, HOUKATSU) == NAME
    assert [d["basis_ref"] for d in decision.disclosures] == [str(ident(f"{CASE}/again"))]


def test_the_audit_proves_the_relays_disclosures_and_refutes_one_on_a_stopped_consent() -> None:
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.referral(case_id, "kokurakita.hoken", occurred_at=f.at(0.5)))
        consent_id = uuid4()
        app.execute(f.consent(case_id, consent_id=consent_id, occurred_at=f.at(1)))
        details(app, case_id, 1.5)
        app.execute(f.build(c.RequestUseStop, case_id=case_id, occurred_at=f.at(2)))
        details(app, case_id, 2.5)
        state = GovernanceState()
        made = [
            decide(state, logged(n.id, app.mapper.to_domain_event(n)))
            for n in app.recorder.select_notifications(start=None, limit=10_000)
        ]
        disclosures = [Disclosure.from_record(d) for m in made for d in m.disclosures]
        history = replay(log_entries(app))
        (stop,) = history.use_stops
        on_consent = [d for d in disclosures if d.basis == "consent"]
        assert on_consent and all(d.position < stop.position for d in on_consent)
        assert verify(history, disclosures).valid
        late = max(e.position for e in history.events.values() if e.case_id == str(case_id))
        forged = Disclosure.from_record(
            {
                **on_consent[0].view(),
                "position": late,
                "event_id": history.events[late].event_id,
                "occurred_at": history.events[late].occurred_at.isoformat(),
            }
        )
        assert any("利用停止" in reason for reason in check(history, forged))
    finally:
        app.close()


def test_the_requests_own_reason_goes_out_on_no_consent_only_on_a_basis_of_law() -> None:
    # The reason is a personal narrative: the request stops consent from its own position,
    # so a consent covering narratives does not release it; a connection meeting does.
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, ["ward:moji"], ["identity", "narrative"]))
    log.add(taken_up(CASE, 3, [HOKEN]))
    stop = log.add(
        ev.UseStopRequested(
            occurred_at=at(4), case_id=CASE, request_id=ident(f"{CASE}/r"), reason="試験の申出"
        )
    )
    made = decisions(log)
    decision = made[stop.position - 1]
    assert [(d["agency_id"], d["basis"], d["fields"]) for d in decision.disclosures] == [
        (HOKEN, "support_meeting", ["reason"])
    ]
    (sent,) = [r for r in decision.agencies if r.agency_id == HOUKATSU]
    assert sent.record.get("reason") is None
    history = replay(Entry(e.position, e.payload, e.event_id) for e in log.events)
    disclosures = [Disclosure.from_record(d) for m in made for d in m.disclosures]
    assert verify(history, disclosures).valid


def test_the_case_holds_no_consent_in_force_after_the_request() -> None:
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.consent(case_id, occurred_at=f.at(1)))
        assert app.get_case(case_id).consent_in_force(f.at(1.5)) is not None
        app.execute(f.build(c.RequestUseStop, case_id=case_id, occurred_at=f.at(2)))
        assert app.get_case(case_id).consent_in_force(f.at(2.5)) is None
    finally:
        app.close()


def test_replay_as_of_after_the_request_shows_no_consent_in_force() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(consent(CASE, 1, ["ward:moji"], ["identity"]))
    log.add(stop_requested(3))
    history = replay(Entry(e.position, e.payload, e.event_id) for e in log.events)
    assert [c.case_id for c in history.snapshot(at(2), case_id=str(CASE)).consents] == [str(CASE)]
    assert history.snapshot(at(4), case_id=str(CASE)).consents == ()
