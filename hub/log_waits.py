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
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql

from hub.logging import get_logger

log = get_logger(__name__)

# How often SQLite's data_version is read while waiting: the latency it adds at most.
SQLITE_CHECK_S = 0.005
# A PostgreSQL listener that cannot reach the server gives up soon (psycopg's default is
# 130 s), and one whose server vanished without a word is found by TCP keepalives.
LISTENER_CONNECT: Mapping[str, int] = MappingProxyType(
    {
        "connect_timeout": 2,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
)


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
        try:
            while not stop.is_set():
                version = self._version()
                if version != self._seen:
                    self._seen = version
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                stop.wait(min(self._check_s, left))
        except sqlite3.Error as error:  # the file locked past its timeout, or gone: the clock
            log.warning("log_wait.version_unread", error=type(error).__name__)
            stop.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._connection.close()


class PostgresNotifies:
    """Wakes on the ``NOTIFY`` the library sends with every insert into the events table.

    It listens from its construction, before the follower's first read; a wait that had to
    listen anew (the connection was lost) returns at once, since what was committed while
    nobody listened was heard by no one: the caller reads again."""

    # How often a wait looks at ``stop`` while no notification comes.
    STOP_CHECK_S = 0.1

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self._pool: Any = recorder.datastore.pool
        self._listen = sql.SQL("LISTEN {0}").format(sql.Identifier(recorder.channel_name))
        self._connection: psycopg.Connection[Any] | None = None
        try:
            self._listening()
        except psycopg.Error as error:
            self._failed(error)

    def _listening(self) -> bool:
        """Whether a connection was opened (and listens) now."""
        if self._connection is not None and not self._connection.closed:
            return False
        # The pool's arguments as of now (the library refreshes the password in them).
        arguments = {k: v for k, v in self._pool.kwargs.items() if k != "row_factory"}
        connection = psycopg.connect(
            self._pool.conninfo, autocommit=True, **{**arguments, **LISTENER_CONNECT}
        )
        try:
            connection.execute(self._listen)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return True

    def _failed(self, error: psycopg.Error) -> None:
        log.warning("log_wait.listen_failed", error=type(error).__name__)
        self.close()

    def wait(self, stop: threading.Event, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            if self._listening():
                return
            connection = self._connection
            assert connection is not None
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                for _ in connection.notifies(timeout=min(self.STOP_CHECK_S, left), stop_after=1):
                    return
        except psycopg.Error as error:
            # Listening again at the next wait; until then the clock bounds this one.
            self._failed(error)
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
