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


def test_a_lost_development_key_file_is_named(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In development without HUB_KEK the key is <var>/keys/kek.dev: a store whose key file
    was lost (and made again) said only 'is HUB_KEK the one…', a variable nobody set."""
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.delenv("HUB_KEK", raising=False)
    get_settings.cache_clear()
    case = f.open_case(person=f.person())
    lines = cli_store / "commands.jsonl"
    lines.write_text(case.model_dump_json() + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["submit", str(lines)]).exit_code == 0
    (cli_store / "var" / "keys" / "kek.dev").unlink()
    get_settings.cache_clear()
    shown = runner.invoke(
        cli, ["case", "show", str(case.case_id), "--person", "--purpose", "consultation"]
    )
    assert shown.exit_code == 1, shown.output
    (line,) = shown.stderr.strip().splitlines()
    assert "does not unwrap" in line and "keys/kek.dev" in line, line


def test_a_new_person_is_not_written_under_another_kek(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process given a mistyped HUB_KEK (or a development key file lost and made again)
    used to wrap a new person's key with it: the store then held keys of two KEKs and every
    reader given the store's own one stopped at that person's events for good."""
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_KEK", "試験-the-first-key-encryption-key-0001")
    get_settings.cache_clear()
    first = cli_store / "first.jsonl"
    first.write_text(f.open_case(person=f.person()).model_dump_json() + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["submit", str(first)]).exit_code == 0
    monkeypatch.setenv("HUB_KEK", "試験-another-key-encryption-key-0002")
    get_settings.cache_clear()
    second = cli_store / "second.jsonl"
    second.write_text(f.open_case(person=f.person()).model_dump_json() + "\n", encoding="utf-8")
    refused = runner.invoke(cli, ["command", "-"], input=second.read_text(encoding="utf-8"))
    assert refused.exit_code == 1, refused.output
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("Error: this key-encryption key does not unwrap"), line
    assert "HUB_KEK" in line and "nothing was written" in line
    monkeypatch.setenv("HUB_KEK", "試験-the-first-key-encryption-key-0001")
    get_settings.cache_clear()
    replay = runner.invoke(cli, ["audit", "replay", "--as-of", "2030-01-01T00:00:00+09:00"])
    assert replay.exit_code == 0, replay.output
    again = runner.invoke(cli, ["submit", str(second)])
    assert again.exit_code == 0, again.output
    assert "1 written" in again.output
