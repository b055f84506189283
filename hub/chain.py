"""Tamper evidence for the log of record: a hash chain written as events are stored.

Beside the library's events table (``stored_events`` on SQLite, ``hub_events`` on
PostgreSQL) a table ``<events table>_chain`` holds one link per notification::

    chain_hash = sha256(prev_chain_hash ␟ notification_id ␟ originator_id ␟ version
                        ␟ topic ␟ sha256(state))

The recorders below are the library's application recorders plus one step: they append
the links in the same transaction that inserts the events (the library serialises writers,
so the previous link is the chain's head). The library's tables are left as they are.
Select them with ``APPLICATION_RECORDER_TOPIC`` (``hub.settings`` does).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Error as PsycopgError
from psycopg.sql import SQL

from hub import caseindex
from hub.caseindex import RefsSQL
from hub.errors import ChainBrokenError
from hub.sqldialect import Dialect
from hub.sqlitelock import take_write_lock

GENESIS = "0" * 64
SEPARATOR = "\x1f"
SQLITE_TOPIC = "hub.chain:ChainedSQLiteApplicationRecorder"
POSTGRES_TOPIC = "hub.chain:ChainedPostgresApplicationRecorder"


@dataclass(frozen=True)
class Link:
    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state_sha256: str
    chain_hash: str


def canonical_id(originator_id: UUID | str) -> str:
    """The originator id as text, the same whichever store held it (SQLite keeps hex)."""
    try:
        return str(UUID(str(originator_id)))
    except ValueError:
        return str(originator_id)


def state_digest(state: bytes) -> str:
    return hashlib.sha256(bytes(state)).hexdigest()


def link_hash(
    prev: str,
    notification_id: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state_sha256: str,
) -> str:
    material = SEPARATOR.join(
        (prev, str(notification_id), originator_id, str(originator_version), topic, state_sha256)
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def link_for(prev: str, notification: Notification) -> Link:
    """The link a stored notification gets when it follows ``prev``."""
    originator_id = canonical_id(notification.originator_id)
    state_sha = state_digest(notification.state)
    return Link(
        notification_id=notification.id,
        originator_id=originator_id,
        originator_version=int(notification.originator_version),
        topic=notification.topic,
        state_sha256=state_sha,
        chain_hash=link_hash(
            prev,
            notification.id,
            originator_id,
            int(notification.originator_version),
            notification.topic,
            state_sha,
        ),
    )


def chain_links(prev: str, notifications: Iterable[Notification]) -> list[Link]:
    links = []
    for notification in notifications:
        link = link_for(prev, notification)
        links.append(link)
        prev = link.chain_hash
    return links


class ChainReader(Protocol):
    """What a verifier reads: the stored events and the links kept beside them."""

    def select_stored(self, start: int, stop: int, limit: int) -> list[Notification]: ...

    def select_links(self, start: int, stop: int, limit: int | None = None) -> list[Link]: ...

    def find_links(self, state_sha256: str, originator_id: str, version: int) -> list[Link]: ...

    def chain_head(self) -> Link | None: ...

    def max_notification_id(self) -> int | None: ...

    def select_refs(self, start: int, stop: int) -> dict[int, set[str]]: ...

    def indexed_upto(self) -> int: ...


# Recorders ----------------------------------------------------------------------------------

_COLUMNS = "notification_id, originator_id, originator_version, topic, state_sha256, chain_hash"


def _link(row: Any) -> Link:
    return Link(
        notification_id=_whole(row["notification_id"]),
        originator_id=str(row["originator_id"]),
        originator_version=_whole(row["originator_version"]),
        topic=str(row["topic"]),
        state_sha256=str(row["state_sha256"]),
        chain_hash=str(row["chain_hash"]),
    )


def _whole(value: Any) -> int:
    """A link's number as stored; -1 for what is none (SQLite keeps text written by hand in
    an integer column), so that verify-log names the link rather than failing on it."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class _ChainSQL:
    """The chain's statements, written once for both stores (``hub.sqldialect``)."""

    def __init__(self, dialect: Dialect, events_table_name: str) -> None:
        self.dialect = dialect
        self.name = f"{events_table_name}_chain"
        self.table = dialect.table(self.name)

    def sql(self, statement: str) -> str:
        return self.dialect.sql(statement.replace("{chain}", f"{{{self.name}}}"))

    def create(self) -> list[str]:
        return [
            self.sql(
                "CREATE TABLE IF NOT EXISTS {chain} ("
                "notification_id BIGINT PRIMARY KEY, "
                "originator_id TEXT NOT NULL, "
                "originator_version BIGINT NOT NULL, "
                "topic TEXT NOT NULL, "
                "state_sha256 TEXT NOT NULL, "
                "chain_hash TEXT NOT NULL)"
            ),
        ]

    @property
    def head(self) -> str:
        return self.sql(f"SELECT {_COLUMNS} FROM {{chain}} ORDER BY notification_id DESC LIMIT 1")

    @property
    def insert(self) -> str:
        return self.sql(f"INSERT INTO {{chain}} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)")

    @property
    def select_range(self) -> str:
        return self.sql(
            f"SELECT {_COLUMNS} FROM {{chain}} "
            "WHERE notification_id >= ? AND notification_id <= ? ORDER BY notification_id"
        )

    @property
    def find(self) -> str:
        return self.sql(
            f"SELECT {_COLUMNS} FROM {{chain}} "
            "WHERE state_sha256 = ? OR (originator_id = ? AND originator_version = ?) "
            "ORDER BY notification_id"
        )


