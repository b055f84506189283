"""SQLite's write lock taken by short, even polls instead of its busy handler's sleeps.

Two processes write the log's SQLite file all the time: the hub (commands) and the relay
(its position, ledger and state). When one finds the lock taken, SQLite's busy handler
sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, so a writer that missed the lock a few
times sleeps through the moments it is free: in the end-to-end run the relay waited up to
55 ms for a lock the hub never held for more than 9 ms (BENCHMARKS.md, end to end). Here
the transaction's first statement is a write that changes nothing, tried with the busy
handler off and again every ``STEP_S``, for as long as the connection's busy timeout
allows; then the handler is put back. What the lock guards is unchanged: SQLite decides
who writes, this only asks again sooner.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

STEP_S = 0.00025  # between two tries: what a waiter adds at most after the lock is free


def take_write_lock(
    cursor: Any, table: str, *, sleep: Callable[[float], None] | None = None
) -> None:
    """Takes the write lock for the transaction ``cursor`` has begun (deferred, nothing
    read in it yet) by a write to ``table`` that changes no row. Raises SQLite's
    ``OperationalError`` ("database is locked") once the connection's busy timeout has
    passed, as a write waiting in SQLite would, and at once for a transaction whose
    snapshot is already stale (it could never write)."""
    raw = getattr(cursor, "sqlite_cursor", cursor)  # the library's wrapper, or sqlite3's
    connection: sqlite3.Connection = raw.connection
    timeout_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
    deadline = time.monotonic() + timeout_ms / 1000
    statement = f"DELETE FROM {table} WHERE 0"  # a write: the lock, no row changed
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                raw.execute(statement)
                return
            except sqlite3.OperationalError as error:
                if not _worth_waiting(error) or time.monotonic() >= deadline:
                    raise
            (sleep or time.sleep)(STEP_S)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {timeout_ms}")


def _worth_waiting(error: sqlite3.OperationalError) -> bool:
    """SQLite's busy codes that its own handler waits out: the lock held (SQLITE_BUSY), a
    connection rebuilding the log's index after a crash (SQLITE_BUSY_RECOVERY); never a
    stale snapshot (SQLITE_BUSY_SNAPSHOT), which no wait makes writable."""
    code = getattr(error, "sqlite_errorcode", None)
    return (
        code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
        and code != sqlite3.SQLITE_BUSY_SNAPSHOT
    )
