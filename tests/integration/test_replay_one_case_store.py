"""On SQLite and PostgreSQL the store finds one case's rows for the auditor's replay
(``ChainedRecorder.select_naming``): the same history as decoding every row, the same
position reached, on both stores."""

from __future__ import annotations

import pytest

from hub.application import HubApplication
from hub.chain import ChainedRecorder
from projections.audit.history import replay
from projections.audit.source import log_entries, replay_log
from tests import audit_scenario as s
from tests import factories as f

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_env"
    return dict(request.getfixturevalue(name))


def test_the_store_finds_the_rows_of_one_case_as_decoding_every_row_would(
    env: dict[str, str],
) -> None:
    app = HubApplication(env=env)
    assert isinstance(app.recorder, ChainedRecorder)  # the store's own search is what is tested
    first, second = s.build(app), s.build(app)
    app.execute(f.meeting([first.case_id, second.case_id], occurred_at=f.at(9)))
    app.execute(f.consultation(occurred_at=f.at(10)))  # a last row of another case
    whole = replay(log_entries(app))
    for sc in (first, second):
        case = str(sc.case_id)
        one = replay_log(app, case_id=case)
        assert one == replay(log_entries(app), case_id=case)
        assert one.last_position == whole.last_position
        assert 0 < len(one.events) < len(whole.events)
        for at in (sc.given_at, sc.held_at, sc.declared_at, sc.withdrawn_at, f.at(9)):
            assert one.snapshot(at, case_id=case).view() == whole.snapshot(at, case_id=case).view()
    upto = whole.last_position // 2
    case = str(first.case_id)
    cut = replay_log(app, upto=upto, case_id=case)
    assert cut == replay(log_entries(app, upto=upto), case_id=case)
    assert cut.last_position == upto
    app.close()


def test_states_the_store_cannot_search_are_all_decoded(env: dict[str, str]) -> None:
    """A state not in the hub's plain JSON (compressed here) shows no case id to the
    store's search: it is decoded, so such a log replays one case slower, never wrong."""
    app = HubApplication(env={**env, "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"})
    sc = s.build(app)
    s.build(app)
    case = str(sc.case_id)
    one = replay_log(app, case_id=case)
    assert one == replay(log_entries(app), case_id=case)
    assert one.consents and one.meetings
    app.close()