def _append(curs: Any, sql: _ChainSQL, notifications: Sequence[Notification]) -> list[Link]:
    """Appends links for ``notifications`` (in id order) after the chain's head."""
    if not notifications:
        return []
    curs.execute(sql.head)
    row = curs.fetchone()
    head = _link(row) if row is not None else None
    if head is not None and min(head.notification_id, head.originator_version) < 0:
        # Not an IntegrityError: that reads as a concurrent write, retried or told to retry.
        raise ChainBrokenError(
            f"the head of the log's hash chain (link {row['notification_id']!r}) is no link "
            "the hub wrote (the store edited by hand?); nothing was written: run "
            "`hub audit verify-log`"
        )
    ordered = sorted(notifications, key=lambda n: n.id)
    if head is not None and ordered[0].id <= head.notification_id:
        raise IntegrityError(
            f"notification {ordered[0].id} is not after the chain's head {head.notification_id}"
        )
    links = chain_links(head.chain_hash if head else GENESIS, ordered)
    curs.executemany(
        sql.insert,
        [
            (
                link.notification_id,
                link.originator_id,
                link.originator_version,
                link.topic,
                link.state_sha256,
                link.chain_hash,
            )
            for link in links
        ],
    )
    return links


@dataclass(frozen=True)
class StateSearch:
    """Which stored states a reader wants: any that contains one of ``needles``, lacks
    ``marker``, or whose first ``marker`` is followed by one of ``types`` (each ending
    with the byte that closes it)."""

    needles: tuple[bytes, ...]
    marker: bytes
    types: tuple[bytes, ...]

    def matches(self, state: bytes) -> bool:
        """What the stores' own searches answer, in Python."""
        if any(needle in state for needle in self.needles):
            return True
        at = state.find(self.marker)
        if at < 0:
            return True
        start = at + len(self.marker)
        return state[start : state.find(b'"', start) + 1] in self.types


