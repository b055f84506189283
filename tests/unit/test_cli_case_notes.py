"""`hub case show --person` prints the case's narratives with the person's details (Japanese
label first, JST time, within 80 columns), in the same access record; it printed none, so the
command line read the details without what was written about the case. An erased case
prints none and records no read."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from rich.cells import cell_len
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.identity import Actor, Role
from hub.labels import label
from hub.settings import get_settings
from ops.cli.main import app as cli
from projections.audit.access import access_log
from tests.case_narratives import WRITTEN, with_narratives

runner = CliRunner()


def _open() -> HubApplication:
    return HubApplication(env=get_settings().eventsourcing_env())


def _seeded() -> UUID:
    app = _open()
    try:
        return with_narratives(app)
    finally:
        app.close()


def _show(case_id: UUID, *extra: str) -> str:
    args = ["case", "show", str(case_id), "--person", "--purpose", "consultation", *extra]
    result = runner.invoke(cli, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_case_show_prints_each_narrative_labelled_in_japanese_within_80_columns(
    cli_store: Path,
) -> None:
    case_id = _seeded()
    shown = _show(case_id)
    lines = shown.splitlines()
    for path, text in WRITTEN:
        heading = next(
            i for i, line in enumerate(lines) if line.startswith(label("person_field", path))
        )
        assert "JST" in lines[heading]
        assert text in [line.strip() for line in lines[heading + 1 : heading + 3]]
    assert "戸畑区 保護課〔他機関へつないだ〕" in shown
    assert all(cell_len(line) <= 80 for line in lines)
    app = _open()
    try:
        (record,) = access_log(app, case_id=str(case_id))
    finally:
        app.close()
    assert {path for path, _ in WRITTEN} <= set(record.fields)
    assert "person.name" in record.fields


def test_case_show_as_json_gives_the_narratives(cli_store: Path) -> None:
    case_id = _seeded()
    shown = json.loads(_show(case_id, "--format", "json"))
    assert [(n["path"], n["text"]) for n in shown["notes"]] == WRITTEN
    assert shown["notes"][0]["written_at"].endswith("+09:00")


def test_an_erased_case_shows_no_narrative_and_records_no_read(cli_store: Path) -> None:
    case_id = _seeded()
    app = _open()
    try:
        app.erase_person(
            case_id,
            decided_by="試験 保健福祉局",
            reason="保存期間満了",
            actor=Actor("admin-試験", Role.administrator),
        )
    finally:
        app.close()
    shown = _show(case_id)
    assert all(text not in shown for _, text in WRITTEN) and "事案の記録" not in shown
    app = _open()
    try:
        assert access_log(app, case_id=str(case_id)) == []
    finally:
        app.close()


def test_case_show_without_person_prints_no_narrative(cli_store: Path) -> None:
    case_id = _seeded()
    result = runner.invoke(cli, ["case", "show", str(case_id)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert all(text not in result.stdout for _, text in WRITTEN)
