"""`hub ref`: what can be named, with Japanese names, for people and for scripts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ops.cli.main import app as cli

runner = CliRunner()


def test_wards_agencies_and_codes_are_listed_with_japanese_names() -> None:
    wards = json.loads(runner.invoke(cli, ["ref", "wards", "--json"]).stdout)
    assert {"code": "tobata", "label": "戸畑区"} in wards and len(wards) == 7
    agencies = json.loads(runner.invoke(cli, ["ref", "agencies", "--format", "json"]).stdout)
    houkatsu = next(a for a in agencies if a["id"] == "moji.houkatsu")
    assert houkatsu["name"] == "門司区 地域包括支援センター"
    assert houkatsu["ward_label"] == "門司区"
    lines = runner.invoke(cli, ["ref", "codes", "urgency", "--format", "jsonl"]).stdout
    codes = [json.loads(line) for line in lines.splitlines()]
    assert {"vocabulary": "urgency", "code": "life_at_risk", "label": "生命の危険"} in codes


def test_a_ref_table_fits_80_columns_and_a_typo_gets_a_suggestion() -> None:
    result = runner.invoke(cli, ["ref", "agencies", "--ward", "tobata"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "戸畑区" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    typo = runner.invoke(cli, ["ref", "agencies", "--ward", "tobato"])
    assert typo.exit_code == 2 and "did you mean tobata" in typo.stderr


def test_the_version_and_flags_without_a_metavar() -> None:
    version = runner.invoke(cli, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("hub ")
    shown = runner.invoke(cli, ["case", "list", "--help"], env={"COLUMNS": "100"}).stdout
    assert "<bool>" not in shown and "--wide" in shown


def test_a_consent_stopped_by_the_person_has_a_label_among_the_codes() -> None:
    lines = runner.invoke(cli, ["ref", "codes", "consent_state", "--format", "jsonl"]).stdout
    codes = {c["code"]: c["label"] for c in map(json.loads, lines.splitlines())}
    assert codes == {"given": "同意", "refused": "拒否", "withdrawn": "撤回", "stopped": "利用停止"}