class ChainedRecorder:
    """What both chained recorders share: reads of the chain, the insert's hooks."""

    datastore: Any
    chain_sql: _ChainSQL
    refs_sql: RefsSQL
    # Rows written in every insert's transaction before its events (the data keys of new
    # subjects: ``hub.keys.DataKeys.write_unsaved``), and told whether that transaction
    # committed (``DataKeys.settle``); set by the application.
    before_insert: Callable[[Any], None] | None = None
    after_insert: Callable[[bool], None] | None = None

    def _settle(self, committed: bool) -> None:
        if self.after_insert is not None:
            self.after_insert(committed)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Outside the library's retries (PostgreSQL's): told once, after the last attempt.
        try:
            ids = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._settle(False)
            raise
        self._settle(True)
        return ids

    def select_naming(
        self, after: int, stop: int, limit: int, find: StateSearch
    ) -> list[Notification]:
        """Notifications after ``after`` up to ``stop`` whose state ``find`` matches, oldest
        first: the store scans the states, so a reader looking for few rows of a long log
        decodes only those."""
        raise NotImplementedError

    def select_case(self, case_id: str, after: int, stop: int, limit: int) -> list[Notification]:
        """Notifications after ``after`` up to ``stop`` (at most the index's head) that one
        case's replay reads (``hub.caseindex``), oldest first: its stream and the rows
        indexed under it or under every case."""
        raise NotImplementedError

    def _index(self, curs: Any, ids: Sequence[int], stored_events: Sequence[StoredEvent]) -> None:
        """Writes the case index's rows of events just inserted (in their transaction)."""
        rows = caseindex.rows(ids, stored_events)
        if rows:
            curs.executemany(self.refs_sql.insert, rows)
        curs.execute(self.refs_sql.advance, (max(ids), min(ids)))

    def select_refs(self, start: int, stop: int) -> dict[int, set[str]]:
        """The case index's rows at positions ``start`` to ``stop``: the cases of each."""
        found: dict[int, set[str]] = {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.refs_sql.select_range, (start, stop))
            for row in curs.fetchall():
                found.setdefault(int(row["notification_id"]), set()).add(str(row["case_id"]))
        return found

    def indexed_upto(self) -> int:
        """The position up to which the case index is whole."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.refs_sql.head)
            row = curs.fetchone()
            return int(row["upto"]) if row is not None else 0

    def index_references(self, page: int = 5_000, *, again: bool = False) -> int:
        """Fills the case index in after its head, a page a transaction (a log stored
        before the index existed; ``again``: from the first event, rows found missing put
        back); the number of events indexed."""
        done = 0
        while True:
            with self.datastore.transaction(commit=True) as curs:
                self._lock_writers(curs)
                if again:
                    curs.execute(self.refs_sql.move_head, (0,))
                    again = False
                curs.execute(self.refs_sql.head)
                upto = int(curs.fetchone()["upto"])
                batch = self._stored_after(curs, upto, page)
                if not batch:
                    return done
                rows = caseindex.rows([n.id for n in batch], batch)
                if rows:
                    curs.executemany(self.refs_sql.insert, rows)
                curs.execute(self.refs_sql.move_head, (batch[-1].id,))
            done += len(batch)

    def _lock_writers(self, curs: Any) -> None:
        raise NotImplementedError

    def _stored_after(self, curs: Any, after: int, limit: int) -> list[Notification]:
        raise NotImplementedError

    def last_notification_id(self, stop: int | None) -> int:
        """The last notification id up to ``stop`` (0 for none)."""
        raise NotImplementedError

    def select_links(self, start: int, stop: int, limit: int | None = None) -> list[Link]:
        statement = self.chain_sql.select_range
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (start, stop))
            return [_link(row) for row in curs.fetchall()]

    def find_links(self, state_sha256: str, originator_id: str, version: int) -> list[Link]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.chain_sql.find, (state_sha256, originator_id, version))
            return [_link(row) for row in curs.fetchall()]

    def chain_head(self) -> Link | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.chain_sql.head)
            row = curs.fetchone()
            return _link(row) if row is not None else None


class ChainedSQLiteApplicationRecorder(ChainedRecorder, SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.chain_sql = _ChainSQL(Dialect.sqlite(), events_table_name)
        self.refs_sql = RefsSQL(Dialect.sqlite(), events_table_name, "rowid")
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *self.chain_sql.create(),
            *self.refs_sql.create(),
        ]

    def create_table(self) -> None:
        # Each statement in a transaction of its own. In one deferred transaction, the
        # case index's head row (an INSERT, a write even when the row is there) came after
        # reads of the schema, and a commit by another process in between (the relay's,
        # a command's) made SQLite refuse it at once (SQLITE_BUSY_SNAPSHOT, "database is
        # locked"): a process starting beside them could not open the store.
        for statement in self.create_table_statements:
            with self.datastore.transaction(commit=True) as c:
                c.execute(statement)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._lock_writers(c)  # waited for in short polls (the relay writes this file too)
        if self.before_insert is not None:
            self.before_insert(c)
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            _append(c, self.chain_sql, _notifications(ids, stored_events))
            self._index(c, ids, stored_events)
        return ids

    def seal(self) -> int:
        """Chains notifications past the head (a log written before the chain existed)."""
        with self.datastore.transaction(commit=True) as c:
            self._lock_writers(c)  # before the read, so its snapshot stays writable
            return len(_append(c, self.chain_sql, self._unchained(c)))

    def _unchained(self, c: SQLiteCursor) -> list[Notification]:
        c.execute(self.chain_sql.head)
        row = c.fetchone()
        after = int(row["notification_id"]) if row is not None else 0
        c.execute(
            f"SELECT rowid, * FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid",
            (after,),
        )
        return [_sqlite_notification(row) for row in c.fetchall()]

    def select_naming(
        self, after: int, stop: int, limit: int, find: StateSearch
    ) -> list[Notification]:
        names = ", ".join("?" * len(find.types))
        needles = " OR ".join(["instr(state, ?) > 0"] * len(find.needles))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT * FROM (SELECT rowid, originator_id, originator_version, topic, state, "
                f"instr(state, ?) AS at FROM {self.events_table_name} "
                "WHERE rowid > ? AND rowid <= ?) "
                f"WHERE at = 0 OR {needles} OR substr(state, at + ?, "
                f"instr(substr(state, at + ?, 64), X'22')) IN ({names}) ORDER BY rowid LIMIT ?",
                (
                    find.marker,
                    after,
                    stop,
                    *find.needles,
                    len(find.marker),
                    len(find.marker),
                    *find.types,
                    limit,
                ),
            )
            return [self._notification(row) for row in c.fetchall()]

    def select_case(self, case_id: str, after: int, stop: int, limit: int) -> list[Notification]:
        own, case = UUID(case_id).hex, str(UUID(case_id))
        events, refs = self.events_table_name, self.refs_sql.table
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {events} WHERE originator_id = ? AND rowid > ? AND rowid <= ? "
                "UNION ALL SELECT e.rowid, e.originator_id, e.originator_version, e.topic, "
                f"e.state FROM {refs} AS x JOIN {events} AS e ON e.rowid = x.notification_id "
                "WHERE x.case_id IN (?, ?) AND x.notification_id > ? AND x.notification_id <= ? "
                "AND e.originator_id <> ? ORDER BY 1 LIMIT ?",
                (own, after, stop, case, caseindex.EVERY_CASE, after, stop, own, limit),
            )
            return [self._notification(row) for row in c.fetchall()]

    def _notification(self, row: Any) -> Notification:
        return Notification(
            id=row["rowid"],
            originator_id=self.convert_originator_id(row["originator_id"]),
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=row["state"],
        )

    def _lock_writers(self, curs: Any) -> None:
        take_write_lock(curs, self.refs_sql.sql("{head}"))

    def _stored_after(self, curs: Any, after: int, limit: int) -> list[Notification]:
        curs.execute(
            f"SELECT rowid, * FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [_sqlite_notification(row) for row in curs.fetchall()]

    def last_notification_id(self, stop: int | None) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT max(rowid) FROM {self.events_table_name} WHERE rowid <= ?",
                (stop if stop is not None else 2**63 - 1,),
            )
            return int(c.fetchone()[0] or 0)

    def select_stored(self, start: int, stop: int, limit: int) -> list[Notification]:
        """Rows as stored, ids between start and stop: read raw, so a malformed one shows.
        SQLite keeps whatever type a value is written with: a state edited by hand (``replace``
        or ``||`` on the blob give text, maybe not UTF-8) is read back as its bytes, and a
        version as an integer, so that the edit is named rather than failing the read."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, CAST(originator_version AS INTEGER) AS "
                "originator_version, topic, CAST(state AS BLOB) AS state "
                f"FROM {self.events_table_name} "
                "WHERE rowid >= ? AND rowid <= ? ORDER BY rowid LIMIT ?",
                (start, stop, limit),
            )
            return [_sqlite_notification(row) for row in c.fetchall()]


