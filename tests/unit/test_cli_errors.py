"""README "Exit codes": an error is one line on stderr starting with `Error:`, never the usage
text and a boxed panel, and a bad option or value exits 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ops.cli.main import app as cli

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["case", "list", "--format", "foo"],
        ["case", "list", "--bogus"],
        ["audit", "replay"],  # --as-of is required
        ["quarantine", "list", "--step", "foo"],
        ["--bogus"],
    ],
    ids=["bad-choice", "no-such-option", "missing-option", "bad-step", "top-level-option"],
)
def test_a_usage_error_is_one_line_on_stderr_and_exits_2(args: list[str]) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Usage:" not in result.stderr and "╭" not in result.stderr
    assert result.stdout == ""


def test_the_help_is_still_printed_whole() -> None:
    result = runner.invoke(cli, ["case", "list", "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout and "--format" in result.stdout
