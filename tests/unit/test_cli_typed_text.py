"""Tables print what people typed as they typed it (a name or address holding something rich
would read as markup, ``[/b]``, ``[red]``, or an emoji code is shown, never interpreted) and
name agencies by their names."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hub.commands import derived_id
from hub.identity import Actor, Role
from hub.settings import get_settings
from ops.cli.main import app as cli
from ops.wiring import open_application
from tests import factories as f

runner = CliRunner()
OFFICER = Actor("officer-試験", Role.ward_officer, ward="kokurakita")


def test_a_name_that_looks_like_markup_is_printed_as_typed(cli_store: Path) -> None:
    name, address = "試験 [/b] 花子", "北九州市[red]架空区:warning:"
    app = open_application(get_settings())
    try:
        consultation = f.consultation(person=f.person(name=name, address=address))
        app.execute(consultation, OFFICER)
        case_id = derived_id(consultation.command_id, "case_id")
    finally:
        app.close()
    shown = runner.invoke(
        cli,
        ["case", "show", str(case_id), "--person", "--purpose", "consultation"],
        env={"COLUMNS": "120"},
    )
    assert shown.exit_code == 0, shown.output
    assert name in shown.stdout and address in shown.stdout
    rows = {
        line.split()[0] for line in shown.stdout.splitlines() if name in line or address in line
    }
    assert rows == {"氏名", "住所"}  # Japanese labels first, not the fields' names


def test_the_erasures_name_the_agencies_told(cli_store: Path) -> None:
    app = open_application(get_settings())
    try:
        consultation = f.consultation()
        app.execute(consultation, OFFICER)
        case_id = derived_id(consultation.command_id, "case_id")
        app.execute(f.referral(case_id, agency_id="kokurakita.hogo"), OFFICER)
        app.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了（試験）")
    finally:
        app.close()
    listed = runner.invoke(cli, ["privacy", "erasures", "--pending"])
    assert listed.exit_code == 0, listed.output
    # Japanese first: the agency's name, then its id (as the audit report names agencies).
    assert "未確認   pending\n    小倉北区 保護課（kokurakita.hogo）\n" in listed.stdout
