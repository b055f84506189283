"""Consent history as of an instant, rebuilt by replaying the log of record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.identity import Actor, Role
from projections.audit.history import History, replay
from projections.audit.source import log_entries
from tests import audit_scenario as s
from tests import factories as f

TICK = timedelta(microseconds=1)


@pytest.fixture
def story() -> Iterator[tuple[History, s.Scenario]]:
    app = HubApplication(env={})
    scenario = s.build(app)
    yield replay(log_entries(app)), scenario
    app.close()


def consent_ids(history: History, at, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.consent_id for c in history.snapshot(at, **kw).consents]


def test_consent_is_in_force_just_before_its_withdrawal(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    assert consent_ids(history, sc.withdrawn_at - TICK) == [str(sc.consent_id)]


def test_consent_is_not_in_force_from_the_instant_of_its_withdrawal(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    assert consent_ids(history, sc.withdrawn_at) == []
    assert consent_ids(history, sc.withdrawn_at + TICK) == []


def test_consent_is_not_in_force_before_it_was_given(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    assert consent_ids(history, sc.given_at - TICK) == []
    assert consent_ids(history, sc.given_at) == [str(sc.consent_id)]


def test_an_agency_outside_the_consents_scope_sees_no_consent(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    at = sc.given_at + TICK
    assert consent_ids(history, at, agency_id="kokurakita.hogo") == [str(sc.consent_id)]
    assert consent_ids(history, at, agency_id="hoboku-shakyo") == []


def test_meeting_membership_counts_from_the_meeting_on(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    assert history.snapshot(sc.held_at - TICK).meetings == ()
    after = history.snapshot(sc.held_at, agency_id="hoboku-shakyo").meetings
    assert [(m.meeting_id, m.kind) for m in after] == [(str(sc.meeting_id), "connection")]
    assert history.snapshot(sc.held_at, agency_id="kokurakita.hoken").meetings == ()


def test_an_emergency_is_in_force_until_it_expires(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    assert history.snapshot(sc.declared_at - TICK).emergencies == ()
    assert len(history.snapshot(sc.expires_at - TICK).emergencies) == 1
    assert history.snapshot(sc.expires_at).emergencies == ()


def test_a_case_filter_keeps_other_cases_out(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    at = sc.given_at + TICK
    assert consent_ids(history, at, case_id=str(sc.case_id)) == [str(sc.consent_id)]
    assert consent_ids(history, at, case_id="00000000-0000-0000-0000-000000000000") == []


def test_the_replay_names_who_recorded_each_consent_meeting_and_emergency() -> None:
    app = HubApplication(env={})
    coordinator = Actor("coordinator-0002@city.test", Role.coordinator, ward="kokurakita")
    case_id = app.execute(f.consultation()).aggregate_ids[0]
    app.execute(f.consent(case_id, occurred_at=f.at(1)), coordinator)
    app.execute(f.meeting([case_id], occurred_at=f.at(1)), coordinator)
    app.execute(f.emergency(case_id, occurred_at=f.at(1)))
    view = replay(log_entries(app)).snapshot(f.at(2)).view()
    app.close()

    by_coordinator = "coordinator-0002@city.test (coordinator)"
    assert [c["given_by"] for c in view["consents_in_force"]] == [by_coordinator]
    assert [m["recorded_by"] for m in view["meeting_memberships"]] == [by_coordinator]
    assert [e["declared_by"] for e in view["emergencies_in_force"]] == ["operator (operator)"]


def test_a_connection_meeting_holds_the_case_no_more_once_it_moved() -> None:
    """From the move to the 重層的支援会議 consent governs (docs/AUDIT.md): the
    つながりづくり会議's members are not in force at or after the move's business time, as
    `verify` refutes a support_meeting disclosure made after it; a later take-up holds again."""
    app = HubApplication(env={})
    case_id = app.execute(f.consultation()).aggregate_ids[0]
    app.execute(f.consent(case_id, occurred_at=f.at(1)))
    meeting = f.meeting([case_id], occurred_at=f.at(2))
    app.execute(meeting)
    app.execute(f.build(c.MoveToSupportMeeting, case_id=case_id, occurred_at=f.at(4)))
    history = replay(log_entries(app))
    agency = "hoboku-shakyo"
    assert [m.meeting_id for m in history.snapshot(f.at(4) - TICK, agency_id=agency).meetings] == [
        str(meeting.meeting_id)
    ]
    assert history.snapshot(f.at(4), agency_id=agency).meetings == ()
    assert history.snapshot(f.at(9), agency_id=agency).meetings == ()
    later = f.meeting([case_id], occurred_at=f.at(6))
    app.execute(later)
    history = replay(log_entries(app))
    assert history.snapshot(f.at(5), agency_id=agency).meetings == ()
    assert [m.meeting_id for m in history.snapshot(f.at(6), agency_id=agency).meetings] == [
        str(later.meeting_id)
    ]
    app.close()
