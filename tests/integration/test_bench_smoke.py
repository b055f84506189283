"""The benchmark runs end to end in its quick mode and prints every row (no timings checked)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli.main import app

FIGURES = (
    "write path",
    "relay",
    "rebuild",
    "rebuild floor: read + decode, no view",
    "growth: rebuild time",
    "growth: peak memory",
    "growth floor: read + decode, no view: time",
    "end to end p50",
    "end to end p99",
    "API commands",
    "API inbox read p99",
    "write path sealed/plain",
    "relay sealed/plain",
    "group commit: submit",
    "group commit: against the library",
    "erasure of one person",
)


def _rows(markdown: str, store: str) -> dict[str, list[str]]:
    section = markdown.split(f"### {store}\n", 1)[1].split("### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith(("| figure", "|---")):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


@pytest.mark.integration
def test_quick_benchmark_reports_every_figure_with_a_ratio_on_both_stores(
    kafka_broker: object, postgres_service: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    from hub.settings import get_settings

    get_settings.cache_clear()
    out = tmp_path / "bench.md"
    try:
        result = CliRunner().invoke(
            app, ["bench", "--quick", "--store", "both", "--output", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "Physical reference: pgbench" in text
    for store in ("sqlite", "postgres"):
        rows = _rows(text, store)
        for figure in FIGURES:
            assert figure in rows, (store, figure)
            ratio = rows[figure][3]
            assert ratio.endswith("×"), (store, figure, rows[figure])


SCALE_FIGURES = tuple(
    f"scale: {what}: {measure}"
    for what in (
        "rebuild every view",
        "relay sample (the log's first days, empty position)",
        "replay as of 2025-10-01 12:00 JST, one case",
    )
    for measure in ("time", "peak memory")
)


@pytest.mark.integration
def test_the_scale_run_is_asked_for_by_name_and_reports_time_and_memory_on_both_stores(
    postgres_service: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    from hub.settings import get_settings

    get_settings.cache_clear()
    out = tmp_path / "scale.md"
    try:
        result = CliRunner().invoke(
            app, ["bench", "--quick", "--only", "scale", "--store", "both", "--output", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    for store in ("sqlite", "postgres"):
        rows = _rows(text, store)
        assert set(rows) == set(SCALE_FIGURES), (store, sorted(rows))
        for figure in SCALE_FIGURES:
            hub, baseline, ratio = rows[figure][1:4]
            assert float(hub.replace(",", "")) > 0 and float(baseline.replace(",", "")) > 0
            assert ratio.endswith("×"), (store, figure, rows[figure])
        # 295 → 904 events: the quick plan's year ×1 up to 8 April, written once and 4 times.
        assert "295 → 904 events" in rows[SCALE_FIGURES[0]][-1]
