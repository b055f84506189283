"""A store opened with another HUB_KEK: every command that reads a person's sealed fields says
so in the hub's one line (as `hub case show` did), never a traceback of the store's mapper that
wrapped it (`hub submit` of a file already applied once, which loads its cases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.settings import get_settings
from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()


def test_submit_on_a_store_of_another_kek_is_one_line(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_KEK", "試験-the-first-key-encryption-key-0001")
    get_settings.cache_clear()
    case = f.open_case(person=f.person())
    lines = cli_store / "commands.jsonl"
    lines.write_text(case.model_dump_json() + "\n", encoding="utf-8")
    first = runner.invoke(cli, ["submit", str(lines)])
    assert first.exit_code == 0, first.output
    monkeypatch.setenv("HUB_KEK", "試験-another-key-encryption-key-0002")
    get_settings.cache_clear()
    again = runner.invoke(cli, ["submit", str(lines)])
    assert again.exit_code == 1, again.output
    (line,) = again.stderr.strip().splitlines()
    assert line.startswith(f"Error: the data key of {case.case_id} does not unwrap"), line
    assert "HUB_KEK" in line and "Traceback" not in again.output
