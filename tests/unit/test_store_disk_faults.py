"""The machine's faults under the hub's SQLite files (a full disk, a read-only mount, a file
that is no store) are one `Error:` line naming the fault, exit 4, never a traceback or a hint
to start PostgreSQL; a store whose files are already private is opened without writing their
modes, so a copy on read-only media can be read."""

from __future__ import annotations

import errno
import sqlite3
import stat
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError
from typer.testing import CliRunner

from hub.errors import StoreUnavailableError, store_failure
from hub.files import private_dir, private_file, private_sqlite
from ops import wiring
from ops.cli.main import app as cli

runner = CliRunner()


def _readonly_error(tmp_path: Path) -> sqlite3.OperationalError:
    path = tmp_path / "ro.sqlite"
    sqlite3.connect(path).execute("create table t (x)").connection.commit()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        reader.execute("insert into t values (1)")
    except sqlite3.OperationalError as error:
        return error
    finally:
        reader.close()
    raise AssertionError("a read-only connection wrote")


def test_a_store_failure_names_sqlites_code_and_its_meaning(tmp_path: Path) -> None:
    cause = _readonly_error(tmp_path)
    try:
        raise OperationalError("attempt to write a readonly database") from cause
    except OperationalError as wrapped:
        named = store_failure(wrapped)
    assert named == "OperationalError: SQLITE_READONLY, the store or its folder is read-only"
    assert store_failure(ValueError("試験 太郎")) == "ValueError"  # never the message


def test_a_file_that_is_no_store_is_one_line_exit_4(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    store = cli_store / "hub.sqlite"
    store.write_bytes(b"\x00not a database\x00" * 512)
    store.chmod(0o600)
    for args in (["case", "list"], ["follow"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 4, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line == (
            "Error: a SQLite file of the hub cannot be used "
            "(DatabaseError: SQLITE_NOTADB, the file is not a SQLite store)"
        )


def test_a_file_that_is_no_store_keeps_its_mode(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HUB_SQLITE_PATH naming another program's file by mistake (a certificate a web server
    reads) made it 0600 before SQLite refused it: the hub locked the others out of it."""
    monkeypatch.setenv("HUB_MODE", "development")
    store = cli_store / "hub.sqlite"
    store.write_text("-----BEGIN CERTIFICATE-----\n試験\n-----END CERTIFICATE-----\n")
    store.chmod(0o644)
    for args in (["case", "list"], ["audit", "verify-log", "--no-witness"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 4, result.output
        assert "SQLITE_NOTADB" in result.stderr
        assert stat.S_IMODE(store.stat().st_mode) == 0o644


def test_a_read_only_sqlite_store_is_named_without_a_postgres_hint(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    cause = _readonly_error(cli_store)

    def refuse(*_: object, **__: object) -> None:
        raise OperationalError("attempt to write a readonly database") from cause

    monkeypatch.setattr(wiring, "HubApplication", refuse)
    result = runner.invoke(cli, ["case", "list"])
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"Error: the sqlite event store {cli_store / 'hub.sqlite'} is unavailable "
        "(OperationalError: SQLITE_READONLY, the store or its folder is read-only)"
    )


def _read_only_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *_: object, **__: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "chmod", refuse)
    monkeypatch.setattr(Path, "mkdir", refuse)


def test_what_is_already_private_is_not_written_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = private_dir(tmp_path / "var")
    store = private_file(folder / "hub.sqlite")
    _read_only_disk(monkeypatch)
    assert private_dir(folder, tighten=True) == folder
    assert private_file(store) == store


def test_a_store_loses_group_and_others_bits_and_its_owner_gains_none(tmp_path: Path) -> None:
    """A backup its owner made read-only stays so when `hub audit verify-log` opens it; a
    file the hub writes (a configuration, a report) is made 0600 whatever it was."""
    folder = private_dir(tmp_path / "var")
    for before, after in ((0o400, 0o400), (0o644, 0o600), (0o666, 0o600), (0o600, 0o600)):
        path = folder / f"{before:o}.sqlite"
        path.write_bytes(b"")
        path.chmod(before)
        private_sqlite(path)
        assert stat.S_IMODE(path.stat().st_mode) == after, f"{before:o}"
        path.chmod(before)
        private_file(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{before:o}"


def test_a_read_only_var_folder_is_one_line_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HUB_SQLITE_PATH", raising=False)
    (tmp_path / "loose").mkdir(mode=0o755)
    _read_only_disk(monkeypatch)
    with pytest.raises(StoreUnavailableError, match="cannot be made private"):
        private_dir(tmp_path / "loose", tighten=True)
    from hub.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["case", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"Error: the hub's folder {tmp_path / 'var'} cannot be created (Read-only file system)"
    )


def test_a_store_path_that_names_a_folder_leaves_its_mode_alone(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HUB_SQLITE_PATH naming a folder (the current one, /) was made 0600 before SQLite
    refused it, locking its owner out of it; a device (/dev/full) went 0600 too."""
    monkeypatch.setenv("HUB_MODE", "development")
    folder = cli_store / "a-folder"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    monkeypatch.setenv("HUB_SQLITE_PATH", str(folder))
    result = runner.invoke(cli, ["case", "list"])
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"Error: the hub's file {folder} is not a regular file"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_a_var_folder_that_names_a_file_leaves_its_mode_alone(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.delenv("HUB_SQLITE_PATH")
    file = cli_store / "a-file"
    file.write_text("試験\n")
    file.chmod(0o644)
    monkeypatch.setenv("HUB_VAR_DIR", str(file))
    result = runner.invoke(cli, ["case", "list"])
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"Error: the hub's folder {file} is a file, not a folder"
    assert stat.S_IMODE(file.stat().st_mode) == 0o644


@pytest.mark.parametrize(
    "variable", ["HUB_SQLITE_PATH", "HUB_VAR_DIR", "HUB_AGENCY_INBOX_PATH", "HUB_KAFKA_SSL_CAFILE"]
)
def test_an_empty_path_setting_is_refused_not_read_as_the_current_folder(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """``Path("")`` is ".": HUB_SQLITE_PATH= made the folder the hub ran in 0600 and ended
    in a traceback; HUB_VAR_DIR= filled it with a store and keys and made it 0700."""
    from consumers.config import get_consumer_settings

    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv(variable, " ")
    monkeypatch.chdir(cli_store)
    cli_store.chmod(0o755)
    get_consumer_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["agency", "inbox", "--agency", "tobata.hogo"])
        if variable in ("HUB_SQLITE_PATH", "HUB_VAR_DIR"):
            result = runner.invoke(cli, ["case", "list"])
    finally:
        get_consumer_settings.cache_clear()
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"Error: invalid settings: {variable}: an empty path names no file or folder "
        "(unset it for the default)"
    )
    assert stat.S_IMODE(cli_store.stat().st_mode) == 0o755
