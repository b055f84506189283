"""`hub audit verify-log --anchor`: an empty anchor is invalid input, never taken as none."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli.main import app as cli

runner = CliRunner()


@pytest.mark.parametrize("anchor", ["", " "])
def test_an_empty_anchor_is_refused_not_skipped(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch, anchor: str
) -> None:
    """`--anchor "$ANCHOR"` with the variable lost said "intact" without checking the head
    written down earlier: the check asked for was silently not made."""
    monkeypatch.setenv("HUB_MODE", "development")
    result = runner.invoke(cli, ["audit", "verify-log", "--no-witness", "--anchor", anchor])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: an anchor is <notification id>:<64 hex digits>"), line
    assert "intact" not in result.stdout
