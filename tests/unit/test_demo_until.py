"""`hub demo --until`: a day the demo's year (R7, from 1 April 2025) has not begun by plays
nothing, so it is refused before anything starts (no broker, store or topic is touched);
a day before 明治 had no 和暦 for the title, and failed only after the run."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from ops.cli.main import app as cli


@pytest.mark.parametrize("until", ["2025-03-31", "2024-12-31", "1800-01-01", "0001-01-01"])
def test_a_cut_before_the_demo_year_begins_is_refused_before_anything_runs(
    until: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: Any, **__: Any) -> None:
        raise AssertionError("the demo ran")

    monkeypatch.setattr("ops.demo.pipeline.run_demo", never)
    result = CliRunner().invoke(cli, ["demo", "--until", until, "--no-services"])
    assert result.exit_code == 2, result.output
    assert "--until" in result.stderr and "2025-04-01" in result.stderr


@pytest.mark.parametrize("home", ["var", "", "store-folder"])
def test_a_home_that_holds_the_hubs_own_store_is_refused_before_anything_runs(
    home: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo deletes hub*.sqlite* and agency/ in its home: `--home var` (a slip for
    var/demo) or `--home ""` (the current folder) deleted the log of record."""
    from hub.settings import get_settings

    def never(*_: Any, **__: Any) -> None:
        raise AssertionError("the demo ran")

    monkeypatch.setattr("ops.demo.pipeline.run_demo", never)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUB_VAR_DIR", "var")
    if home == "store-folder":
        monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "store-folder" / "hub.sqlite"))
    else:
        monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["demo", "--home", home, "--no-services"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    if not home:  # refused as a path before it is taken for the current folder
        assert line == "Error: Invalid value for '--home': an empty path names no file or folder"
    else:
        assert line.startswith(f"Error: --home {home!r} holds the hub's own store"), line
