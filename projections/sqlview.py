"""Materialised views as tracking recorders: each change and its tracking row in one transaction.

A view is written once, in SQL both stores understand (``hub.sqldialect``: tables as
``{name}``, named ``:params``), and mixed into the library's tracking recorder of each store:
``SQLiteTrackingRecorder`` (one file per projection, since the SQLite recorder's tracking
table has a fixed name) and ``PostgresTrackingRecorder`` (tables prefixed with the
projection's name, in the application's schema).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, LiteralString, cast

from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL

from hub.errors import OutdatedViewError
from hub.sqldialect import Dialect, quote

# The tracking row whose position is the version of the rules a view's rows were written by.
RULES = "hub.rules"


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


# Runs a SELECT (SQL as the view writes it) and returns its rows as tuples.
Fetch = Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]
Keys = Mapping[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]  # table → key columns, keys


class SqlView(TrackingRecorder):
    """The part of a view that does not depend on the store.

    Subclasses list their tables in ``TABLES`` (logical name → column definitions and
    constraints) and write SQL naming tables as ``{name}``.
    """

    TABLES: Mapping[str, str] = {}
    # Index name → (table, columns): the ways into a table its queries take other than its
    # primary key, so that reading one case or one agency's inbox costs the same on a
    # prefecture's views as on a city's (a scan of every row otherwise).
    INDEXES: Mapping[str, tuple[str, str]] = {}
    APPLICATION = "hub"
    # The version of the rules the projection writes its rows by. Bump it when the same log
    # would give other rows (a new column, a count by a new rule): a view written by other
    # rules is then refused (``check_rules``) until ``hub rebuild``, not read as current.
    RULES_VERSION: ClassVar[int] = 1
    dialect: Dialect
    # Every view keeps the events it could not process (hub/quarantine.py), with its position.
    QUARANTINE = (
        "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, event_type TEXT NOT NULL, "
        "reason TEXT NOT NULL"
    )

    @property
    def tables(self) -> dict[str, str]:
        """The view's tables and its quarantine table."""
        return {**self.TABLES, "quarantine": self.QUARANTINE}

    def quarantined(self) -> list[dict[str, Any]]:
        """The events this view quarantined, in log order."""
        return self.query("SELECT * FROM {quarantine} ORDER BY position")

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def _run(self, cursor: Any, statement: Statement) -> None:
        raise NotImplementedError

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        raise NotImplementedError

    def _clear_tracking(self, cursor: Any) -> None:
        raise NotImplementedError

    def _lock_position(self, cursor: Any) -> int | None:
        """Lock the position row for this transaction and read it (first statement)."""
        raise NotImplementedError

    def _start_position(self, cursor: Any) -> None:
        raise NotImplementedError

    def start_position(self) -> None:
        """Store position 0 if none is stored, so that batches can claim the position row."""
        with self._cursor(commit=True) as cursor:
            self._start_position(cursor)

    def table_ddl(self) -> list[str]:
        """The tables, then their indexes (made on a view that lacks them when it opens)."""
        return [
            *(
                f"CREATE TABLE IF NOT EXISTS {self.dialect.table(name)} ({columns})"
                for name, columns in self.tables.items()
            ),
            *self.index_ddl(),
        ]

    def index_ddl(self) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {self.dialect.index(index)} "
            f"ON {self.dialect.table(table)} ({columns})"
            for index, (table, columns) in self.INDEXES.items()
        ]

    def drop_indexes(self) -> None:
        """Drop the indexes: a rebuild writing whole tables makes them once, at its end."""
        schema = self.dialect.schema
        qualified = f"{quote(schema)}." if schema else ""
        with self._cursor(commit=True) as cursor:
            for index in self.INDEXES:
                self._run(
                    cursor,
                    Statement(f"DROP INDEX IF EXISTS {qualified}{self.dialect.index(index)}"),
                )

    def create_indexes(self) -> None:
        with self._cursor(commit=True) as cursor:
            for ddl in self.index_ddl():
                self._run(cursor, Statement(ddl))

    def apply(self, statements: Sequence[Statement], tracking: Tracking) -> None:
        """Run the statements and record the position, atomically; an event at or before the
        stored position was applied already (by another runner) and is skipped."""
        with self._cursor(commit=True) as cursor:
            position = self._lock_position(cursor)
            if position is not None and position >= tracking.notification_id:
                return
            for statement in statements:
                self._run(cursor, statement)
            self._track(cursor, tracking)

    def apply_batch(self, statements: Sequence[Statement], tracking: Tracking, after: int) -> None:
        """Like ``apply`` for a batch read after position ``after``: refused (IntegrityError)
        if another runner moved the position meanwhile, so overlapping batches never apply
        an event twice (the tracking row alone only refuses positions that go backwards)."""
        with self._cursor(commit=True) as cursor:
            if self._lock_position(cursor) != after:
                raise IntegrityError(f"position of {self.APPLICATION} moved from {after}")
            self._run_all(cursor, statements)
            self._track(cursor, tracking)

    def _run_all(self, cursor: Any, statements: Sequence[Statement]) -> None:
        for statement in statements:
            self._run(cursor, statement)

    def write_all(
        self,
        rows: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
        tracking: Tracking,
        after: int,
        replaced: Keys | None = None,
    ) -> None:
        """Insert whole tables' rows (``projections.bulk``) and record the position, in one
        transaction; refused (IntegrityError) if the position is no longer ``after``. The
        rows of the keys in ``replaced`` are deleted first (every row of a key, for a key
        that names several), so that their new rows take their place."""
        with self._cursor(commit=True) as cursor:
            if self._lock_position(cursor) != after:
                raise IntegrityError(f"position of {self.APPLICATION} moved from {after}")
            replaced = replaced or {}
            for name in dict.fromkeys([*replaced, *rows]):
                key_columns, keys = replaced.get(name, ((), ()))
                columns, table_rows = rows.get(name, ((), ()))
                self._write_table(cursor, name, columns, table_rows, key_columns, keys)
            self._track(cursor, tracking)

    def _write_table(
        self,
        cursor: Any,
        name: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        key_columns: Sequence[str],
        keys: Iterable[Sequence[Any]],
    ) -> None:
        """One table's part of ``write_all``: the rows of ``keys`` deleted, then ``rows``
        inserted."""
        if key_columns:
            self._delete_rows(cursor, name, key_columns, keys)
        if rows:
            self._insert_rows(cursor, name, columns, rows)

    def _insert_rows(
        self, cursor: Any, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        raise NotImplementedError

    def _delete_rows(
        self, cursor: Any, name: str, columns: Sequence[str], keys: Iterable[Sequence[Any]]
    ) -> None:
        where = " AND ".join(f"{column} = ?" for column in columns)
        sql = self._prepared(f"DELETE FROM {{{name}}} WHERE {where}")
        cursor.executemany(sql, [tuple(key) for key in keys])

    def _prepared(self, sql: str) -> Any:
        """A statement as the view writes it, as its driver takes it."""
        return self.dialect.sql(sql)

    @contextmanager
    def reading(self) -> Iterator[Fetch]:
        """One read transaction for many lookups by key (a bulk rebuild's reads back)."""
        with self._cursor(commit=False) as cursor:

            def fetch(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
                return self._fetch(cursor, Statement(sql, params))

            yield fetch

    def _fetch(self, cursor: Any, statement: Statement) -> list[tuple[Any, ...]]:
        self._run(cursor, statement)
        return [tuple(row) for row in cursor.fetchall()]

    def any_of(self, column: str, name: str) -> str:
        """SQL true where ``column`` is one of the texts in the parameter ``name`` (made by
        ``texts``): one statement for any number of keys."""
        return f"{column} IN (SELECT value FROM json_each(:{name}))"

    def texts(self, values: Sequence[str]) -> Any:
        return json.dumps(list(values))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._cursor(commit=False) as cursor:
            self._run(cursor, Statement(sql, params or {}))
            return [dict(row) for row in cursor.fetchall()]

    def drop(self) -> None:
        """Empty the view: drop its tables, forget its position, create the tables again,
        to be written by this release's rules."""
        with self._cursor(commit=True) as cursor:
            for name in self.tables:
                self._run(cursor, Statement(f"DROP TABLE IF EXISTS {{{name}}}"))
            self._clear_tracking(cursor)
            for ddl in self.table_ddl():
                self._run(cursor, Statement(ddl))
            self._start_position(cursor)
            self._set_rules(cursor)

    def check_rules(self, name: str) -> None:
        """Refuses a view written by other rules than ``RULES_VERSION`` (one that holds no
        event yet is marked as this release's). A view without a version was written
        before views had one (2026-12-06), so by rules this release cannot vouch for."""
        self.mark_if_new()
        stored = self.max_tracking_id(RULES)
        if stored == self.RULES_VERSION:
            return
        which = (
            "an older release's rules"
            if (stored or 0) < self.RULES_VERSION
            else "a newer release's rules"
        )
        raise OutdatedViewError(
            f"the {name} view was written by {which} (version {stored or 0}; this release "
            f"writes version {self.RULES_VERSION}): run `hub rebuild --projection {name}`"
        )

    def mark_if_new(self) -> None:
        """A view that holds no event yet is written by this release's rules from its first
        row on: says so, unless it says which already."""
        if self.max_tracking_id(RULES) is None and not self.max_tracking_id(self.APPLICATION):
            with self._cursor(commit=True) as cursor:
                self._set_rules(cursor)

    def _set_rules(self, cursor: Any) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """Closes the view's connections (a view opened only to be checked)."""
        self.datastore.close()  # type: ignore[attr-defined]

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every table, sorted by all its columns: for comparing two views."""
        result: dict[str, list[dict[str, Any]]] = {}
        for name in self.tables:
            rows = self.query(f"SELECT * FROM {{{name}}}")
            result[name] = sorted(rows, key=lambda r: [(str(k), repr(v)) for k, v in r.items()])
        return result


class SQLiteView(SqlView, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.dialect = Dialect.sqlite()
        self._primary_keys: dict[str, tuple[str, ...]] = {}
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.table_ddl()]

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _run(self, cursor: Any, statement: Statement) -> None:
        cursor.execute(self.dialect.sql(statement.sql), dict(statement.params))

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def _insert_rows(
        self,
        cursor: Any,
        name: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        replacing: bool = False,
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        verb = "INSERT OR REPLACE" if replacing else "INSERT"
        table = self.dialect.table(name)
        cursor.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _write_table(
        self,
        cursor: Any,
        name: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        key_columns: Sequence[str],
        keys: Iterable[Sequence[Any]],
    ) -> None:
        """Where the rows' key is the table's primary key, a row written again takes the
        place of the view's in the insert itself (``OR REPLACE``): only the keys left
        without a row are deleted. On a long log most rows of a chunk were read back from
        the view, and their deletes were a quarter of its writing (BENCHMARKS.md)."""
        if not key_columns or tuple(key_columns) != self._primary_key(cursor, name):
            super()._write_table(cursor, name, columns, rows, key_columns, keys)
            return
        at = [columns.index(column) for column in key_columns]
        written = {tuple(row[i] for i in at) for row in rows}
        gone = [key for key in map(tuple, keys) if key not in written]
        if gone:
            self._delete_rows(cursor, name, key_columns, gone)
        if rows:
            self._insert_rows(cursor, name, columns, rows, replacing=True)

    def _primary_key(self, cursor: Any, name: str) -> tuple[str, ...]:
        """The table's primary key columns, in the key's order (read once)."""
        found = self._primary_keys.get(name)
        if found is None:
            cursor.execute(f"PRAGMA table_info({self.dialect.table(name)})")
            info = [(row[5], row[1]) for row in cursor.fetchall() if row[5]]
            found = self._primary_keys[name] = tuple(column for _, column in sorted(info))
        return found

    def _clear_tracking(self, cursor: Any) -> None:
        cursor.execute("DELETE FROM tracking WHERE application_name = ?", (self.APPLICATION,))

    def _set_rules(self, cursor: Any) -> None:
        cursor.execute(
            "INSERT INTO tracking VALUES (?, ?) ON CONFLICT (application_name) "
            "DO UPDATE SET notification_id = excluded.notification_id",
            (RULES, self.RULES_VERSION),
        )

    def create_table(self) -> None:
        super().create_table()
        self.start_position()
        self.mark_if_new()  # also when the library's runner makes the view

    def _lock_position(self, cursor: Any) -> int | None:
        # A write first: takes SQLite's write lock before anything is read.
        cursor.execute(
            "UPDATE tracking SET notification_id = notification_id WHERE application_name = ?",
            (self.APPLICATION,),
        )
        cursor.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", (self.APPLICATION,)
        )
        row = cursor.fetchone()
        return None if row is None else int(row[0])

    def _start_position(self, cursor: Any) -> None:
        cursor.execute(
            "INSERT INTO tracking VALUES (?, 0) ON CONFLICT (application_name) DO NOTHING",
            (self.APPLICATION,),
        )


class PostgresView(SqlView, PostgresTrackingRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        tracking_table_name: str = "notification_tracking",
        **kwargs: Any,
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self.prefix = tracking_table_name.removesuffix("_tracking")
        self.dialect = Dialect.postgres(datastore.schema, prefix=f"{self.prefix}_")
        self._statements: dict[str, SQL] = {}
        for name in [*self.tables, *self.INDEXES]:
            self.check_identifier_length(f"{self.prefix}_{name}")
        for ddl in self.table_ddl():
            self.sql_create_statements.append(SQL(cast(LiteralString, ddl)))  # type: ignore[arg-type]

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _run(self, cursor: Any, statement: Statement, *, prepare: bool = False) -> None:
        cursor.execute(self._translated(statement.sql), dict(statement.params), prepare=prepare)

    def _run_all(self, cursor: Any, statements: Sequence[Statement]) -> None:
        # Pipeline mode sends a batch's statements without a round trip each (psycopg 3);
        # prepared, the server parses and plans each distinct statement once per connection
        # instead of once per event: a third off a rebuild (BENCHMARKS.md, rebuild).
        with cursor.connection.pipeline():
            for statement in statements:
                self._run(cursor, statement, prepare=True)

    def _insert_rows(
        self, cursor: Any, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        sql = f"COPY {self.dialect.table(name)} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(SQL(cast(LiteralString, sql))) as copy:
            for row in rows:
                copy.write_row(row)

    def _translated(self, sql: str) -> SQL:
        """The statement in psycopg's form (%(name)s, schema-qualified tables), made once."""
        translated = self._statements.get(sql)
        if translated is None:
            translated = SQL(cast(LiteralString, self.dialect.sql(sql)))
            self._statements[sql] = translated
        return translated

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def _tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

    def _prepared(self, sql: str) -> Any:
        return self._translated(sql)

    def any_of(self, column: str, name: str) -> str:
        return f"{column} = ANY(:{name})"

    def texts(self, values: Sequence[str]) -> Any:
        return list(values)

    def _fetch(self, cursor: Any, statement: Statement) -> list[tuple[Any, ...]]:
        self._run(cursor, statement, prepare=True)
        return [tuple(row.values()) for row in cursor.fetchall()]

    def _clear_tracking(self, cursor: Any) -> None:
        sql = f"DELETE FROM {self._tracking_table()} WHERE application_name = %s"
        cursor.execute(SQL(cast(LiteralString, sql)), (self.APPLICATION,))

    def _set_rules(self, cursor: Any) -> None:
        sql = (
            f"INSERT INTO {self._tracking_table()} VALUES (%s, %s) ON CONFLICT "
            "(application_name) DO UPDATE SET notification_id = excluded.notification_id"
        )
        cursor.execute(SQL(cast(LiteralString, sql)), (RULES, self.RULES_VERSION))

    def create_table(self) -> None:
        super().create_table()
        self.start_position()
        self.mark_if_new()  # also when the library's runner makes the view

    def _lock_position(self, cursor: Any) -> int | None:
        # Waits for a concurrent writer to commit, then reads its position (READ COMMITTED).
        sql = (
            f"SELECT notification_id FROM {self._tracking_table()} "
            "WHERE application_name = %s FOR UPDATE"
        )
        cursor.execute(SQL(cast(LiteralString, sql)), (self.APPLICATION,))
        row = cursor.fetchone()
        return None if row is None else int(row["notification_id"])

    def _start_position(self, cursor: Any) -> None:
        sql = (
            f"INSERT INTO {self._tracking_table()} VALUES (%s, 0) "
            "ON CONFLICT (application_name) DO NOTHING"
        )
        cursor.execute(SQL(cast(LiteralString, sql)), (self.APPLICATION,))
