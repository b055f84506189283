"""Targets of table ④ (R8目標): an event with who set it, and progress in every report."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.settings import get_settings
from ops.cli.main import app as cli
from projections.indicators import Cut, ReportRow, with_targets

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "hub.sqlite"
    monkeypatch.setenv("HUB_SQLITE_PATH", str(path))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_OPERATOR", "shiken.taro@city.example")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def hub(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def row(value: int, code: str = "outreach_visits") -> ReportRow:
    return ReportRow("f", "l", value, code=code, unit="回")


def test_progress_is_the_rate_reached_and_the_monthly_pace_for_the_rest_of_the_year() -> None:
    targets = {"outreach_visits": 600.0}
    (half,) = with_targets([row(300)], targets, Cut.of(2026, date(2026, 9, 30)))
    assert (half.target, half.progress_rate) == (600.0, 50.0)
    assert half.pace_needed == round(300 / (182 / (365.25 / 12)), 1)
    (done,) = with_targets([row(650)], targets, Cut.of(2026, date(2026, 9, 30)))
    assert (done.progress_rate, done.pace_needed) == (108.3, 0.0)
    (end,) = with_targets([row(500)], targets, Cut.of(2026))
    assert end.pace_needed is None  # nothing of the year is left
    (other,) = with_targets([row(5, "plans_made")], targets, Cut.of(2026))
    assert other.target is None


def test_a_target_is_an_event_naming_who_set_it_and_a_revision_replaces_it(store: Path) -> None:
    said = hub("target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "600",
               "--at", "2026-04-01T09:00:00+09:00", "--note", "R7の実績を踏まえ")  # fmt: skip
    assert said.rstrip().endswith("(記録しました / recorded)"), said  # Japanese first
    hub("target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "640",
        "--at", "2026-05-01T09:00:00+09:00")  # fmt: skip
    listed = json.loads(hub("target", "list", "--fy", "R8", "--format", "json"))
    assert {r["code"]: r["target"] for r in listed}["outreach_visits"] == 640.0

    from hub.application import HubApplication
    from hub.domain.others import Target

    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        events = list(app.events.get(Target.id_for(2026, "outreach_visits")))
    finally:
        app.close()
    assert [type(e.payload).__name__ for e in events] == ["TargetSet", "TargetSet"]  # type: ignore[attr-defined]
    actor = events[0].payload.actor  # type: ignore[attr-defined]
    assert (actor.subject, actor.role) == ("shiken.taro@city.example", "operator")

    rows = json.loads(hub("report", "indicators", "--fy", "R8", "--until", "2026-09-30",
                          "--format", "json"))  # fmt: skip
    visits = next(r for r in rows if r["code"] == "outreach_visits")
    assert (visits["target"], visits["progress_rate"]) == (640.0, 0.0)
    assert visits["pace_needed_per_month"] == round(640 / (182 / (365.25 / 12)), 1)
    wide = hub("report", "indicators", "--fy", "R8", "--until", "2026-09-30",
               "--format", "wide-csv")  # fmt: skip
    header, *lines = list(csv.reader(io.StringIO(wide.lstrip("\ufeff"))))[1:]
    assert header[-3:] == ["目標", "達成率（%）", "必要ペース（月あたり）"]
    # A whole target reads as people write it (640, not 640.0), as `hub target list` gives it.
    assert next(line for line in lines if line[1] == "伴走型支援の訪問件数")[-3] == "640"
    long = hub("report", "indicators", "--fy", "R8", "--until", "2026-09-30", "--format", "csv")
    visits_csv = next(r for r in csv.DictReader(io.StringIO(long.lstrip("\ufeff")))
                      if r["code"] == "outreach_visits")  # fmt: skip
    assert visits_csv["target"] == "640"
    table = hub("report", "indicators", "--fy", "R8", "--until", "2026-09-30")
    assert "640回" in table and "達成率" in table


def test_a_target_for_an_indicator_that_is_not_in_table_4_is_refused(store: Path) -> None:
    result = runner.invoke(
        cli, ["target", "set", "--fy", "R8", "--indicator", "visits", "--value", "3"]
    )
    assert result.exit_code == 2 and "did you mean outreach_visits" in result.stderr
    line = json.dumps(
        {
            "type": "SetTarget",
            "command_id": "0b0e8a8e-1c1d-4d57-9a39-1f6e1c1d00ff",
            "occurred_at": "2026-04-01T09:00:00+09:00",
            "fiscal_year": 2026,
            "indicator": "visits",
            "value": 3,
        }
    )
    refused = runner.invoke(cli, ["command", line])
    assert refused.exit_code == 2 and "not a code of table ④" in refused.stderr


def test_target_list_shows_when_by_whom_and_why_the_target_in_force_was_set(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = "R7の実績を踏まえ、訪問体制の拡充を見込んで設定（試験用の架空の備考）"
    hub("target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "600",
        "--at", "2026-04-01T09:00:00+09:00", "--note", "初回（試験）")  # fmt: skip
    hub("target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "640",
        "--at", "2026-05-01T00:30:00+00:00", "--note", note)  # fmt: skip
    listed = {r["code"]: r for r in json.loads(hub("target", "list", "--fy", "R8", "--json"))}
    visits = listed["outreach_visits"]
    assert (visits["set_at"], visits["set_by"]) == (
        "2026-05-01T09:30:00+09:00",
        "shiken.taro@city.example",
    )
    assert visits["note"] == note and visits["target"] == 640
    assert listed["plans_made"]["set_at"] is None  # not set: empty, not invented
    rows = list(csv.DictReader(io.StringIO(hub("target", "list", "--fy", "R8", "--format",
                                               "csv").lstrip("\ufeff"))))  # fmt: skip
    row = next(r for r in rows if r["code"] == "outreach_visits")
    assert (row["target"], row["set_by"], row["note"]) == ("640", "shiken.taro@city.example", note)
    monkeypatch.setenv("COLUMNS", "80")
    table = hub("target", "list", "--fy", "R8")
    from rich.cells import cell_len

    assert max(cell_len(line) for line in table.splitlines()) <= 80, table
    assert all(h in table for h in ("設定日", "設定者", "備考", "2026-05-01", "640回"))
    notes = "".join(line.split("│")[5].strip() for line in table.splitlines() if "│" in line)
    assert notes == note  # the 備考 column, folded: the note in force, whole


def test_target_list_says_what_to_run_when_the_view_is_older_than_the_details(
    store: Path,
) -> None:
    """A view made by a release before targets kept when and by whom (only its `targets`
    table filled): the columns were empty with nothing said, as if no one had set them."""
    hub("target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "600")
    fresh = runner.invoke(cli, ["target", "list", "--fy", "R8", "--json"])
    assert fresh.exit_code == 0 and "Note" not in fresh.stderr
    view = store.with_name("hub.indicators.sqlite")
    with sqlite3.connect(view) as db:
        db.execute("DELETE FROM target_details")  # what the older release had: no such rows
    db.close()
    old = runner.invoke(cli, ["target", "list", "--fy", "R8", "--json"])
    assert old.exit_code == 0, old.output
    assert old.stderr.strip().splitlines() == [
        "Note: this view was made before targets kept when and by whom they were set; "
        "`hub rebuild --projection indicators` fills them in"
    ]
    hub("rebuild", "--projection", "indicators")
    rebuilt = runner.invoke(cli, ["target", "list", "--fy", "R8", "--json"])
    assert "Note" not in rebuilt.stderr
    visits = {r["code"]: r for r in json.loads(rebuilt.stdout)}["outreach_visits"]
    assert visits["set_by"] == "shiken.taro@city.example"
