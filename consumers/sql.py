"""A thin connection to the agency's local database: SQLite by default, PostgreSQL if asked.

Statements are written once with ``?`` placeholders and the names ``table`` gives;
``hub.sqldialect`` spells both for the store. Each ``transaction`` commits all or nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from hub.errors import (
    ConfigurationError,
    PasswordRefusedError,
    ServiceUnavailableError,
    database_missing,
    password_refused,
)
from hub.files import private_sqlite
from hub.settings import Settings, postgres_hint
from hub.sqldialect import Dialect


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class Database(Protocol):
    def transaction(self) -> Any:
        """A context manager giving a ``Cursor``; commits on success, rolls back on error."""
        ...

    def table(self, name: str) -> str: ...

    def scrub(self) -> None:
        """Leaves no copy of content just overwritten in the store's files (an erasure)."""
        ...

    def hold_writers(self, cur: Cursor, table: str) -> None:
        """Until this transaction ends, no other writes ``table``, and none still writing it
        when it began is left unseen by its next statements."""
        ...

    def close(self) -> None: ...


class _Cursor:
    """A driver's cursor (or SQLite connection) speaking the dialect's SQL."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._run(sql, params).rowcount)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._run(sql, params).fetchall())

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        # sqlite3's connection and psycopg's cursor both return a cursor from ``execute``.
        return self._cursor.execute(self._dialect.sql(sql), tuple(params))


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        private_sqlite(path)  # an inbox holds personal data: 0600, its folder 0700
        self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        # Overwritten and deleted content is zeroed, not left in the pages' free space.
        self._conn.execute("PRAGMA secure_delete=ON")
        self._dialect = Dialect.sqlite()

    def table(self, name: str) -> str:
        return self._dialect.table(name)

    def scrub(self) -> None:
        # The pages as they were before stay frames of the -wal file until a checkpoint.
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def hold_writers(self, cur: Cursor, table: str) -> None:
        return None  # BEGIN IMMEDIATE took the file's one write lock: writers wait already

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        # Inside another transaction a savepoint: its work goes or stays as one, and the
        # outer transaction commits it (as psycopg nests ``transaction``).
        begin, rollback, commit = (
            ("SAVEPOINT inner", "ROLLBACK TO inner; RELEASE inner", "RELEASE inner")
            if self._conn.in_transaction
            else ("BEGIN IMMEDIATE", "ROLLBACK", "COMMIT")
        )
        self._conn.execute(begin)
        try:
            yield _Cursor(self._conn, self._dialect)
        except BaseException:
            for statement in rollback.split("; "):
                self._conn.execute(statement)
            raise
        self._conn.execute(commit)

    def close(self) -> None:
        self._conn.close()


class PostgresDatabase:
    def __init__(self, settings: Settings, schema: str) -> None:
        import psycopg

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise ConfigurationError(  # a setting to correct, not a service away (exit 4)
                f"HUB_AGENCY_INBOX_SCHEMA: not a usable PostgreSQL schema name: {schema!r} "
                "(a lower-case identifier, [a-z_][a-z0-9_]*)"
            )
        self._dialect = Dialect.postgres(schema)
        try:
            self._conn = psycopg.connect(
                **settings.postgres_connection(), connect_timeout=5, autocommit=True
            )
        except psycopg.OperationalError as error:
            where = f"{settings.postgres_host}:{settings.postgres_port}"
            if password_refused(error):  # a setting to correct, not a server to start
                raise PasswordRefusedError.of(
                    settings.postgres_user,
                    settings.postgres_host,
                    settings.postgres_port,
                    settings.postgres_dbname,
                ) from error
            if database_missing(error):
                raise ServiceUnavailableError(
                    f"PostgreSQL at {where} has no database {settings.postgres_dbname} for "
                    "the inbox: check HUB_POSTGRES_DBNAME"
                ) from error
            raise ServiceUnavailableError(
                f"PostgreSQL for the inbox is unavailable ({type(error).__name__}); "
                f"{postgres_hint(settings)}"
            ) from error
        with self.transaction() as cur:
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    def table(self, name: str) -> str:
        return self._dialect.table(name)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._conn.transaction(), self._conn.cursor() as cur:
            yield _Cursor(cur, self._dialect)

    def hold_writers(self, cur: Cursor, table: str) -> None:
        # Writers (ROW EXCLUSIVE) wait for this transaction, this one for those under way;
        # each statement after it reads what they committed (READ COMMITTED).
        cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")

    def scrub(self) -> None:
        return None  # dead row versions last until VACUUM, as for the hub (docs/PRIVACY.md)

    def close(self) -> None:
        self._conn.close()
