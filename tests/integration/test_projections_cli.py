"""The read side from the command line: case, inbox, report indicators, rebuild, follow."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from hub import commands as c
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
    shown = json.loads(hub("case", "show", str(history.case_a), "--format", "json"))
    assert (shown["status"], shown["status_label"]) == ("in_support", "支援中")
    assert shown["pending_escalations"] == [str(history.silent)]
    assert shown["opened_at"].endswith("+09:00")
    for text in f.SYNTHETIC_STRINGS:
        assert text not in json.dumps(shown, ensure_ascii=False)


def test_case_show_reads_a_short_id_and_prints_jst_with_the_zone(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = hub("case", "show", str(history.case_a)[:8])
    assert str(history.case_a) in text and "支援中" in text and " JST" in text
    assert max(len(line) for line in text.splitlines()) <= 80, text


def test_case_list_filters_by_ward_and_status(history: History) -> None:
    rows = json.loads(hub("case", "list", "--ward", "tobata", "--status", "closed", "--json"))
    assert [r["case_id"] for r in rows] == [str(history.case_b)]
    assert rows[0]["ward_label"] == "戸畑区" and rows[0]["status_label"] == "終結"
    lines = hub("case", "list", "--ward", "tobata", "--format", "jsonl").splitlines()
    assert [json.loads(line)["case_id"] for line in lines] == [str(history.case_b)]
    assert "計 1件" in hub("case", "list", "--status", "in_support")


def test_case_list_and_inbox_fit_80_columns_with_short_ids(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for args in (["case", "list"], ["inbox", "--agency", "hoboku-shakyo"]):
        text = hub(*args)
        assert max(len(line) for line in text.splitlines()) <= 80, text
    listed = hub("case", "list")
    assert str(history.case_a)[:8] in listed and str(history.case_a) not in listed
    assert str(history.case_a) in hub("case", "list", "--wide")


def test_unknown_filter_values_are_refused_with_a_suggestion(history: History) -> None:
    for args, hint in (
        (["case", "list", "--status", "opn"], "did you mean open"),
        (["case", "list", "--ward", "tobato"], "did you mean tobata"),
        (["inbox", "--agency", "hoboku-shakya"], "did you mean hoboku-shakyo"),
        # Nothing near and few to choose from: all of them named.
        (["case", "list", "--status", "waiting"], "one of open, in_support, suspended, closed"),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert hint in result.stderr, result.stderr


def test_case_show_and_list_name_roles_and_agencies_in_japanese(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no folding: each label whole on its line
    shown = json.loads(hub("case", "show", str(history.case_a), "--format", "json"))
    roles = {(h["role"], h["role_label"]) for h in shown["history"] if h.get("role")}
    assert roles, shown["history"]
    table = hub("case", "show", str(history.case_a))
    for code, text in roles:
        assert f"/ {text}" in table and f"/ {code}" not in table, table  # who / role
    rows = json.loads(hub("case", "list", "--format", "json"))
    leads = {(r["lead_agency"], r["lead_agency_label"]) for r in rows if r["lead_agency"]}
    assert leads, rows
    wide = hub("case", "list", "--wide")
    for agency_id, name in leads:
        assert name in wide and agency_id not in wide, wide


def test_inbox_shows_unanswered_referrals(history: History) -> None:
    rows = json.loads(hub("inbox", "--agency", "hoboku-shakyo", "--unanswered", "--json"))
    assert [r["referral_id"] for r in rows] == [str(history.silent)]
    assert "うち未応答 1件" in hub("inbox", "--agency", "hoboku-shakyo")


def test_report_indicators_as_json_csv_table_and_chart(history: History, tmp_path: Path) -> None:
    rows = json.loads(hub("report", "indicators", "--fy", "R7", "--format", "json"))
    assert {r["label"]: r["value"] for r in rows} == EXPECTED_R7
    by_ward = json.loads(
        hub("report", "indicators", "--fy", "R7", "--by", "ward", "--format", "json")
    )
    assert {
        "function": "包括的相談支援",
        "code": "consultations",
        "label": "包括的相談支援事業における相談受付件数",
        "unit": "件",
        "value": 1,
        "ward": "tobata",
        "ward_label": "戸畑区",
    } in by_ward
    out = tmp_path / "r7.csv"
    chart = tmp_path / "r7.png"
    hub("report", "indicators", "--fy", "令和7年度", "--by", "month", "--until", "2025-06-30",
        "--format", "csv", "--out", str(out), "--chart", str(chart))  # fmt: skip
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {(r["month"], r["month_label"]) for r in read} == {
        ("2025-04", "令和7年4月"),
        ("2025-05", "令和7年5月"),
        ("2025-06", "令和7年6月"),
    }
    assert chart.read_bytes()[:4] == b"\x89PNG"
    table = hub("report", "indicators", "--fy", "2025")
    assert "包括的相談支援事業における相談受付件数" in table
    assert "令和7年度（令和8年3月31日まで）" in table


def test_report_tables_fit_80_columns_with_units(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for by in ([], ["--by", "ward"], ["--by", "month"]):
        text = hub("report", "indicators", "--fy", "R7", *by)
        assert max(len(line) for line in text.splitlines()) <= 80, text
    text = hub("report", "indicators", "--fy", "R7")
    assert "3件" in text and "20人" in text and "0.0%" in text
    assert "戸畑区" in hub("report", "indicators", "--fy", "R7", "--by", "ward")


def test_a_cut_before_the_year_by_month_says_so_on_whole_lines(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No month has begun: the heading on lines of its own (a table's title folded to the
    empty table's width, a few characters a line), and no empty table."""
    monkeypatch.setenv("COLUMNS", "80")
    text = hub("report", "indicators", "--fy", "R7", "--until", "2025-03-31", "--by", "month")
    lines = text.splitlines()
    assert lines[0].startswith("④ 重層的支援体制整備事業の評価指標")
    assert "年度開始前のため0" in text and "表示する行はありません" in text
    assert "┏" not in text and max(cell_len(line) for line in lines) <= 80, text


