"""The write lock taken by short polls: it is SQLite's lock, waited for in even steps."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub import sqlitelock
from hub.application import HubApplication
from hub.settings import Settings
from hub.sqlitelock import STEP_S, take_write_lock
from ops.wiring import open_ledger
from tests import factories as f


def _connect(path: Path, timeout_s: float = 10.0) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=timeout_s, check_same_thread=False)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "log.sqlite"
    setup = _connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE head (id INTEGER PRIMARY KEY, upto INTEGER)")
    setup.execute("INSERT INTO head VALUES (1, 0)")
    setup.close()
    yield path


def test_it_holds_the_write_lock_and_changes_no_row(db: Path) -> None:
    mine, other = _connect(db), _connect(db, timeout_s=0)
    mine.execute("BEGIN")
    take_write_lock(mine.cursor(), "head")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("INSERT INTO head VALUES (2, 0)")
    mine.execute("COMMIT")
    assert other.execute("SELECT id, upto FROM head").fetchall() == [(1, 0)]


def test_a_held_lock_is_asked_for_again_every_step_until_it_is_free(db: Path) -> None:
    holder, mine = _connect(db), _connect(db)
    holder.execute("BEGIN")
    holder.execute("UPDATE head SET upto = 7")
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the holder commits while the third wait runs
        slept.append(seconds)
        if len(slept) == 3:
            holder.execute("COMMIT")

    mine.execute("BEGIN")
    take_write_lock(mine.cursor(), "head", sleep=sleep)
    mine.execute("UPDATE head SET upto = upto + 1")
    mine.execute("COMMIT")
    assert slept == [STEP_S] * 3  # never SQLite's longer sleeps, which would not call this
    assert mine.execute("SELECT upto FROM head").fetchone() == (8,)  # after the holder's 7
    assert mine.execute("PRAGMA busy_timeout").fetchone() == (10_000,)  # put back


def test_it_gives_up_after_the_connections_busy_timeout(db: Path) -> None:
    holder, mine = _connect(db), _connect(db, timeout_s=0.05)
    holder.execute("BEGIN")
    holder.execute("UPDATE head SET upto = 7")
    mine.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        take_write_lock(mine.cursor(), "head")
    assert mine.execute("PRAGMA busy_timeout").fetchone() == (50,)
    mine.execute("ROLLBACK")
    holder.execute("COMMIT")


def test_a_stale_snapshot_is_refused_at_once_not_waited_on(db: Path) -> None:
    """A transaction that read before another's commit can never write: no retry helps."""
    writer, mine = _connect(db), _connect(db)
    mine.execute("BEGIN")
    mine.execute("SELECT upto FROM head").fetchone()
    writer.execute("UPDATE head SET upto = 7")
    slept: list[float] = []
    with pytest.raises(sqlite3.OperationalError) as refused:
        take_write_lock(mine.cursor(), "head", sleep=slept.append)
    assert refused.value.sqlite_errorname == "SQLITE_BUSY_SNAPSHOT"
    assert slept == []
    mine.execute("ROLLBACK")


def test_a_connection_recovering_the_log_is_waited_for_as_a_held_lock_is(db: Path) -> None:
    """SQLITE_BUSY_RECOVERY (another connection rebuilding the log's index after a crash)
    is a busy code SQLite's own handler waits out: so does this."""
    connection = _connect(db)
    tries: list[str] = []

    def execute(statement: str) -> None:
        tries.append(statement)
        if len(tries) == 1:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY_RECOVERY  # type: ignore[attr-defined]
            error.sqlite_errorname = "SQLITE_BUSY_RECOVERY"  # type: ignore[attr-defined]
            raise error

    slept: list[float] = []
    take_write_lock(
        SimpleNamespace(connection=connection, execute=execute), "head", sleep=slept.append
    )
    assert len(tries) == 2 and slept == [STEP_S]


def test_another_error_is_raised_as_it_is(db: Path) -> None:
    mine = _connect(db)
    mine.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        take_write_lock(mine.cursor(), "missing")
    mine.execute("ROLLBACK")


def test_the_hub_the_relay_and_an_erasure_wait_for_the_log_file_in_short_polls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writers of the log's file ask again every step, not in SQLite's sleeps: each
    write below finds the lock held and waits exactly one step, during which the holder
    lets it go."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    ledger = open_ledger(settings)
    case = f.open_case()
    app.execute(case)
    holder = _connect(settings.sqlite_path)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        holder.execute("COMMIT")

    monkeypatch.setattr(sqlitelock, "time", SimpleNamespace(sleep=sleep, monotonic=time.monotonic))
    writes: dict[str, Callable[[], object]] = {
        "a command": lambda: app.execute(f.assessment(case.case_id)),
        "the relay's position": lambda: ledger.record(1, []),
        "a data key destroyed": lambda: app.data_keys.destroy(str(case.case_id)),
    }
    try:
        for name, write in writes.items():
            holder.execute("BEGIN IMMEDIATE")
            write()
            assert waits == [STEP_S], name
            waits.clear()
    finally:
        holder.close()
        app.close()
    assert ledger.position() == 1


def test_a_process_opens_the_store_while_another_commits_between_its_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay and the commands commit all the time: a process starting beside them
    (``hub replies run``) runs the store's create statements, and another commit lands
    between two of them. It opens the store all the same (it was refused at once:
    "database is locked", a write after a stale read in one transaction)."""
    from eventsourcing import sqlite as library

    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    HubApplication(env=settings.eventsourcing_env()).close()  # the store exists
    other = _connect(settings.sqlite_path)
    other.execute("CREATE TABLE elsewhere (n INTEGER)")
    execute = library.SQLiteCursor.execute

    def execute_then_another_commits(self: Any, statement: str, *args: Any) -> None:
        execute(self, statement, *args)
        if statement.lstrip().upper().startswith("CREATE"):
            other.execute("INSERT INTO elsewhere VALUES (1)")

    monkeypatch.setattr(library.SQLiteCursor, "execute", execute_then_another_commits)
    try:
        HubApplication(env=settings.eventsourcing_env()).close()
    finally:
        other.close()
