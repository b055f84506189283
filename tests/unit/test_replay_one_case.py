"""`hub audit replay --as-of T --case C` replays only what C's snapshot needs: the same
answer as the whole replay, holding one case's events however long the log."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hub.application import HubApplication
from hub.fiscal import JST
from ops.bench.logs import LogSpec, generated
from projections.audit.history import replay
from projections.audit.source import log_entries, replay_log
from tests import audit_scenario as s

TICK = timedelta(microseconds=1)


def _same_snapshots(app: HubApplication, cases: list[str], instants: list[datetime]) -> None:
    whole = replay(log_entries(app))
    for case in cases:
        one = replay_log(app, case_id=case)  # decodes only the rows that may concern it
        assert one == replay(log_entries(app), case_id=case)  # as if it decoded every row
        assert one.last_position == whole.last_position
        assert {e.case_id for e in one.events.values()} <= {case, None}
        assert len(one.events) < len(whole.events)
        for at in instants:
            assert one.snapshot(at, case_id=case).view() == whole.snapshot(at, case_id=case).view()


def test_one_case_replay_answers_as_the_whole_replay_around_every_change() -> None:
    app = HubApplication(env={})
    sc = s.build(app)
    moments = [sc.given_at, sc.withdrawn_at, sc.held_at, sc.declared_at, sc.expires_at]
    instants = [m + d for m in moments for d in (-TICK, timedelta(0), TICK)]
    _same_snapshots(app, [str(sc.case_id)], instants)
    whole = replay(log_entries(app)).snapshot(sc.held_at, case_id=str(sc.case_id))
    assert (whole.meetings and whole.emergencies == ()) or whole.meetings  # the story has them


def test_one_case_replay_answers_as_the_whole_replay_for_the_demo_cases() -> None:
    app = generated(LogSpec(1, date(2025, 6, 30)))
    whole = replay(log_entries(app))
    cases = sorted({c.case_id for c in whole.consents.values()})[:12]
    cases += sorted({m.case_id for m in whole.meetings.values()})[:6]
    cases += sorted({e.case_id for e in whole.emergencies.values()})[:3]
    assert len(set(cases)) > 12
    instants = [
        datetime(2025, month, day, 12, tzinfo=JST) for month in (4, 5, 6) for day in (10, 25)
    ]
    shown = sum(
        len(whole.snapshot(at, case_id=c).view()["consents_in_force"])
        for c in cases
        for at in instants
    )
    assert shown > 0  # the comparison below compares something
    _same_snapshots(app, sorted(set(cases)), instants)
