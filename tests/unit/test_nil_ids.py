"""The nil UUID (all zeros) names nothing: refused as an id wherever ids enter, naming the
field. A client that sent it for every new thing opened one case with it, then met 409s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub import commands as c
from hub.errors import InvalidCommandError
from hub.identity import Role
from hub.intake import parse_command_text
from hub.settings import Settings
from ops.cli.main import app as cli
from ops.identity import dev_issuer
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import hub

__all__ = ["hub"]  # the fixture

NIL = "00000000-0000-0000-0000-000000000000"
runner = CliRunner()


def _with(command: c.Command, **fields: Any) -> str:
    return json.dumps({**json.loads(command.model_dump_json()), **fields}, ensure_ascii=False)


@pytest.mark.parametrize("field", ["case_id", "command_id"])
def test_a_command_naming_the_nil_uuid_is_refused_by_its_field(field: str) -> None:
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(_with(f.open_case(), **{field: NIL}))
    assert str(refused.value).startswith(f"{field}: is the nil UUID"), refused.value


def test_a_list_of_ids_refuses_the_nil_uuid_among_them() -> None:
    meeting = f.build(
        c.HoldMeeting, kind="connection", members=["tobata.hogo"], case_ids=[f.open_case().case_id]
    )
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(_with(meeting, case_ids=[NIL]))
    assert str(refused.value).startswith("case_ids.0: is the nil UUID"), refused.value


def _signed(tmp_path: Path) -> dict[str, str]:
    settings = Settings(mode="development", var_dir=tmp_path)
    claims = dev_issuer.claims_for(
        settings, subject="officer-試験", role=Role.ward_officer, ward="tobata"
    )
    return {"Authorization": f"Bearer {dev_issuer.sign(dev_issuer.signing_key(settings), claims)}"}


def _problem(answered: Any, field: str) -> None:
    assert answered.status_code == 422, answered.text[:300]
    assert answered.headers["content-type"] == "application/problem+json"
    problem = answered.json()
    assert problem["error"] == "InvalidCommandError"
    assert [e["field"] for e in problem["errors"]] == [field], problem
    assert problem["errors"][0]["message"].startswith("is the nil UUID"), problem


def test_the_api_refuses_the_nil_uuid_in_a_path_a_body_and_the_idempotency_key(
    hub: tuple[HubService, TestClient], tmp_path: Path
) -> None:
    _, client = hub
    headers = _signed(tmp_path)

    _problem(client.get(f"/cases/{NIL}", headers=headers), "case_id")
    body = json.loads(_with(f.open_case(), case_id=NIL))
    body = {k: v for k, v in body.items() if k not in ("type", "command_id")}
    sent = client.post("/commands/OpenCase", json=body, headers={**headers, "Idempotency-Key": NIL})
    _problem(sent, "Idempotency-Key")
    keyed = {**headers, "Idempotency-Key": "3f2a9c1e-0000-4000-8000-000000000001"}
    _problem(client.post("/commands/OpenCase", json=body, headers=keyed), "case_id")


def test_the_cli_refuses_the_nil_uuid_as_a_case_in_one_line(cli_store: Path) -> None:
    result = runner.invoke(cli, ["case", "show", NIL])

    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: case: is the nil UUID"), line


def test_hub_submit_refuses_a_line_naming_the_nil_uuid_and_writes_the_others(
    cli_store: Path,
) -> None:
    commands = cli_store / "commands.jsonl"
    good = f.open_case()
    commands.write_text(
        f"{good.model_dump_json()}\n{_with(f.open_case(), case_id=NIL)}\n", encoding="utf-8"
    )

    result = runner.invoke(cli, ["submit", str(commands)])

    assert result.exit_code == 1, result.output
    assert "2 lines: 1 written" in result.stdout
    assert result.stderr.startswith("line 2: case_id: is the nil UUID"), result.stderr


def test_the_schemas_say_an_id_is_not_the_nil_uuid() -> None:
    """A client written from `hub schema commands` or /openapi.json alone learns the rule."""
    from hub.commands import commands_json_schema
    from ops.api.openapi import document

    opened = commands_json_schema()["$defs"]["ReferCase"]["properties"]["case_id"]
    assert opened["not"] == {"const": NIL}
    (path,) = document()["paths"]["/cases/{case_id}"]["get"]["parameters"][:1]
    assert path["schema"]["not"] == {"const": NIL}