def test_a_report_table_written_to_a_file_fits_80_columns_or_columns(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r7.txt"
    monkeypatch.delenv("COLUMNS", raising=False)
    hub("target", "set", "--fy", "R7", "--indicator", "consultations", "--value", "12")
    for by in ([], ["--by", "ward"], ["--by", "month"]):
        hub("report", "indicators", "--fy", "R7", *by, "--out", str(out))
        text = out.read_text(encoding="utf-8")
        assert "包括的相談支援" in text
        assert max(cell_len(line) for line in text.splitlines()) <= 80, text  # 全角 = 2
    monkeypatch.setenv("COLUMNS", "60")
    hub("report", "indicators", "--fy", "R7", "--by", "ward", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert max(cell_len(line) for line in text.splitlines()) <= 60, text


CITY_ORDER = ["門司区", "小倉北区", "小倉南区", "若松区", "八幡東区", "八幡西区", "戸畑区"]


def test_every_by_ward_format_lists_the_seven_wards_in_the_citys_order(
    history: History, tmp_path: Path
) -> None:
    def seen(labels: list[str]) -> list[str]:
        return [w for w in dict.fromkeys(labels) if w in CITY_ORDER or w == "区不明"]

    by_ward = ("report", "indicators", "--fy", "R7", "--by", "ward")
    rows = json.loads(hub(*by_ward, "--format", "json"))
    assert seen([r["ward_label"] for r in rows]) == CITY_ORDER
    jsonl = [json.loads(line) for line in hub(*by_ward, "--format", "jsonl").splitlines()]
    assert seen([r["ward_label"] for r in jsonl]) == CITY_ORDER
    long = csv.DictReader(io.StringIO(hub(*by_ward, "--format", "csv").lstrip("\ufeff")))
    assert seen([r["ward_label"] for r in long]) == CITY_ORDER
    wide = list(csv.reader(io.StringIO(hub(*by_ward, "--format", "wide-csv").lstrip("\ufeff"))))
    assert wide[1][3:] == [*CITY_ORDER, "年度計（累計）"]
    table = hub(*by_ward)
    assert seen([w for line in table.splitlines() for w in CITY_ORDER if w in line]) == CITY_ORDER


def test_report_wide_csv_and_excel_lay_indicators_against_months(
    history: History, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    wide = hub("report", "indicators", "--fy", "R7", "--until", "2025-06-30",
               "--format", "wide-csv")  # fmt: skip
    lines = list(csv.reader(io.StringIO(wide.lstrip("\ufeff"))))
    assert lines[1][3:] == ["令和7年4月", "令和7年5月", "令和7年6月", "年度計（累計）"]
    book = tmp_path / "r7.xlsx"
    hub("report", "indicators", "--fy", "R7", "--by", "ward", "--format", "xlsx",
        "--out", str(book))  # fmt: skip
    sheet = load_workbook(book)["評価指標"]
    headers = [c.value for c in sheet[2]]
    assert headers[:3] == ["事業", "評価指標", "単位"] and "戸畑区" in headers
    missing = runner.invoke(cli, ["report", "indicators", "--fy", "R7", "--format", "xlsx"])
    assert missing.exit_code == 2 and "--out" in missing.output
    misnamed = tmp_path / "r7.csv"  # Excel would open the workbook as text
    wrong = runner.invoke(cli, ["report", "indicators", "--fy", "R7", "--format", "xlsx",
                                "--out", str(misnamed)])  # fmt: skip
    assert wrong.exit_code == 2 and ".xlsx" in wrong.output and not misnamed.exists()


def test_a_chart_path_that_cannot_be_written_is_one_line(history: History, tmp_path: Path) -> None:
    for path in (tmp_path / "no" / "such" / "c.png", tmp_path):
        result = runner.invoke(cli, ["report", "indicators", "--fy", "R7", "--chart", str(path)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: --chart"), lines


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
        ["inbox", "--agency", "no.such.agency"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.strip().startswith("Error:"), result.output
    for unknown in ("00000000-0000-4000-8000-000000000000", "00000000"):  # whole or prefix
        result = runner.invoke(cli, ["case", "show", unknown])
        assert result.exit_code == 3, result.output
        assert result.output.strip().startswith("Error:"), result.output


def test_audit_filters_are_checked_and_replay_speaks_every_format(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = runner.invoke(cli, ["audit", "disclosures", "--agency", "moji.houkatu"])
    assert refused.exit_code == 2, refused.output
    assert "did you mean moji.houkatsu" in refused.stderr
    assert "0 disclosures" not in refused.output
    # Between the つながりづくり会議 (05-06) and the move to the 重層的支援会議 (05-07): its
    # members are in force; after the move, consent alone governs (docs/AUDIT.md).
    after = ["audit", "replay", "--as-of", "2025-08-01T00:00:00+09:00", "--format", "csv"]
    moved = csv.DictReader(io.StringIO(hub(*after).lstrip("\ufeff")))
    assert {r["section"] for r in moved} == {"consent"}
    as_of = ["audit", "replay", "--as-of", "2025-05-06T12:00:00+09:00"]
    rows = list(csv.DictReader(io.StringIO(hub(*as_of, "--format", "csv").lstrip("\ufeff"))))
    assert {r["section"] for r in rows} == {"consent", "meeting"}
    assert all(r["case_id"] == str(history.case_a) for r in rows)
    lines = hub(*as_of, "--format", "jsonl").splitlines()
    assert len(lines) == len(rows)
    monkeypatch.setenv("COLUMNS", "80")
    table = hub(*as_of, "--case", str(history.case_a)[:8])
    assert max(len(line) for line in table.splitlines()) <= 80, table
    assert "つながり" in table and "connection" not in table  # the label, not the code
    assert " JST" in table and "時点" in table
    # A whole case id replays only that case (ops/cli/audit.py): the same answer as a prefix.
    whole_id = hub(*as_of, "--case", str(history.case_a), "--format", "json")
    assert whole_id == hub(*as_of, "--case", str(history.case_a)[:8], "--format", "json")
    assert str(history.case_a) in whole_id


@pytest.mark.parametrize(
    "args",
    [
        ["report", "indicators", "--fy", "R7"],
        ["audit", "replay", "--as-of", "2025-08-01T00:00:00+09:00"],
        ["audit", "disclosures"],
        ["audit", "access"],
    ],
    ids=["report-indicators", "audit-replay", "audit-disclosures", "audit-access"],
)
def test_json_is_the_same_as_format_json(history: History, args: list[str]) -> None:
    flag = json.loads(hub(*args, "--json"))
    assert flag == json.loads(hub(*args, "--format", "json"))


def test_a_consent_stopped_by_the_person_is_shown_with_its_japanese_label(
    history: History,
) -> None:
    app = HubApplication(env=get_settings().eventsourcing_env("sqlite"))
    try:
        app.execute(
            f.build(c.RequestUseStop, case_id=history.case_a, reason="本人から利用停止の申出")
        )
    finally:
        app.close()
    shown = json.loads(hub("case", "show", str(history.case_a), "--json"))
    stopped = [x for x in shown["consents"] if x["consent_id"] == str(history.consent)]
    assert [(x["state"], x["state_label"]) for x in stopped] == [("stopped", "利用停止")]
    assert "利用停止" in hub("case", "show", str(history.case_a))