def _sqlite_notification(row: Any) -> Notification:
    return Notification(
        id=row["rowid"],
        originator_id=str(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=str(row["topic"]),
        state=bytes(row["state"] or b""),
    )


def _notifications(ids: Sequence[int], stored_events: Sequence[StoredEvent]) -> list[Notification]:
    return [
        Notification(
            id=nid,
            originator_id=s.originator_id,
            originator_version=s.originator_version,
            topic=s.topic,
            state=s.state,
        )
        for nid, s in zip(ids, stored_events, strict=True)
    ]


class ChainedPostgresApplicationRecorder(ChainedRecorder, PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        if datastore.enable_db_functions:
            raise ProgrammingError(
                "the hash chain needs POSTGRES_ENABLE_DB_FUNCTIONS off (links are written "
                "in the insert transaction)"
            )
        super().__init__(datastore, events_table_name=events_table_name)
        self.check_identifier_length(f"{events_table_name}_chain")
        dialect = Dialect.postgres(datastore.schema)
        self.chain_sql = _ChainSQL(dialect, events_table_name)
        self.refs_sql = RefsSQL(dialect, events_table_name, "notification_id")
        self.check_identifier_length(self.refs_sql.head_name)
        self.events_sql = dialect.table(events_table_name)
        self.sql_create_statements.extend(
            SQL(s).format()  # type: ignore[arg-type]
            for s in (*self.chain_sql.create(), *self.refs_sql.create())
        )
        append_function = dialect.table(f"{events_table_name}_chain_append")
        self.check_identifier_length(f"{events_table_name}_chain_append")
        self.sql_create_statements.append(
            SQL(
                _PG_APPEND_FUNCTION.format(
                    function=append_function,
                    chain=self.chain_sql.table,
                    events=self.events_sql,
                    genesis=GENESIS,
                    separator=ord(SEPARATOR),
                )
            ).format()  # type: ignore[arg-type]
        )
        self.append_sql = SQL(f"SELECT {append_function}(%s)").format()  # type: ignore[arg-type]

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library calls this first in the insert's transaction (pipelined with it).
        super()._insert_events(curs, stored_events, **kwargs)
        if self.before_insert is not None:
            self.before_insert(curs)

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        try:
            super()._insert_stored_events(curs, stored_events, **kwargs)
        except PsycopgError:
            # psycopg reads what has arrived while it still sends the pipeline's later
            # statements: a unique violation (a key or an event another writer made) can be
            # raised here with results after it unread. Read at the transaction's end, they
            # say "pipeline aborted", which the library then raises in place of the
            # violation: a conflict taken for the store being away. Read them now.
            with contextlib.suppress(PsycopgError), curs.connection.pipeline() as pipeline:
                pipeline.sync()
            raise

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            # Pipelined with the commit, no round trip of its own: the server hashes what
            # the table holds; a failure (head ahead) fails the transaction.
            curs.execute(self.append_sql, (list(ids),))
            self._index(curs, ids, stored_events)
        return ids

    def select_naming(
        self, after: int, stop: int, limit: int, find: StateSearch
    ) -> list[Notification]:
        needles = " OR ".join(["position(%s::bytea in state) > 0"] * len(find.needles))
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT * FROM (SELECT *, position(%s::bytea in state) AS at "
                f"FROM {self.events_sql} WHERE notification_id > %s AND notification_id <= %s) s "
                f"WHERE at = 0 OR {needles} OR substring(state from at + %s for "
                "position('\\x22'::bytea in substring(state from at + %s for 64))) "
                "= ANY(%s::bytea[]) ORDER BY notification_id LIMIT %s",
                (
                    find.marker,
                    after,
                    stop,
                    *find.needles,
                    len(find.marker),
                    len(find.marker),
                    list(find.types),
                    limit,
                ),
            )
            return [_pg_notification(row) for row in curs.fetchall()]

    def select_case(self, case_id: str, after: int, stop: int, limit: int) -> list[Notification]:
        own = UUID(case_id)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {self.events_sql} WHERE originator_id = %s "
                "AND notification_id > %s AND notification_id <= %s UNION ALL SELECT "
                "e.notification_id, e.originator_id, e.originator_version, e.topic, e.state "
                f"FROM {self.refs_sql.table} AS x "
                f"JOIN {self.events_sql} AS e ON e.notification_id = x.notification_id "
                "WHERE x.case_id = ANY(%s) AND x.notification_id > %s "
                "AND x.notification_id <= %s AND e.originator_id <> %s "
                "ORDER BY notification_id LIMIT %s",
                (own, after, stop, [str(own), caseindex.EVERY_CASE], after, stop, own, limit),
            )
            return [_pg_notification(row) for row in curs.fetchall()]

    def _lock_writers(self, curs: Any) -> None:
        for statement in self.lock_table_statements:
            curs.execute(statement)

    def _stored_after(self, curs: Any, after: int, limit: int) -> list[Notification]:
        curs.execute(
            f"SELECT * FROM {self.events_sql} WHERE notification_id > %s "
            "ORDER BY notification_id LIMIT %s",
            (after, limit),
        )
        return [_pg_notification(row) for row in curs.fetchall()]

    def last_notification_id(self, stop: int | None) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT max(notification_id) AS last FROM {self.events_sql} "
                "WHERE notification_id <= %s",
                (stop if stop is not None else 2**63 - 1,),
            )
            row = curs.fetchone()
            return int(row["last"] or 0)

    def select_stored(self, start: int, stop: int, limit: int) -> list[Notification]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT * FROM {self.events_sql} WHERE notification_id >= %s "
                "AND notification_id <= %s ORDER BY notification_id LIMIT %s",
                (start, stop, limit),
            )
            return [_pg_notification(row) for row in curs.fetchall()]

    def seal(self) -> int:
        """Chains notifications past the head (a log written before the chain existed)."""
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.lock_table_statements:
                curs.execute(statement)
            curs.execute(self.chain_sql.head)
            row = curs.fetchone()
            after = int(row["notification_id"]) if row is not None else 0
            curs.execute(
                f"SELECT * FROM {self.events_sql} WHERE notification_id > %s "
                "ORDER BY notification_id",
                (after,),
            )
            return len(_append(curs, self.chain_sql, [_pg_notification(r) for r in curs]))


