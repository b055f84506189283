"""Property: over random histories, the auditor proves every disclosure the relay's
governance makes. Two statements of the rules, written apart: a bug in one shows here."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from producers.governance import GovernanceState, decide
from projections.audit.history import Entry, replay
from projections.audit.verify import Disclosure, verify
from tests.unit.governance_log import Log
from tests.unit.test_governance_property import histories


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_the_auditor_proves_every_disclosure_governance_makes(log: Log) -> None:
    state = GovernanceState()
    disclosures = [
        Disclosure.from_record(d) for event in log.events for d in decide(state, event).disclosures
    ]
    history = replay(Entry(e.position, e.payload, e.event_id) for e in log.events)
    verdict = verify(history, disclosures)
    assert verdict.valid, [r.line() for r in verdict.refuted]
