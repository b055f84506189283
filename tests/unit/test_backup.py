"""`hub backup FILE`: the SQLite log of record copied while the hub runs (what is still in
the write-ahead log included, which `cp` of the file misses), 0600, its chain checked."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.settings import get_settings
from ops.cli.main import app as cli
from ops.wiring import open_application
from tests import factories as f

runner = CliRunner()


def _events(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def _a_case() -> None:
    """One case with a person's details, in the store the settings name."""
    app = open_application(get_settings())
    try:
        app.execute(f.open_case(ward="moji", person=f.person()))
    finally:
        app.close()


def test_a_backup_taken_while_the_hub_writes_holds_every_event_and_is_private(
    cli_store: Path,
) -> None:
    app = open_application(get_settings())
    try:
        for _ in range(3):
            app.execute(f.open_case(ward="moji", person=f.person()))
        live = app.recorder.max_notification_id()
        target = cli_store / "backup" / "hub-試験.sqlite"
        target.parent.mkdir()
        made = runner.invoke(cli, ["backup", str(target)])  # the application still open
    finally:
        app.close()
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _events(target) == live and "chain intact" in made.output
    again = runner.invoke(cli, ["backup", str(target)])
    assert again.exit_code == 2 and "never overwrites" in again.stderr


def test_a_target_under_a_file_or_that_is_a_folder_is_the_callers_slip(cli_store: Path) -> None:
    """Under a file it was exit 4 ("the hub's folder … is a file"), as if the machine were at
    fault; a folder named for the copy said it exists. A folder not there is made."""
    open_application(get_settings()).close()
    for target, said in (
        (cli_store / "hub.sqlite" / "copy.sqlite", "hub.sqlite' is a file, not a folder"),
        (cli_store, "is a folder, not a file"),
    ):
        refused = runner.invoke(cli, ["backup", str(target)])
        assert refused.exit_code == 2, refused.output
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("Error: FILE") and said in line, line
    made = runner.invoke(cli, ["backup", str(cli_store / "new-folder" / "copy.sqlite")])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE((cli_store / "new-folder").stat().st_mode) == 0o700


def test_a_postgres_store_is_sent_to_its_own_tools(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_STORE", "postgres")
    get_settings.cache_clear()
    refused = runner.invoke(cli, ["backup", str(cli_store / "copy.sqlite")])
    get_settings.cache_clear()
    assert refused.exit_code == 2 and "pg_dump" in refused.stderr
    assert not (cli_store / "copy.sqlite").exists()


def test_a_copy_whose_chain_does_not_verify_is_said_so_and_not_left(cli_store: Path) -> None:
    """Left under a backup's name, it was a copy someone would restore one day."""
    _a_case()
    with closing(sqlite3.connect(get_settings().sqlite_file)) as db:  # rewritten below the hub
        db.execute("UPDATE stored_events SET state = X'00' WHERE rowid = 2")
        db.commit()
    made = runner.invoke(cli, ["backup", str(cli_store / "copy.sqlite")])
    assert made.exit_code == 1, made.output
    assert made.stderr.startswith("Error: the copy ") and "does not verify" in made.stderr
    assert "it was removed" in made.stderr
    assert not (cli_store / "copy.sqlite").exists()


def test_production_secrets_are_refused_before_a_copy_of_the_store_exists(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy was made, then the chain's check refused the public secrets and left it:
    a full copy of the log, made by a command that said it refused to start."""
    _a_case()
    monkeypatch.setenv("HUB_MODE", "production")
    get_settings.cache_clear()
    try:
        refused = runner.invoke(cli, ["backup", str(cli_store / "copy.sqlite")])
    finally:
        get_settings.cache_clear()
    assert refused.exit_code == 1, refused.output
    assert "refusing to start in production mode" in refused.stderr
    assert not (cli_store / "copy.sqlite").exists()


def test_a_backup_of_a_log_begun_before_sealing_says_its_details_are_in_clear(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release before sealing wrote the details in plain (as an unsealed store writes
    them): the copy of such a log was said to read only with HUB_KEK, which protects none
    of those events."""
    monkeypatch.setenv("HUB_SEAL_PERSONAL", "false")
    get_settings.cache_clear()
    _a_case()
    monkeypatch.setenv("HUB_SEAL_PERSONAL", "true")
    get_settings.cache_clear()
    _a_case()  # sealed from now on
    made = runner.invoke(cli, ["backup", str(cli_store / "old.sqlite")])
    assert made.exit_code == 0, made.output
    assert "in plain (stored before sealing) are in clear" in made.output
    assert "HUB_KEK" not in made.output


def test_a_backup_of_a_sealed_log_says_to_keep_the_kek_apart(cli_store: Path) -> None:
    _a_case()
    made = runner.invoke(cli, ["backup", str(cli_store / "sealed.sqlite")])
    assert made.exit_code == 0, made.output
    assert "keep HUB_KEK apart" in made.output and "in clear" not in made.output
