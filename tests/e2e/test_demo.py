"""`hub demo`, reduced to April 2025, through the real broker: what it prints is what the
generator made, and the audit verifies every disclosure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from hub.labels import INDICATORS
from hub.labels import label as labelled
from ops.cli.main import app
from ops.demo.generator import generate_year
from ops.demo.report import GENERATOR_KEYS
from ops.services.kafka import KafkaStatus

UNTIL = date(2025, 4, 30)


def printed_value(output: str, plan_label: str) -> int:
    """The hub's figure on the table row of ``plan_label`` (the third cell)."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if plan_label in cells:
            return int(cells[cells.index(plan_label) + 1])
    raise AssertionError(f"no row {plan_label!r} in:\n{output}")


@pytest.mark.e2e
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_month_of_the_demo_prints_the_generators_counts_and_a_valid_audit(
    kafka_broker: KafkaStatus, request: pytest.FixtureRequest, tmp_path: Path, store: str
) -> None:
    if store == "postgres":
        request.getfixturevalue("postgres_service")
    result = CliRunner().invoke(
        app,
        [
            "demo",
            *("--until", UNTIL.isoformat()),
            *("--store", store),
            *("--home", str(tmp_path / "demo")),
            "--no-services",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = generate_year(until=UNTIL).counts()
    for indicator in INDICATORS:
        key = GENERATOR_KEYS[indicator.key]
        assert printed_value(result.output, indicator.label) == expected[key], indicator.label
    assert expected["visits"] == 20 and expected["activities"] == 180
    assert "audit verify: VALID" in result.output
    # The summary wraps at 80 columns when piped: its lines are read as one text.
    text = " ".join(result.output.split())
    roles = ("ward_officer", "coordinator", "contractor", "system")
    assert all(labelled("role", r) in text for r in roles)
    assert "記録者:" in text and "拒否 0," in text
    assert "この段階はまだ動きません" not in text
    assert max(cell_len(line) for line in result.output.splitlines()) <= 80
    assert (tmp_path / "demo" / "indicators-R7.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (tmp_path / "demo" / "indicators-R7.png").stat().st_size > 0
