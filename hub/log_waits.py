"""Waiting for the log of record to grow: woken by a commit, not by the next tick of a clock.

A follower of the log (the relay) that has read to the end waits here until another
process may have written more. On PostgreSQL the library sends ``NOTIFY`` on the events
table's channel in every insert's transaction (``PostgresApplicationRecorder``), so a
``LISTEN`` wakes the follower when the transaction commits; on SQLite, which has no
notifications between processes, ``PRAGMA data_version`` (a counter kept in the file's
shared memory, changed by every commit of another connection) is read every few
milliseconds, which costs no read of the log. Either way ``timeout`` still bounds the
wait: a wake-up lost (PostgreSQL restarted, the listening connection gone) is found by
the read after it, as before.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any, Protocol

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql

from hub.logging import get_logger

log = get_logger(__name__)

# How often SQLite's data_version is read while waiting: the latency it adds at most.
SQLITE_CHECK_S = 0.005


class LogWait(Protocol):
    def wait(self, stop: threading.Event, timeout: float) -> None:
        """Returns when the log may have grown, when ``stop`` is set or after ``timeout``."""
        ...

    def close(self) -> None: ...


class TimedWait:
    """The clock alone (a log in memory, no other process writing)."""

    def wait(self, stop: threading.Event, timeout: float) -> None:
        stop.wait(timeout)

    def close(self) -> None:
        pass


class SQLiteCommits:
    """Wakes when another connection has committed to the SQLite file."""

    def __init__(self, db_name: str, check_s: float = SQLITE_CHECK_S) -> None:
        self._connection = sqlite3.connect(
            db_name, uri=True, isolation_level=None, check_same_thread=False
        )
        self._check_s = check_s
        self._seen = self._version()

    def _version(self) -> int:
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, stop: threading.Event, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            version = self._version()
            if version != self._seen:
                self._seen = version
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            stop.wait(min(self._check_s, left))

    def close(self) -> None:
        self._connection.close()


class PostgresNotifies:
    """Wakes on the ``NOTIFY`` the library sends with every insert into the events table."""

    # How often a wait looks at ``stop`` while no notification comes.
    STOP_CHECK_S = 0.1

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        pool: Any = recorder.datastore.pool
        self._connect_kwargs = {k: v for k, v in pool.kwargs.items() if k != "row_factory"}
        self._conninfo = pool.conninfo
        self._listen = sql.SQL("LISTEN {0}").format(sql.Identifier(recorder.channel_name))
        self._connection: psycopg.Connection[Any] | None = None

    def _listening(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            connection = psycopg.connect(self._conninfo, autocommit=True, **self._connect_kwargs)
            connection.execute(self._listen)
            self._connection = connection
        return self._connection

    def wait(self, stop: threading.Event, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            connection = self._listening()
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                for _ in connection.notifies(timeout=min(self.STOP_CHECK_S, left), stop_after=1):
                    return
        except psycopg.Error as error:
            # Listening again at the next wait; until then the clock bounds this one.
            log.warning("log_wait.listen_failed", error=type(error).__name__)
            self.close()
            stop.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def log_wait(recorder: object) -> LogWait:
    """The way to wait for commits to the log ``recorder`` writes."""
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresNotifies(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        pool: Any = recorder.datastore.pool
        if not pool.is_sqlite_memory_mode:
            return SQLiteCommits(pool.db_name)
    return TimedWait()
