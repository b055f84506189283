"""The relay's position and the disclosure ledger, stored together in the log's database.

Both live in the store of record (SQLite file or PostgreSQL schema) and are written in ONE
transaction through the library's tracking recorders: after a crash either the position
and the disclosures of a batch are both stored, or neither (the batch is then sent again).

Table ``disclosures`` (one row per event, agency and basis):
  disclosure_id TEXT primary key (uuid5 of event, agency, basis, reference: stable on replay)
  event_id TEXT, position BIGINT (notification id), case_id TEXT, agency_id TEXT,
  fields TEXT (JSON array of field paths), categories TEXT (JSON array of data categories),
  basis TEXT (consent | support_meeting | statute | vital_interest), basis_ref TEXT,
  confidentiality_duty BOOLEAN (support_meeting: Social Welfare Act art.106-6),
  occurred_at TEXT (ISO time of the event in the world)

Tables ``relay_state`` and ``relay_state_cases`` (the governance state at a position,
producers/snapshot.py), written in the same transaction as that position:
  relay_state: name TEXT primary key (the position's name), position BIGINT (the state's),
  code TEXT (digest of the fold's code), mac TEXT (HMAC), network BLOB (the pickled network)
  relay_state_cases: (name, case_id) primary key, mac TEXT (HMAC), state BLOB (one case)

Table ``relay_quarantine`` (one row per event the relay could not publish, hub/quarantine.py),
written in the same transaction as the position that passes it:
  position BIGINT primary key, event_id TEXT, event_type TEXT, aggregate_id TEXT,
  reason TEXT (a field and a rule, or a kind of error; never a value)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from hub.errors import RelayStateOutOfStepError
from hub.settings import Settings
from hub.sqlitelock import take_write_lock
from producers.snapshot import CaseRow, Header, StateWrite

TRACKING_NAME = "relay"  # the tracking row's name, distinct from any projection's


def position_name_of(settings: Settings) -> str:
    """The relay's position is the prefix's (a tenant's): ``relay`` or ``relay:<prefix>``."""
    prefix = settings.kafka_topic_prefix
    return f"{TRACKING_NAME}:{prefix}" if prefix else TRACKING_NAME


COLUMNS = (
    "disclosure_id",
    "event_id",
    "position",
    "case_id",
    "agency_id",
    "fields",
    "categories",
    "basis",
    "basis_ref",
    "confidentiality_duty",
    "occurred_at",
)


QUARANTINE_COLUMNS = ("position", "event_id", "event_type", "aggregate_id", "reason")
# Case ids a statement asks for at most: a relay's batch size has no bound, SQLite's builds
# before 3.32 take 999 variables (32,766 after).
IDS_PER_READ = 500


def _header_row(name: str, header: Header) -> dict[str, Any]:
    return {
        "name": name,
        "position": header.position,
        "code": header.code,
        "mac": header.mac,
        "network": header.network,
    }


def _header(row: Any) -> Header | None:
    if row is None:
        return None
    return Header(int(row["position"]), row["code"], row["mac"], bytes(row["network"]))


def _case_rows(name: str, state: StateWrite) -> list[dict[str, Any]]:
    return [
        {"name": name, "case_id": c.case_id, "mac": c.mac, "state": c.state} for c in state.cases
    ]


def _case_row(row: Any) -> CaseRow | None:
    return None if row is None else _case(row)


def _case(row: Any) -> CaseRow:
    return CaseRow(row["case_id"], row["mac"], bytes(row["state"]))


def _row(disclosure: dict[str, Any]) -> dict[str, Any]:
    row = {name: disclosure[name] for name in COLUMNS}
    row["fields"] = json.dumps(disclosure["fields"], ensure_ascii=False)
    row["categories"] = json.dumps(disclosure["categories"])
    return row


def _disclosure(row: Any) -> dict[str, Any]:
    found = {name: row[name] for name in COLUMNS}
    found["fields"] = _json_list(found["fields"])
    found["categories"] = _json_list(found["categories"])
    found["confidentiality_duty"] = bool(found["confidentiality_duty"])
    return found


def _json_list(text: Any) -> Any:
    """A column's JSON list; an edited row's text that is no JSON is returned as it is (the
    auditor's check refutes the row as malformed instead of failing on it)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


class RelayLedger(Protocol):
    def position(self) -> int:
        """The last notification id the relay published (0 before the first)."""

    def record(
        self,
        position: int,
        disclosures: Sequence[dict[str, Any]],
        quarantined: Sequence[dict[str, Any]] = (),
        state: StateWrite | None = None,
    ) -> None:
        """Stores the position, the disclosures, the quarantined events and (when given) the
        governance state's changes at that position in one transaction."""

    def store_state(self, state: StateWrite) -> None:
        """Stores the governance state's changes alone, at the position stored (else
        ``RelayStateOutOfStepError``: another relay under the same name moved it)."""

    def state_header(self) -> Header | None:
        """The stored governance state's header for this relay's position name, if any."""

    def state_case(self, case_id: str) -> CaseRow | None:
        """One case's stored governance state, if any."""

    def state_cases(self, case_ids: Sequence[str]) -> list[CaseRow]:
        """The stored governance states of those of ``case_ids`` that have one, in one read."""

    def quarantined(self) -> list[dict[str, Any]]:
        """The events the relay quarantined, in log order."""

    def disclosures(
        self, *, case_id: str | None = None, agency_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Ledger rows in log order, optionally for one case and/or agency."""

    def basis_counts(self) -> dict[str, int]:
        """How many disclosures each legal basis carried."""


def _in_step(stored: int | None, state: StateWrite) -> None:
    if (stored or 0) != state.header.position:
        raise RelayStateOutOfStepError(
            f"RelayStateOutOfStepError: the relay's stored position is {stored or 0}, its "
            "state is at "
            f"{state.header.position}: is another relay running under the same topic prefix? "
            "Nothing was stored"
        )


class SQLiteRelayLedger(SQLiteTrackingRecorder):
    position_name = TRACKING_NAME

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS disclosures ("
            "disclosure_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, "
            "position INTEGER NOT NULL, case_id TEXT NOT NULL, agency_id TEXT NOT NULL, "
            "fields TEXT NOT NULL, categories TEXT NOT NULL, basis TEXT NOT NULL, "
            "basis_ref TEXT, confidentiality_duty INTEGER NOT NULL, occurred_at TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS disclosures_case ON disclosures (case_id, position)",
            "CREATE TABLE IF NOT EXISTS relay_quarantine (position INTEGER PRIMARY KEY, "
            "event_id TEXT NOT NULL, event_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, "
            "reason TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS relay_state (name TEXT PRIMARY KEY, "
            "position INTEGER NOT NULL, code TEXT NOT NULL, mac TEXT NOT NULL, "
            "network BLOB NOT NULL)",
            "CREATE TABLE IF NOT EXISTS relay_state_cases (name TEXT NOT NULL, "
            "case_id TEXT NOT NULL, mac TEXT NOT NULL, state BLOB NOT NULL, "
            "PRIMARY KEY (name, case_id))",
        ]

    def position(self) -> int:
        return self.max_tracking_id(self.position_name) or 0

    def record(
        self,
        position: int,
        disclosures: Sequence[dict[str, Any]],
        quarantined: Sequence[dict[str, Any]] = (),
        state: StateWrite | None = None,
    ) -> None:
        placeholders = ", ".join(f":{name}" for name in COLUMNS)
        statement = (
            f"INSERT INTO disclosures ({', '.join(COLUMNS)}) VALUES ({placeholders}) "
            "ON CONFLICT (disclosure_id) DO NOTHING"
        )
        kept = ", ".join(f":{name}" for name in QUARANTINE_COLUMNS)
        with self.datastore.transaction(commit=True) as c:
            take_write_lock(c, "relay_state")  # the hub writes this file too
            c.executemany(statement, [_row(d) for d in disclosures])
            c.executemany(
                f"INSERT INTO relay_quarantine ({', '.join(QUARANTINE_COLUMNS)}) VALUES ({kept}) "
                "ON CONFLICT (position) DO NOTHING",
                list(quarantined),
            )
            if state is not None:
                self._store_state(c, state)
            self._insert_tracking(c, Tracking(self.position_name, position))

    def store_state(self, state: StateWrite) -> None:
        with self.datastore.transaction(commit=True) as c:
            take_write_lock(c, "relay_state")  # before the read: its snapshot stays writable
            c.execute(self.select_max_tracking_id_statement, (self.position_name,))
            row = c.fetchone()
            _in_step(row[0] if row else None, state)
            self._store_state(c, state)

    def _store_state(self, c: Any, state: StateWrite) -> None:
        if state.replace_all:
            c.execute("DELETE FROM relay_state_cases WHERE name = ?", [self.position_name])
        c.executemany(
            "INSERT INTO relay_state_cases (name, case_id, mac, state) "
            "VALUES (:name, :case_id, :mac, :state) ON CONFLICT (name, case_id) DO UPDATE "
            "SET mac = excluded.mac, state = excluded.state",
            _case_rows(self.position_name, state),
        )
        c.execute(
            "INSERT INTO relay_state (name, position, code, mac, network) "
            "VALUES (:name, :position, :code, :mac, :network) ON CONFLICT (name) DO UPDATE "
            "SET position = excluded.position, code = excluded.code, mac = excluded.mac, "
            "network = excluded.network",
            _header_row(self.position_name, state.header),
        )

    def state_header(self) -> Header | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, code, mac, network FROM relay_state WHERE name = ?",
                [self.position_name],
            )
            return _header(c.fetchone())

    def state_case(self, case_id: str) -> CaseRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT case_id, mac, state FROM relay_state_cases WHERE name = ? AND case_id = ?",
                [self.position_name, case_id],
            )
            return _case_row(c.fetchone())

    def state_cases(self, case_ids: Sequence[str]) -> list[CaseRow]:
        found: list[CaseRow] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(case_ids), IDS_PER_READ):
                chunk = case_ids[start : start + IDS_PER_READ]
                c.execute(
                    "SELECT case_id, mac, state FROM relay_state_cases "
                    f"WHERE name = ? AND case_id IN ({', '.join('?' * len(chunk))})",
                    [self.position_name, *chunk],
                )
                found += [_case(row) for row in c.fetchall()]
        return found

    def quarantined(self) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM relay_quarantine ORDER BY position"
            )
            return [{name: row[name] for name in QUARANTINE_COLUMNS} for row in c.fetchall()]

    def disclosures(
        self, *, case_id: str | None = None, agency_id: str | None = None
    ) -> list[dict[str, Any]]:
        statement = f"SELECT {', '.join(COLUMNS)} FROM disclosures WHERE 1=1"
        params: list[str] = []
        if case_id is not None:
            statement += " AND case_id = ?"
            params.append(case_id)
        if agency_id is not None:
            statement += " AND agency_id = ?"
            params.append(agency_id)
        statement += " ORDER BY position, disclosure_id"
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [_disclosure(row) for row in c.fetchall()]

    def basis_counts(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT basis, count(*) FROM disclosures GROUP BY basis")
            return {row[0]: int(row[1]) for row in c.fetchall()}


class PostgresRelayLedger(PostgresTrackingRecorder):
    position_name = TRACKING_NAME

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.disclosures ("
                "disclosure_id text PRIMARY KEY, event_id text NOT NULL, "
                "position bigint NOT NULL, case_id text NOT NULL, agency_id text NOT NULL, "
                "fields text NOT NULL, categories text NOT NULL, basis text NOT NULL, "
                "basis_ref text, confidentiality_duty boolean NOT NULL, "
                "occurred_at text NOT NULL)"
            ).format(Identifier(self.datastore.schema))
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.relay_quarantine (position bigint PRIMARY KEY, "
                "event_id text NOT NULL, event_type text NOT NULL, aggregate_id text NOT NULL, "
                "reason text NOT NULL)"
            ).format(Identifier(self.datastore.schema))
        )
        schema = Identifier(self.datastore.schema)
        # A case's disclosures (the audit's, an agency's inbox) are read by case, as on SQLite.
        self.sql_create_statements.append(
            SQL(
                "CREATE INDEX IF NOT EXISTS disclosures_case ON {0}.disclosures (case_id, position)"
            ).format(schema)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.relay_state (name text PRIMARY KEY, "
                "position bigint NOT NULL, code text NOT NULL, mac text NOT NULL, "
                "network bytea NOT NULL)"
            ).format(schema)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.relay_state_cases (name text NOT NULL, "
                "case_id text NOT NULL, mac text NOT NULL, state bytea NOT NULL, "
                "PRIMARY KEY (name, case_id))"
            ).format(schema)
        )

        def sql(text: str) -> str:
            return SQL(text).format(schema).as_string(None)

        self.upsert_state = sql(
            "INSERT INTO {0}.relay_state (name, position, code, mac, network) "
            "VALUES (%(name)s, %(position)s, %(code)s, %(mac)s, %(network)s) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
            "code = excluded.code, mac = excluded.mac, network = excluded.network"
        )
        self.upsert_state_case = sql(
            "INSERT INTO {0}.relay_state_cases (name, case_id, mac, state) "
            "VALUES (%(name)s, %(case_id)s, %(mac)s, %(state)s) "
            "ON CONFLICT (name, case_id) DO UPDATE SET mac = excluded.mac, state = excluded.state"
        )
        self.delete_state_cases = sql("DELETE FROM {0}.relay_state_cases WHERE name = %s")
        self.select_state = sql(
            "SELECT position, code, mac, network FROM {0}.relay_state WHERE name = %s"
        )
        self.select_state_case = sql(
            "SELECT case_id, mac, state FROM {0}.relay_state_cases WHERE name = %s AND case_id = %s"
        )
        self.select_state_cases = sql(
            "SELECT case_id, mac, state FROM {0}.relay_state_cases "
            "WHERE name = %s AND case_id = ANY(%s::text[])"
        )
        self.insert_quarantined = (
            SQL("INSERT INTO {0}.relay_quarantine ({1}) VALUES ({2}) ON CONFLICT DO NOTHING")
            .format(
                Identifier(self.datastore.schema),
                SQL(", ").join(Identifier(name) for name in QUARANTINE_COLUMNS),
                SQL(", ").join(SQL(f"%({name})s") for name in QUARANTINE_COLUMNS),
            )
            .as_string(None)
        )
        insert = "INSERT INTO {0}.disclosures ({1}) VALUES ({2}) ON CONFLICT DO NOTHING"
        self.insert_disclosure = (
            SQL(insert)
            .format(
                Identifier(self.datastore.schema),
                SQL(", ").join(Identifier(name) for name in COLUMNS),
                SQL(", ").join(SQL(f"%({name})s") for name in COLUMNS),
            )
            .as_string(None)
        )

    def position(self) -> int:
        return self.max_tracking_id(self.position_name) or 0

    def record(
        self,
        position: int,
        disclosures: Sequence[dict[str, Any]],
        quarantined: Sequence[dict[str, Any]] = (),
        state: StateWrite | None = None,
    ) -> None:
        with self.datastore.transaction(commit=True) as curs:
            if disclosures:
                # psycopg pipelines executemany: one round trip for the batch's rows.
                curs.executemany(self.insert_disclosure, [_row(d) for d in disclosures])
            if quarantined:
                curs.executemany(self.insert_quarantined, list(quarantined))
            if state is not None:
                self._store_state(curs, state)
            self._insert_tracking(curs, Tracking(self.position_name, position))

    def store_state(self, state: StateWrite) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.max_tracking_id_statement, (self.position_name,))
            row = curs.fetchone()
            _in_step(row["max"] if row else None, state)
            self._store_state(curs, state)

    def _store_state(self, curs: Any, state: StateWrite) -> None:
        if state.replace_all:
            curs.execute(self.delete_state_cases, [self.position_name])
        rows = _case_rows(self.position_name, state)
        if rows:
            curs.executemany(self.upsert_state_case, rows)
        curs.execute(self.upsert_state, _header_row(self.position_name, state.header))

    def state_header(self) -> Header | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_state, [self.position_name])
            return _header(curs.fetchone())

    def state_case(self, case_id: str) -> CaseRow | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_state_case, [self.position_name, case_id])
            return _case_row(curs.fetchone())

    def state_cases(self, case_ids: Sequence[str]) -> list[CaseRow]:
        if not case_ids:
            return []
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_state_cases, [self.position_name, list(case_ids)])
            return [_case(row) for row in curs.fetchall()]

    def quarantined(self) -> list[dict[str, Any]]:
        statement = SQL("SELECT {0} FROM {1}.relay_quarantine ORDER BY position").format(
            SQL(", ").join(Identifier(name) for name in QUARANTINE_COLUMNS),
            Identifier(self.datastore.schema),
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement)
            return [{name: row[name] for name in QUARANTINE_COLUMNS} for row in curs.fetchall()]

    def disclosures(
        self, *, case_id: str | None = None, agency_id: str | None = None
    ) -> list[dict[str, Any]]:
        conditions = [SQL("TRUE")]
        params: list[str] = []
        if case_id is not None:
            conditions.append(SQL("case_id = %s"))
            params.append(case_id)
        if agency_id is not None:
            conditions.append(SQL("agency_id = %s"))
            params.append(agency_id)
        statement = SQL(
            "SELECT {0} FROM {1}.disclosures WHERE {2} ORDER BY position, disclosure_id"
        ).format(
            SQL(", ").join(Identifier(name) for name in COLUMNS),
            Identifier(self.datastore.schema),
            SQL(" AND ").join(conditions),
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return [_disclosure(row) for row in curs.fetchall()]

    def basis_counts(self) -> dict[str, int]:
        statement = SQL("SELECT basis, count(*) AS n FROM {0}.disclosures GROUP BY basis").format(
            Identifier(self.datastore.schema)
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement)
            return {row["basis"]: int(row["n"]) for row in curs.fetchall()}
