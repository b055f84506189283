"""A view knows the version of the rules its rows were written by: one written by another
release's rules is refused with the command that rebuilds it, never read as if current
(README, "Upgrading the hub"). Both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.errors import OutdatedViewError
from ops.cli.main import app as cli
from projections.runner import (
    PROJECTIONS,
    catch_up_all,
    open_projection,
    rebuild_all,
    start_runner,
)
from projections.sqlview import RULES, SQLiteView, SqlView
from tests import factories as f


@pytest.fixture(params=["sqlite_env", "pg_env"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def _caught_up(env: dict[str, str]) -> HubApplication:
    app = HubApplication(env=env)
    app.execute(f.consultation())
    catch_up_all([open_projection(name, env) for name in PROJECTIONS], app)
    return app


def _forget_version(view: SqlView) -> None:
    """As a view written before views had a version: its rows, its position, no version."""
    with view._cursor(commit=True) as cursor:
        if isinstance(view, SQLiteView):
            cursor.execute("DELETE FROM tracking WHERE application_name = ?", (RULES,))
        else:
            table = view._tracking_table()  # type: ignore[attr-defined]
            cursor.execute(f"DELETE FROM {table} WHERE application_name = %s", (RULES,))


def _written_by_version(view: SqlView, version: int) -> None:
    """As a view an earlier release wrote, by the rules of ``version``."""
    _forget_version(view)
    with view._cursor(commit=True) as cursor:
        if isinstance(view, SQLiteView):
            cursor.execute("INSERT INTO tracking VALUES (?, ?)", (RULES, version))
        else:
            table = view._tracking_table()  # type: ignore[attr-defined]
            cursor.execute(f"INSERT INTO {table} VALUES (%s, %s)", (RULES, version))


def test_a_case_state_view_from_before_the_referrals_end_reasons_is_refused(
    env: dict[str, str],
) -> None:
    """Its referrals table lacks the columns an answer now writes: caught up as it was, the
    first decline would have failed on them (a review's find)."""
    app = _caught_up(env)
    _written_by_version(open_projection("case_state", env).view, 1)
    with pytest.raises(OutdatedViewError, match="version 1; this release writes version 3"):
        open_projection("case_state", env)
    app.close()


def test_an_indicators_view_from_before_partners_could_end_is_refused(
    env: dict[str, str],
) -> None:
    """Version 2 knew no business leaving nor base closing: on a log that records one, it
    would count it still (or have quarantined the end), so it is rebuilt first."""
    app = _caught_up(env)
    _written_by_version(open_projection("indicators", env).view, 2)
    with pytest.raises(OutdatedViewError, match="version 2; this release writes version 3"):
        open_projection("indicators", env)
    app.close()


def test_a_new_view_is_written_by_this_releases_rules_and_opens_again(env: dict[str, str]) -> None:
    app = _caught_up(env)
    for name in PROJECTIONS:
        view = open_projection(name, env).view
        assert view.max_tracking_id(RULES) == view.RULES_VERSION
        assert (view.max_tracking_id(view.APPLICATION) or 0) > 0
    app.close()


def test_a_view_without_a_version_is_refused_until_it_is_rebuilt(env: dict[str, str]) -> None:
    app = _caught_up(env)
    before = open_projection("case_state", env).view.dump()
    _forget_version(open_projection("case_state", env).view)

    with pytest.raises(OutdatedViewError) as refused:
        open_projection("case_state", env)
    assert "an older release's rules (version 0" in str(refused.value)
    assert "run `hub rebuild --projection case_state`" in str(refused.value)
    open_projection("inbox", env)  # the other views stand
    with pytest.raises(OutdatedViewError):  # nor does a live runner catch it up
        start_runner(HubApplication, PROJECTIONS["case_state"], env)

    rebuild_all([open_projection("case_state", env, rebuilding=True)], app)
    view = open_projection("case_state", env).view
    assert view.max_tracking_id(RULES) == view.RULES_VERSION
    assert view.dump() == before
    app.close()


def test_rules_of_another_version_are_refused_either_way(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _caught_up(env)
    view_class: Any = type(open_projection("indicators", env).view)
    monkeypatch.setattr(view_class, "RULES_VERSION", view_class.RULES_VERSION + 1)
    with pytest.raises(OutdatedViewError, match="an older release's rules"):
        open_projection("indicators", env)
    monkeypatch.setattr(view_class, "RULES_VERSION", view_class.RULES_VERSION - 2)
    with pytest.raises(OutdatedViewError, match="a newer release's rules"):
        open_projection("indicators", env)
    app.close()


def test_the_cli_says_which_view_to_rebuild_in_one_line_and_rebuild_mends_it(
    cli_store: Path,
) -> None:
    runner = CliRunner()
    app = HubApplication(env=_env())
    app.execute(f.consultation())
    app.close()
    assert runner.invoke(cli, ["follow", "--once"]).exit_code == 0
    _forget_version(open_projection("case_state", _env()).view)

    refused = runner.invoke(cli, ["case", "list"])
    assert refused.exit_code == 1
    lines = refused.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert "hub rebuild --projection case_state" in lines[0]

    assert runner.invoke(cli, ["rebuild", "--projection", "case_state"]).exit_code == 0
    listed = runner.invoke(cli, ["case", "list"])
    assert listed.exit_code == 0, listed.output


def _env() -> dict[str, str]:
    from hub.settings import get_settings

    return get_settings().eventsourcing_env()


def test_follow_refused_for_one_view_leaves_no_runner_of_another_running(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub follow` of every view, one of them outdated: refused in one line, and the runner
    started for a view before it is stopped, not left following the log (on PostgreSQL the
    library's runner threads would keep the refused process from exiting)."""
    import threading

    runner = CliRunner()
    app = HubApplication(env=_env())
    app.execute(f.consultation())
    app.close()
    assert runner.invoke(cli, ["follow", "--once"]).exit_code == 0
    _forget_version(open_projection("indicators", _env()).view)  # the last one started

    # `hub follow` freezes its heap out of the collections for good (ops.heap), as a
    # process that follows until stopped may; in this test process that would outlive it.
    monkeypatch.setattr("ops.heap.settle", lambda: None)
    before = set(threading.enumerate())
    refused = runner.invoke(cli, ["follow"])
    assert refused.exit_code == 1, refused.output
    assert "hub rebuild --projection indicators" in refused.output
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not left, left
