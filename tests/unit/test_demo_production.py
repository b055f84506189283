"""Outside development mode the demo keeps to its own home: the agencies' inboxes that
HUB_AGENCY_INBOX_PATH or HUB_AGENCY_INBOX_STORE=postgres name are the real ones of the
host (an agency client's), which the demo would wipe or fill with its synthetic people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consumers.config import get_consumer_settings
from hub.settings import get_settings
from ops.cli.main import app as cli
from tests.unit.test_production_entry_points import REAL

runner = CliRunner()
AGENCY = "moji.houkatsu"


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Production mode with secrets of its own, files under ``tmp_path``."""
    monkeypatch.setenv("HUB_MODE", "production")
    for variable, value in REAL.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.delenv("HUB_AGENCY_INBOX_STORE", raising=False)
    monkeypatch.delenv("HUB_AGENCY_INBOX_PATH", raising=False)
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()


def _demo(home: Path) -> list[str]:
    return ["demo", "--no-services", "--home", str(home), "--until", "2025-04-01"]


def test_the_demo_leaves_the_hosts_agency_inboxes_alone(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inboxes = production / "srv" / "inbox"
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(inboxes / "{agency}.sqlite"))
    inboxes.mkdir(parents=True)
    real = inboxes / f"{AGENCY}.sqlite"
    real.write_bytes(b"an agency's inbox")
    result = runner.invoke(cli, _demo(production / "demo"))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: refusing to start in production mode: HUB_AGENCY_INBOX_PATH")
    assert str(inboxes) in lines[0]
    assert real.read_bytes() == b"an agency's inbox"
    assert not (production / "demo").exists()


def test_the_demo_writes_into_no_agencys_postgres_inbox(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_AGENCY_INBOX_STORE", "postgres")
    result = runner.invoke(cli, _demo(production / "demo"))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "Error: refusing to start in production mode: HUB_AGENCY_INBOX_STORE=postgres"
    )
    assert "inbox_{agency}" in lines[0]
    assert not (production / "demo").exists()
