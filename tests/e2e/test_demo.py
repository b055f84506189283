"""`hub demo`, reduced to April 2025, through the real broker: what it prints is what the
generator made, and the audit verifies every disclosure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.labels import INDICATORS
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
    who = next(line for line in result.output.splitlines() if "記録者 who acted" in line)
    assert all(role in who for role in ("ward_officer", "coordinator", "contractor", "system"))
    assert "rejected 0" in result.output
    assert "phase not available" not in result.output
    assert (tmp_path / "demo" / "indicators-R7.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (tmp_path / "demo" / "indicators-R7.png").stat().st_size > 0