# The link of ``link_hash`` computed by the server, for the notifications ``ids`` just
# inserted (under the library's table lock, so the chain's head is the previous link).
# ``hub audit verify-log`` checks it with the Python code above: two implementations that
# must agree.
_PG_APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $body$
DECLARE
    head_id bigint;
    prev text;
    r record;
BEGIN
    SELECT notification_id, chain_hash INTO head_id, prev
        FROM {chain} ORDER BY notification_id DESC LIMIT 1;
    IF prev IS NULL THEN
        head_id := 0;
        prev := '{genesis}';
    END IF;
    FOR r IN
        SELECT notification_id, originator_id::text AS originator_id, originator_version,
               topic, encode(sha256(state), 'hex') AS state_sha256
        FROM {events} WHERE notification_id = ANY(ids) ORDER BY notification_id
    LOOP
        IF r.notification_id <= head_id THEN
            RAISE EXCEPTION 'notification % is not after the chain''s head %',
                r.notification_id, head_id USING ERRCODE = 'unique_violation';
        END IF;
        prev := encode(sha256(convert_to(concat_ws(chr({separator}), prev,
            r.notification_id::text, r.originator_id, r.originator_version::text, r.topic,
            r.state_sha256), 'UTF8')), 'hex');
        INSERT INTO {chain} VALUES (r.notification_id, r.originator_id,
            r.originator_version, r.topic, r.state_sha256, prev);
    END LOOP;
END
$body$
"""


def _pg_notification(row: Any) -> Notification:
    return Notification(
        id=row["notification_id"],
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
