"""A relay that cannot read its witnessed chain head (the broker away, the
auditor's password refused) says so, and never tells the operator to restore a backup or
publish the whole log again: nothing is known of the store then."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.settings import get_settings
from ops.cli.main import app as cli

pytestmark = pytest.mark.integration


def test_hub_relay_with_the_broker_away_names_the_witness_read_not_a_restore(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", "127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", "away.")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["relay", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 4, result.output  # a service away
    line = " ".join(result.stderr.split())
    assert "as away.auditor failed" in line and "Traceback" not in result.output
    assert "Restore a later backup" not in line and "new prefix" not in line, line
