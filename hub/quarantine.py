"""Quarantine: what a step of the stream does with an event it cannot process.

The edge refuses implausible values (``hub.plausible``), but a log written before that rule,
or by another writer, may hold them, and the log is immutable. So every step that follows
the log (the relay, each projection) screens each event with ``screen`` and keeps the ones
it cannot process in a quarantine table of its own store, written in the same transaction as
its position, and goes on (ARCHITECTURE.md, invariant 9).

The screen is a fixed rule of the code, never of the wall clock or a setting, so replaying
the same log quarantines the same events. Reasons name a field and a rule, or the kind of
error, never a value (a value may be personal data).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, get_args, get_origin

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import BaseModel, ValidationError

from hub import plausible
from hub.errors import DataKeyUnavailableError, ServiceUnavailableError
from hub.fiscal import JST
from hub.sealing import Leaf, Spec, personal_spec

# Instants every step can convert (UTC, JST), bucket in a fiscal year and label in 令和.
SCREEN_FROM = plausible.EARLIEST
SCREEN_UNTIL = datetime(2100, 1, 1, tzinfo=JST)
DATES_FROM, DATES_UNTIL = plausible.EARLIEST_BIRTH_DATE, SCREEN_UNTIL.date()
INT64 = (-(2**63), 2**63 - 1)  # Avro long, PostgreSQL bigint, SQLite INTEGER
DOMAIN = {
    # A view stores a fiscal year in a 32-bit column (PostgreSQL INTEGER): a year the edge
    # refuses must be kept back by every step alike, not by one store's insert.
    "fiscal_year": (2019, 2100),
    "overdue_minutes": (0, plausible.MAX_OVERDUE_MINUTES),
    "participants": (0, plausible.MAX_PARTICIPANTS),
    "revision": (1, 100_000),
}
STEPS = ("relay", "case_state", "inbox", "indicators")
# Errors of a store or the broker being away: a step waits or stops on them, it never
# quarantines an event for them.
OUTAGES: tuple[type[BaseException], ...] = (
    InterfaceError,
    OperationalError,
    ServiceUnavailableError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def stop_on_keys(error: BaseException) -> None:
    """Raises the ``DataKeyUnavailableError`` in ``error``'s chain, if there is one: keys
    that do not unwrap (another key-encryption key, events copied without their keys) are
    the store's fault, not the event's, and quarantining would file every sealed event as
    poison. Every step and reader that catches a decoding error calls this first."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DataKeyUnavailableError):
            raise cause
        cause = cause.__cause__


@dataclass(frozen=True)
class Quarantined:
    """One event a step kept back: where it is in the log and why (no value of it)."""

    step: str
    position: int
    event_id: str
    event_type: str
    reason: str


@cache
def _checked_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` whose type can hold an integer, an instant, a date or a nested
    model: the only ones the screen looks at (the others are text, codes and uuids)."""
    return tuple(
        name
        for name, field in model.model_fields.items()
        if any(
            t in (int, datetime, date) or issubclass(t, BaseModel)
            for t in _leaf_types(field.annotation)
        )
    )


def _leaf_types(annotation: Any) -> set[type]:
    if isinstance(annotation, type) and not get_args(annotation):
        return {annotation}
    found: set[type] = set()
    for arg in get_args(annotation):
        if isinstance(arg, type) or get_args(arg):
            found |= _leaf_types(arg)
    origin = get_origin(annotation)
    if isinstance(origin, type) and origin not in (list, tuple, dict, set, frozenset):
        found.add(origin)
    return found


def _problem(field: str, value: Any) -> str | None:
    """The rule ``value`` breaks (without the field's path), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        low, high = DOMAIN.get(field, INT64)
        if not low <= value <= high:
            return f"integer outside {low}..{high}"
    elif isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            return "instant without a time zone"
        if abs(offset) > timedelta(hours=24):
            return "UTC offset beyond a day"
        if not SCREEN_FROM <= value < SCREEN_UNTIL:
            return "instant outside 2000-01-01 .. 2100-01-01 (JST)"
    elif isinstance(value, date) and not DATES_FROM <= value < DATES_UNTIL:
        return "date outside 1890-01-01 .. 2100-01-01"
    return None


def screen(payload: BaseModel, *, personal: bool = True) -> str | None:
    """Why no step could process an event with this payload, or None if every step can.

    ``personal=False`` (the views, which keep no personal field) leaves the personal fields
    unlooked at: an erased field reads as erased once its key is destroyed, so a rule on
    one (a birth date before 1890) would keep an event back live and let it through in a
    rebuild after the erasure."""
    return _screen(payload, None if personal else personal_spec(type(payload)))


def _screen(payload: BaseModel, unlooked: Spec | None) -> str | None:
    # Every event of every step passes here: the path of a field is only spelled out for
    # the one that breaks a rule.
    for name in _checked_fields(type(payload)):
        inner = unlooked.get(name) if unlooked else None
        if isinstance(inner, Leaf):
            continue
        value = getattr(payload, name, None)
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, BaseModel):
                problem = _screen(item, inner)
                if problem:
                    return f"{name}.{problem}"
            else:
                problem = _problem(name, item)
                if problem:
                    return f"{name}: {problem}"
    return None


def reason_of(error: BaseException, stage: str) -> str:
    """A reason for an error met while processing one event: the kind of error and, for a
    validation error, the fields, never the message (messages may quote values)."""
    if isinstance(error, ValidationError):
        fields = sorted({".".join(str(p) for p in e["loc"]) or "payload" for e in error.errors()})
        return f"{stage}: does not fit its model ({', '.join(fields[:5])})"
    return f"{stage}: {type(error).__name__}"
