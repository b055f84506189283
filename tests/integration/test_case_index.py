"""The case index (``hub.caseindex``) on SQLite and PostgreSQL: written in the events'
transaction, whole up to its head, the rows one case's replay needs; a log stored
before it existed replays by scanning, and ``index_references`` fills it in."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from hub import caseindex
from hub.application import HubApplication
from hub.chain import ChainedRecorder
from projections.audit.history import concerns, replay
from projections.audit.source import log_entries, replay_log
from tests import audit_scenario as s
from tests import factories as f

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_env"
    return dict(request.getfixturevalue(name))


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[HubApplication]:
    application = HubApplication(env=env)
    yield application
    application.close()


def _recorder(app: HubApplication) -> ChainedRecorder:
    assert isinstance(app.recorder, ChainedRecorder)
    return app.recorder


def _refs(recorder: ChainedRecorder) -> set[tuple[str, int]]:
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(recorder.refs_sql.sql("SELECT case_id, notification_id FROM {refs}"))
        return {(str(row["case_id"]), int(row["notification_id"])) for row in curs.fetchall()}


def _forget_the_index(recorder: ChainedRecorder) -> None:
    """The store as a log written before the index existed: no rows, head at zero."""
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute(recorder.refs_sql.sql("DELETE FROM {refs}"))
        curs.execute(recorder.refs_sql.move_head, (0,))


def _cases(app: HubApplication) -> tuple[s.Scenario, s.Scenario, UUID]:
    first, second = s.build(app), s.build(app)
    app.execute(f.meeting([first.case_id, second.case_id], occurred_at=f.at(9)))
    discovery = app.execute(f.discovery(occurred_at=f.at(9.5))).aggregate_ids[0]
    linked = app.execute(f.open_case(discovery_id=discovery, occurred_at=f.at(9.6)))
    app.execute(f.consultation(occurred_at=f.at(10)))  # a last row of another case
    return first, second, linked.aggregate_ids[0]


def test_the_index_holds_what_one_cases_replay_needs_and_is_whole_to_the_last_event(
    app: HubApplication,
) -> None:
    recorder = _recorder(app)
    first, second, linked = _cases(app)
    last = recorder.last_notification_id(None)
    assert recorder.indexed_upto() == last  # every insert moved the head on
    entries = list(log_entries(app))
    for case in (str(first.case_id), str(second.case_id), str(linked)):
        read = recorder.select_case(case, 0, last, 10_000)
        positions = [n.id for n in read]
        assert positions == sorted(set(positions))  # oldest first, each once
        needed = [e.position for e in entries if concerns(e.payload, case)]
        assert set(needed) <= set(positions)
        # and nothing else than the case's stream, rows naming it, the network's rows
        for notification in read:
            state = bytes(notification.state)
            assert (
                str(UUID(str(notification.originator_id))) == case
                or case.encode() in state
                or caseindex.references(notification.originator_id, state) == {caseindex.EVERY_CASE}
            )
        one = replay_log(app, case_id=case)
        assert one == replay(iter(entries), case_id=case)
    # rows of other aggregates naming a case: the meeting (two cases), the discovery
    refs = _refs(recorder)
    assert {case for case, _ in refs} >= {str(first.case_id), str(second.case_id), str(linked)}


def test_a_log_stored_before_the_index_replays_the_same_and_is_filled_in(
    app: HubApplication,
) -> None:
    recorder = _recorder(app)
    first, _, linked = _cases(app)
    written = _refs(recorder)
    _forget_the_index(recorder)
    app.execute(f.visit(first.case_id, occurred_at=f.at(11)))  # stored while it lags
    assert recorder.indexed_upto() == 0  # an insert does not pass over what was never indexed
    whole = replay(log_entries(app))
    for case in (str(first.case_id), str(linked)):
        assert replay_log(app, case_id=case) == replay(log_entries(app), case_id=case)
    last = recorder.last_notification_id(None)
    assert recorder.index_references(page=7) == last
    assert recorder.indexed_upto() == last
    assert _refs(recorder) >= written  # what the inserts wrote, rebuilt from the rows
    assert recorder.index_references() == 0  # nothing left
    for case in (str(first.case_id), str(linked)):
        one = replay_log(app, case_id=case)
        assert one == replay(log_entries(app), case_id=case)
        assert one.last_position == whole.last_position
    app.execute(f.visit(first.case_id, occurred_at=f.at(12)))
    assert recorder.indexed_upto() == recorder.last_notification_id(None)


def test_a_replay_up_to_a_position_inside_the_index_stops_there(app: HubApplication) -> None:
    first, _, _ = _cases(app)
    case = str(first.case_id)
    last = _recorder(app).last_notification_id(None)
    for upto in (1, last // 3, last // 2, last - 1):
        cut = replay_log(app, upto=upto, case_id=case)
        assert cut == replay(log_entries(app, upto=upto), case_id=case)
        assert cut.last_position == upto


def test_the_head_is_one_row_however_often_the_store_is_opened(env: dict[str, str]) -> None:
    apps = [HubApplication(env=env) for _ in range(3)]  # each creates the tables if missing
    recorder = _recorder(apps[0])
    try:
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(recorder.refs_sql.sql("SELECT count(*) AS n FROM {head}"))
            assert curs.fetchone()["n"] == 1
        second = recorder.refs_sql.sql("INSERT INTO {head} (id, upto) VALUES (2, 0)")
        with pytest.raises(IntegrityError), recorder.datastore.transaction(commit=True) as curs:
            curs.execute(second)
    finally:
        for app in apps:
            app.close()
