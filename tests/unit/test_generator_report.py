"""What `hub demo` prints: table ④ at the cut, and beside the plan's actuals the figures at
the end of December, each checked against the generator's own counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from hub.labels import INDICATORS
from hub.settings import Settings
from ops.demo.pipeline import AuditFigures, DemoOptions, DemoOutcome
from ops.demo.report import GENERATOR_KEYS, print_outcome
from projections.indicators import ReportRow

FULL_YEAR = {
    "consultations": 700,
    "participants": 3,
    "businesses": 5,
    "bases": 16,
    "gathering_participants": 7000,
    "bodies": 11,
    "visits": 645,
    "plans": 18,
    "activities": 3128,
}
DECEMBER = FULL_YEAR | {"visits": 450, "plans": 13, "activities": 2248, "participants": 2}


def rows(values: dict[str, int]) -> list[ReportRow]:
    return [
        ReportRow(i.function, i.label, values[GENERATOR_KEYS[i.key]], code=i.key, unit=i.unit)
        for i in INDICATORS
    ]


def printed(outcome: DemoOutcome) -> str:
    console = Console(record=True, width=200)
    print_outcome(console, outcome)
    return console.export_text()


def row_of(text: str, plan_label: str) -> list[str]:
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if plan_label in cells:
            return cells[cells.index(plan_label) + 1 : -1]
    raise AssertionError(plan_label)


def outcome(until: date, hub: dict[str, int], december: dict[str, int] | None) -> DemoOutcome:
    result = DemoOutcome(DemoOptions(until=until), Settings())
    result.indicators = rows(hub)
    result.expected = dict(hub)
    if december is not None:
        result.indicators_at_actuals = rows(december)
        result.expected_at_actuals = dict(december)
    result.audit = AuditFigures(True, 10, None, 4, {"consent": 4}, [])
    return result


def test_a_full_year_shows_the_december_figures_beside_the_plans_actuals() -> None:
    text = printed(outcome(date(2026, 3, 31), FULL_YEAR, DECEMBER))
    assert row_of(text, "伴走型支援の訪問件数") == ["645", "645", "450", "450回"]
    assert row_of(text, "①支援計画作成件数") == ["18", "18", "13", "13件"]
    assert row_of(text, "②支援に関する活動件数") == ["3128", "3128", "2248", "2248回"]
    assert row_of(text, "参加支援事業の①支援対象者数") == ["3", "3", "2", "2人"]
    assert row_of(text, "包括的相談支援事業における相談受付件数")[-1] == "集計中"
    assert "audit verify: VALID" in text


def test_a_cut_at_the_end_of_december_compares_directly() -> None:
    text = printed(outcome(date(2025, 12, 31), DECEMBER, None))
    assert row_of(text, "伴走型支援の訪問件数") == ["450", "450", "450回"]


def test_a_figure_that_differs_from_the_generator_is_marked() -> None:
    hub = DECEMBER | {"visits": 449}
    result = outcome(date(2025, 12, 31), hub, None)
    result.expected = dict(DECEMBER)
    assert row_of(printed(result), "伴走型支援の訪問件数")[0] == "449 ≠ 450"


def test_an_early_cut_says_the_actuals_are_for_reference_only() -> None:
    text = printed(outcome(date(2025, 4, 30), FULL_YEAR, None))
    assert "参考として示します" in text


def test_the_demo_names_and_wipes_the_inboxes_where_hub_agency_inbox_path_puts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consumers.config import get_consumer_settings
    from ops.demo.pipeline import _wipe, inbox_location

    elsewhere = tmp_path / "inboxes"
    elsewhere.mkdir()
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(elsewhere / "{agency}.sqlite"))
    get_consumer_settings.cache_clear()
    try:
        old = elsewhere / "moji.houkatsu.sqlite"
        old.write_bytes(b"last run")
        home = tmp_path / "demo"
        settings = Settings(var_dir=home)
        assert inbox_location(settings, home) == str(elsewhere / "{agency}.sqlite")
        _wipe(settings, DemoOptions(home=home))
        assert not old.exists()
    finally:
        get_consumer_settings.cache_clear()
