"""The read side from the command line: case, inbox, report indicators, rebuild, follow."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from tests import factories as f
from tests.integration.test_projections import EXPECTED_R7, History, seed

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[History]:
    path = tmp_path / "hub.sqlite"
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_SQLITE_PATH", str(path))
    get_settings.cache_clear()
    app = HubApplication(env=Settings(sqlite_path=path).eventsourcing_env("sqlite"))
    try:
        yield seed(app)
    finally:
        app.close()
        get_settings.cache_clear()


def hub(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_case_show_prints_state_without_personal_data(history: History) -> None:
    shown = json.loads(hub("case", "show", str(history.case_a)))
    assert shown["status"] == "in_support"
    assert shown["pending_escalations"] == [str(history.silent)]
    for text in f.SYNTHETIC_STRINGS:
        assert text not in json.dumps(shown, ensure_ascii=False)


def test_case_list_filters_by_ward_and_status(history: History) -> None:
    rows = json.loads(hub("case", "list", "--ward", "tobata", "--status", "closed", "--json"))
    assert [r["case_id"] for r in rows] == [str(history.case_b)]
    assert "1 cases" in hub("case", "list", "--status", "in_support")


def test_inbox_shows_unanswered_referrals(history: History) -> None:
    rows = json.loads(hub("inbox", "--agency", "hoboku-shakyo", "--unanswered", "--json"))
    assert [r["referral_id"] for r in rows] == [str(history.silent)]
    assert "1 unanswered" in hub("inbox", "--agency", "hoboku-shakyo")


def test_report_indicators_as_json_csv_table_and_chart(history: History, tmp_path: Path) -> None:
    rows = json.loads(hub("report", "indicators", "--fy", "R7", "--format", "json"))
    assert {r["indicator"]: r["value"] for r in rows} == EXPECTED_R7
    by_ward = json.loads(
        hub("report", "indicators", "--fy", "R7", "--by", "ward", "--format", "json")
    )
    assert {
        "function": "包括的相談支援",
        "indicator": "相談受付件数",
        "value": 1,
        "ward": "tobata",
    } in by_ward
    out = tmp_path / "r7.csv"
    chart = tmp_path / "r7.png"
    hub("report", "indicators", "--fy", "令和7年度", "--by", "month", "--until", "2025-06-30",
        "--format", "csv", "--out", str(out), "--chart", str(chart))  # fmt: skip
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    months = {r["month"] for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert months == {"2025-04", "2025-05", "2025-06"}
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert "相談受付件数" in hub("report", "indicators", "--fy", "2025")


def test_rebuild_and_follow_once_leave_the_report_unchanged(history: History) -> None:
    before = hub("report", "indicators", "--fy", "R7", "--format", "json")
    result = runner.invoke(cli, ["rebuild"])
    assert result.exit_code == 0, result.output
    assert "indicators:" in result.output
    hub("follow", "--once")
    assert hub("report", "indicators", "--fy", "R7", "--format", "json") == before


def test_bad_input_is_one_line_and_exit_1(history: History) -> None:
    for args in (
        ["rebuild", "--projection", "nonsense"],
        ["report", "indicators", "--fy", "R99x"],
        ["report", "indicators", "--fy", "R7", "--until", "31/12/2025"],
        ["case", "show", "00000000-0000-0000-0000-000000000000"],
        ["inbox", "--agency", "no.such.agency"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().startswith("Error:"), result.output
