"""``hub network partners``: the registered 協力事業者 and 地域の拠点 as the contractor's forms
and GET /partners list them: Japanese first, JST, 80 columns, ``--json`` with labels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from hub.settings import get_settings
from ops.cli.main import app as cli


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    monkeypatch.setenv("COLUMNS", "80")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def hub(*args: str, given: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=given)


def register(command_type: str, **fields: Any) -> None:
    command = {
        "type": command_type,
        "command_id": str(uuid4()),
        "occurred_at": "2025-05-01T00:30:00Z",  # 09:30 JST
        **fields,
    }
    done = hub("command", "-", given=json.dumps(command, ensure_ascii=False))
    assert done.exit_code == 0, done.output


def test_partners_are_listed_by_type_ward_and_name_in_80_columns(store: Path) -> None:
    empty = hub("network", "partners")
    assert empty.exit_code == 0 and "登録なし" in empty.output
    long_name = "試験商店（架空）とても長い名前の協力事業者株式会社"
    register("RegisterCooperatingBusiness", name=long_name, kind="飲食", ward="tobata")
    register("RegisterCooperatingBusiness", name="架空運送", kind="運送")
    register("RegisterCommunityBase", name="架空の場", kind="salon", ward="moji")
    table = hub("network", "partners")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert max(cell_len(line) for line in lines) <= 80  # a kanji takes two columns
    assert "協力事業者 2 者・地域の拠点 1 か所" in lines[0]
    assert table.output.index("架空運送") < table.output.index("試験商店")  # the whole city first
    assert table.output.index("試験商店") < table.output.index("架空の場")  # bases after
    assert "市内全域" in table.output and "2025-05-01 09:30 JST" in table.output
    assert "架空の場（サロン）" in table.output  # a base's kind by its label

    shown = json.loads(hub("network", "partners", "--json").output)
    assert [(r["partner_type"], r["ward"], r["ward_label"]) for r in shown] == [
        ("business", None, "市内全域"),
        ("business", "tobata", "戸畑区"),
        ("base", "moji", "門司区"),
    ]
    assert shown[2]["kind_label"] == "サロン" and shown[2]["partner_type_label"] == "地域の拠点"
    assert shown[0]["registered_at"] == "2025-05-01T09:30:00+09:00"
    register("WithdrawCooperatingBusiness", business_id=shown[0]["partner_id"])
    ended = hub("network", "partners")
    assert "退会 2025-05-01 09:30 JST" in ended.output  # below when it was registered
    assert json.loads(hub("network", "partners", "--json").output)[0]["ended_at"] == (
        "2025-05-01T09:30:00+09:00"
    )
    wide = hub("network", "partners", "--wide")
    assert shown[0]["partner_id"] in wide.output  # whole ids; short ones otherwise
    assert shown[0]["partner_id"] not in table.output


def test_the_heading_counts_those_still_in_the_network(store: Path) -> None:
    """A business that left is listed with its end, but counted apart: the heading said
    「協力事業者 2 者」 of one in the network and one gone, where /web/network's heading and
    table ④ count 1."""
    stays, leaves = str(uuid4()), str(uuid4())
    register("RegisterCooperatingBusiness", business_id=stays, name="架空運送", kind="運送")
    register("RegisterCooperatingBusiness", business_id=leaves, name="架空食堂", kind="飲食")
    register("WithdrawCooperatingBusiness", business_id=leaves)
    table = hub("network", "partners")
    assert table.exit_code == 0, table.output
    first = table.output.splitlines()[0]
    assert "協力事業者 1 者・地域の拠点 0 か所（ほかに退会・閉鎖 1）" in first
    assert "架空食堂" in table.output and "退会" in table.output
