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
