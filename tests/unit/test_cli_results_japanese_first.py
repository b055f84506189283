"""A city officer reads the one-line results of the CLI: Japanese first, the English (and
the counts and ids scripts read) after it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()


def test_seal_and_index_say_what_they_did_in_japanese_first(cli_store: Path) -> None:
    assert runner.invoke(cli, ["command", f.open_case().model_dump_json()]).exit_code == 0

    sealed = runner.invoke(cli, ["audit", "seal"])
    indexed = runner.invoke(cli, ["audit", "index"])

    assert sealed.exit_code == 0, sealed.output
    assert sealed.stdout == "0 件をチェーンに連結 / sealed 0 events\n"
    assert indexed.exit_code == 0, indexed.output
    assert indexed.stdout.startswith("0 件を索引に登録（位置 "), indexed.stdout
    assert " / indexed 0 events; the index is whole to " in indexed.stdout


def test_retry_with_no_inbox_says_so_in_japanese_first(cli_store: Path) -> None:
    result = runner.invoke(cli, ["agency", "retry", "--agency", "moji.houkatsu"])

    assert result.exit_code == 0, result.output
    assert "moji.houkatsu: 受信箱なし、保留中の記録なし / no inbox here" in result.stderr


def test_the_chart_written_is_said_in_japanese_first(cli_store: Path) -> None:
    chart = cli_store / "r7.png"
    result = runner.invoke(cli, ["report", "indicators", "--fy", "R7", "--chart", str(chart)])

    assert result.exit_code == 0, result.output
    assert chart.exists()
    assert f"グラフを書き出しました / chart written to {chart}" in result.stderr
