"""`hub privacy rotate-kek`: every person's data key wrapped with a new key-encryption key,
the sealed log unchanged; nothing half done by a wrong previous key; run again, nothing
wrapped twice. A store (and its backups) needed the one HUB_KEK for good before."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from pydantic import SecretStr
from typer.testing import CliRunner

from hub.errors import DataKeyUnavailableError
from hub.identity import Actor, Role
from hub.keys import SQLKeyTable
from hub.settings import Settings
from ops.cli.main import app as cli
from ops.wiring import application
from tests import factories as f

OLD = "試験の旧い鍵暗号化鍵-0123456789-abcdefghij"
NEW = "試験の新しい鍵暗号化鍵-9876543210-zyxwvutsrq"
ADMIN = Actor("admin-試験", Role.administrator)


def settings(cli_store: Path, kek: str) -> Settings:
    return Settings(
        mode="development",
        store="sqlite",
        sqlite_path=cli_store / "hub.sqlite",
        var_dir=cli_store / "var",
        kek=SecretStr(kek),
    )


def name_of(cli_store: Path, kek: str, case_id: object) -> str | None:
    with application(settings(cli_store, kek)) as app:
        person = app.get_case(case_id).person  # type: ignore[arg-type]
        return None if person is None else person.name


def rotate(monkeypatch: pytest.MonkeyPatch, new: str, previous: str | None) -> tuple[int, str]:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_KEK", new)
    if previous is None:
        monkeypatch.delenv("HUB_KEK_PREVIOUS", raising=False)
    else:
        monkeypatch.setenv("HUB_KEK_PREVIOUS", previous)
    from hub.settings import get_settings

    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli, ["privacy", "rotate-kek"])
    finally:
        get_settings.cache_clear()
    return done.exit_code, done.output


def test_the_data_keys_move_to_the_new_kek_and_the_old_reads_nothing(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with application(settings(cli_store, OLD)) as app:
        kept, erased, plain = (
            app.execute(f.consultation(person=f.person())).aggregate_ids[0] for _ in range(3)
        )
        app.erase_person(erased, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    code, said = rotate(monkeypatch, NEW, OLD)

    assert code == 0, said
    assert "2 data key(s) wrapped with the new HUB_KEK, 0 already, 1 erased" in said
    assert "ハブの全プロセスを新しい HUB_KEK で起動し直してください / start every" in said
    assert name_of(cli_store, NEW, kept) == f.SYNTHETIC_NAME
    assert name_of(cli_store, NEW, plain) == f.SYNTHETIC_NAME
    # The library wraps the refusal of the sealed event it reads.
    with pytest.raises((DataKeyUnavailableError, MapperDeserialisationError), match="unwrap"):
        name_of(cli_store, OLD, kept)
    # The events were not rewritten: the chain over their stored bytes still verifies.
    verified = CliRunner().invoke(cli, ["audit", "verify-log", "--no-witness"])
    assert verified.exit_code == 0, verified.output

    again = rotate(monkeypatch, NEW, OLD)
    assert again[0] == 0 and "0 data key(s) wrapped with the new HUB_KEK, 2 already" in again[1]


def test_a_wrong_previous_kek_changes_nothing(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with application(settings(cli_store, OLD)) as app:
        case_id = app.execute(f.consultation(person=f.person())).aggregate_ids[0]

    code, said = rotate(monkeypatch, NEW, "試験の違う鍵-0123456789-abcdefghijklmn")

    assert code != 0 and "unwraps with neither HUB_KEK_PREVIOUS nor HUB_KEK" in said
    assert "Traceback" not in said
    assert name_of(cli_store, OLD, case_id) == f.SYNTHETIC_NAME  # nothing half rotated


def test_a_rotation_needs_a_previous_kek_other_than_the_new(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = rotate(monkeypatch, NEW, None)
    assert missing[0] != 0 and "HUB_KEK_PREVIOUS is missing" in missing[1]
    same = rotate(monkeypatch, NEW, NEW)
    assert same[0] != 0 and "HUB_KEK_PREVIOUS is HUB_KEK" in same[1]


def test_a_process_left_running_with_the_previous_kek_makes_no_key_after_the_rotation(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its check of the key-encryption key was made once, before its first key: after the
    rotation it went on wrapping new people's keys with the previous key, which the new one
    does not unwrap, and every reader given the new key stopped at those people."""
    with application(settings(cli_store, OLD)) as running:
        running.execute(f.consultation(person=f.person()))  # checked, and a key made
        assert rotate(monkeypatch, NEW, OLD)[0] == 0
        with pytest.raises(DataKeyUnavailableError, match="rotated to another"):
            running.execute(f.consultation(person=f.person()))
    with application(settings(cli_store, NEW)) as restarted:
        case_id = restarted.execute(f.consultation(person=f.person())).aggregate_ids[0]
    assert name_of(cli_store, NEW, case_id) == f.SYNTHETIC_NAME
    again = rotate(monkeypatch, NEW, OLD)
    assert again[0] == 0 and "0 data key(s) wrapped with the new HUB_KEK, 2 already" in again[1]


def test_a_key_added_on_its_own_is_not_refused_by_another_writer_meanwhile(
    cli_store: Path,
) -> None:
    """A key added outside an insert of events (``SQLKeyTable.add``) reads the rotated-to
    key first: read before the write lock, a write of another process committed between
    that read and the insert left the transaction's snapshot stale, and SQLite refused the
    insert at once ("database is locked"), however short the other write."""
    with application(settings(cli_store, OLD)) as app:
        table = app.data_keys.table
        assert isinstance(table, SQLKeyTable)
        read = table.check_current
        others: list[str] = []

        def read_then_another_writes(curs: Any, kek_id: str) -> None:
            read(curs, kek_id)
            other = sqlite3.connect(cli_store / "hub.sqlite", timeout=0)
            try:
                other.execute(
                    f"INSERT INTO {table.name} (subject, kek_id, created_at) "
                    "VALUES ('他のプロセス', '-', '2026-12-06')"
                )
                other.commit()
                others.append("written")
            except sqlite3.OperationalError as error:  # it waits for this writer: right
                others.append(str(error))
            finally:
                other.close()

        table.check_current = read_then_another_writes  # type: ignore[method-assign]
        table.add("試験の人", b"wrapped", app.data_keys.wrapper.kek_id)
        assert table.get("試験の人") == (b"wrapped", True)
        assert others == ["database is locked"]
