"""An agency `hub network apply` registers is known to the hub's own commands by its name:
filters take it, `hub ref agencies` lists it, tables show its 機関名 (README: the network is
on the log from the import on; a command naming an agency unknown to the log is refused, and
`hub ref` lists what can be named)."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

from rich.cells import cell_len
from typer.testing import CliRunner

from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()
NEW = "tobata.shiken"
NAME = "戸畑区 試験相談所"


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def test_an_agency_the_network_registers_is_named_and_taken_by_the_hubs_commands(
    cli_store: Path,
) -> None:
    network = json.loads(_run("network", "show", "--json"))
    template = next(a for a in network["agencies"] if a["id"] == "tobata.hogo")
    network["agencies"].append({**template, "id": NEW, "name": NAME})
    file = cli_store / "network.json"
    file.write_text(json.dumps(network, ensure_ascii=False), encoding="utf-8")
    _run("network", "apply", str(file), "--at", "2025-04-01T00:00:00+09:00")

    case_id = uuid4()
    line = f.open_case(case_id=case_id)
    referral = f.referral(case_id, NEW, referral_id=uuid4(), occurred_at=f.at(1))
    commands = cli_store / "commands.jsonl"
    commands.write_text(
        "\n".join(c.model_dump_json() for c in (line, referral)) + "\n", encoding="utf-8"
    )
    assert "0 rejected" in _run("submit", str(commands))

    listed = json.loads(_run("ref", "agencies", "--ward", "tobata", "--format", "json"))
    assert [a["name"] for a in listed if a["id"] == NEW] == [NAME]
    assert NAME in _run("inbox", "--agency", NEW)
    rows = json.loads(_run("case", "show", str(case_id), "--format", "json"))["referrals"]
    assert [r["agency_id_label"] for r in rows] == [NAME]
    _run("audit", "disclosures", "--agency", NEW)
    _run("inbox", "--agency", "tobata.shikn", code=2)


def test_quarantine_list_refuses_an_agency_that_names_nothing(cli_store: Path) -> None:
    """README: a filter that names nothing is an error with a suggestion, never an empty
    answer (`hub quarantine list --agency moji.houkatu` listed nothing, and made an inbox)."""
    result = runner.invoke(
        cli, ["quarantine", "list", "--step", "agency", "--agency", "moji.houkatu"]
    )
    assert result.exit_code == 2, result.output
    assert "did you mean moji.houkatsu" in result.stderr
    assert not list((cli_store / "var").glob("agency/*"))
    _run("quarantine", "list", "--step", "agency", "--agency", "moji.houkatsu")


def test_network_show_fits_80_columns(cli_store: Path) -> None:
    """README: tables are for people and fit 80 columns; the summary under the network's
    tables ran to 86."""
    result = runner.invoke(cli, ["network", "show"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80
    assert "協力会員 partner companies" in result.stdout


def test_quarantine_list_heads_its_columns_in_japanese(cli_store: Path) -> None:
    from hub.settings import get_settings
    from ops.wiring import open_inbox

    inbox = open_inbox(get_settings(), "moji.houkatsu")
    try:
        inbox.park("referrals.moji.houkatsu", 0, 7, "試験: a bad record")
    finally:
        inbox.close()
    shown = _run("quarantine", "list", "--step", "agency", "--agency", "moji.houkatsu")
    assert "工程" in shown and "理由" in shown and "試験: a bad" in shown
    assert "隔離 1 件" in shown


def test_the_audit_verdicts_fit_80_columns_japanese_first(cli_store: Path) -> None:
    from ops.wiring import open_application

    app = open_application()
    try:
        app.execute(f.consultation())
    finally:
        app.close()
    for args in (("audit", "verify"), ("audit", "verify-log", "--no-witness")):
        result = runner.invoke(cli, list(args), env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0].startswith(("根拠の検証", "改ざん検証")), lines
        assert max(cell_len(line) for line in lines) <= 80, lines
