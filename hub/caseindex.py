"""Which stored rows one case's replay must read, known when a row is stored.

An auditor's replay of one case (``hub audit replay --case``) needs that case's own
events, the events of other aggregates that name it (a meeting that took it up, a
discovery linked to it) and the network's events (which agencies a consent's scope
covered, and when). The case's own events are its stream, which the library's primary
key finds. The rest are kept in a table beside the events (``<events table>_refs``),
written in the transaction that stores them, one row per (case, position):

- a row naming a case other than its originator in a ``case_id`` or ``case_ids`` field
  is indexed under that case;
- a network event, a row whose payload type the stored bytes do not show (a compressed
  state, a format not the hub's), or one whose case field holds something other than ids
  as text, is indexed under ``EVERY_CASE``: every case's replay reads it.

The index is a superset: the replay still decodes each row and keeps what concerns the
case (``projections.audit.history.concerns``), so a row indexed too widely costs time,
never a wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from hub import events as ev
from hub.sqldialect import Dialect, quote

EVERY_CASE = "*"

PAYLOAD_TYPE = b'"payload":{"_type_":"'  # how ``hub.transcoding`` names a payload's type
NETWORK_TYPES = tuple(cls.__name__.encode() + b'"' for cls in ev.NETWORK_EVENTS)

# A case field's value: a string, a list of strings, null, or anything else (one byte).
_CASE_FIELD = re.compile(rb'"case_ids?"\s*:\s*(\[[^\]]*\]|"[^"]*"|null|.)')
_UUID = re.compile(rb"[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


def payload_type(state: bytes) -> bytes | None:
    """The payload's type name as stored, with its closing quote; None when not shown."""
    at = state.find(PAYLOAD_TYPE)
    if at < 0:
        return None
    start = at + len(PAYLOAD_TYPE)
    end = state.find(b'"', start)
    return state[start : end + 1] if end >= 0 else None


def references(originator_id: UUID | str, state: bytes) -> set[str]:
    """The cases (as ``str(UUID)``, or ``EVERY_CASE``) whose replay must read this row,
    besides its originator's own replay."""
    name = payload_type(state)
    if name is None or name in NETWORK_TYPES:
        return {EVERY_CASE}
    if b'"case_id' not in state:
        return set()
    own = _hex(originator_id)
    named = set()
    for field in _CASE_FIELD.finditer(state):
        value = field.group(1)
        if value[:1] not in (b'"', b"[", b"n"):
            return {EVERY_CASE}  # a case id in a form not read here: every case reads the row
        for found in _UUID.findall(value):
            spelled = found.replace(b"-", b"").lower()
            if spelled != own:  # compared as hex: a case's own events parse no UUID
                named.add(str(UUID(spelled.decode())))
    return named


class Stored(Protocol):
    """A stored event as the library hands it over (``StoredEvent``, ``Notification``)."""

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def state(self) -> bytes: ...


def rows(positions: Sequence[int], stored: Sequence[Stored]) -> list[tuple[str, int]]:
    """The index rows of the events ``stored`` at ``positions``."""
    return [
        (case, position)
        for position, event in zip(positions, stored, strict=True)
        for case in references(event.originator_id, bytes(event.state))
    ]


def _hex(originator_id: UUID | str) -> bytes:
    if isinstance(originator_id, UUID):
        return originator_id.hex.encode()
    return str(originator_id).replace("-", "").lower().encode()


class RefsSQL:
    """The index's statements, written once for both stores (``hub.sqldialect``).

    ``<events>_refs_head`` holds ``upto``: the index is whole for every position up to it.
    An insert moves it on only if it was whole before that insert, so a log stored before
    the index existed (or by a writer without it) keeps a head behind its last event, and
    a reader reads the rows after the head as before; ``hub audit index`` fills it in.
    """

    def __init__(self, dialect: Dialect, events_table_name: str, id_column: str) -> None:
        self.dialect = dialect
        self.name = f"{events_table_name}_refs"
        self.head_name = f"{events_table_name}_refs_head"
        self.events = events_table_name
        self.id = id_column

    @property
    def table(self) -> str:
        """The index's table as this store names it in a statement."""
        return self.dialect.table(self.name)

    def sql(self, statement: str) -> str:
        return self.dialect.sql(
            statement.replace("{refs}", f"{{{self.name}}}")
            .replace("{head}", f"{{{self.head_name}}}")
            .replace("{events}", f"{{{self.events}}}")
            .replace("{id}", self.id)
        )

    def create(self) -> list[str]:
        return [
            self.sql(
                "CREATE TABLE IF NOT EXISTS {refs} (case_id TEXT NOT NULL, "
                "notification_id BIGINT NOT NULL, PRIMARY KEY (case_id, notification_id))"
            ),
            # by position, for ``hub audit verify-log``'s pages (an index's own name is never
            # schema-qualified on PostgreSQL: it lives in its table's schema)
            self.sql(
                f"CREATE INDEX IF NOT EXISTS {quote(self.name + '_position')} "
                "ON {refs} (notification_id)"
            ),
            # one row, whoever creates it first: processes starting together on a new
            # schema each run these statements
            self.sql(
                "CREATE TABLE IF NOT EXISTS {head} (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "upto BIGINT NOT NULL)"
            ),
            self.sql("INSERT INTO {head} (id, upto) VALUES (1, 0) ON CONFLICT DO NOTHING"),
        ]

    @property
    def insert(self) -> str:
        return self.sql(
            "INSERT INTO {refs} (case_id, notification_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
        )

    @property
    def advance(self) -> str:
        """Moves the head to the last new position (first parameter) if it had reached the
        last position before the first new one (second)."""
        return self.sql(
            "UPDATE {head} SET upto = ? WHERE upto >= "
            "(SELECT coalesce(max({id}), 0) FROM {events} WHERE {id} < ?)"
        )

    @property
    def select_range(self) -> str:
        return self.sql(
            "SELECT case_id, notification_id FROM {refs} "
            "WHERE notification_id >= ? AND notification_id <= ?"
        )

    @property
    def head(self) -> str:
        return self.sql("SELECT upto FROM {head}")

    @property
    def move_head(self) -> str:
        return self.sql("UPDATE {head} SET upto = ?")
