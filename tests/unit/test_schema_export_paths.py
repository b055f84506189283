"""`hub schema export DIR` given a file, or a folder it cannot make: one line and exit 2
(invalid input), not a traceback (NotADirectoryError, FileNotFoundError)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ops.cli.main import app as cli

runner = CliRunner()


def test_a_file_given_as_the_folder_is_refused_with_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "r7.csv"
    a_file.write_text("試験", encoding="utf-8")
    result = runner.invoke(cli, ["schema", "export", str(a_file)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: DIR ") and "is a file, not a folder" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert a_file.read_text(encoding="utf-8") == "試験"


def test_a_folder_that_cannot_be_made_is_refused_with_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("", encoding="utf-8")  # a file where a folder of the path must go
    result = runner.invoke(cli, ["schema", "export", str(blocked / "bundle")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: cannot write ")
    assert "Traceback" not in result.output + result.stderr
