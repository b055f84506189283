"""The retention schedule: how long each kind of record keeps a person's details before
their erasure is due (docs/PRIVACY.md gives the reasoning of the defaults).

Pure: given the cases as the case view holds them (and the discoveries as the log holds
them), which are due on a day. The hub never erases on its own: an erasure is a decision
someone records (``hub privacy erase``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from hub.fiscal import JST


@dataclass(frozen=True)
class RetentionSchedule:
    """Years a closed case keeps the person's details after its last record; a discovery
    never linked to a case keeps them as long after its own last record."""

    closed_case_years: int = 5


@dataclass(frozen=True)
class Due:
    case_id: str
    ward: str
    last_record: date  # the closed case's last record, JST
    due_on: date


@dataclass(frozen=True)
class DueDiscovery:
    discovery_id: str
    ward: str
    last_record: date  # the discovery's last record, JST
    due_on: date


class Discovery(Protocol):
    @property
    def discovery_id(self) -> str: ...
    @property
    def ward(self) -> str: ...
    @property
    def last_record(self) -> datetime: ...
    @property
    def case_id(self) -> str | None: ...
    @property
    def erased(self) -> bool: ...


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def due_cases(
    cases: Iterable[Mapping[str, Any]], schedule: RetentionSchedule, on: date
) -> list[Due]:
    """Closed cases whose retention ended on or before ``on`` (oldest first)."""
    found = []
    for case in cases:
        if case.get("status") != "closed":
            continue
        last = datetime.fromisoformat(str(case["updated_at"])).astimezone(JST).date()
        due_on = _plus_years(last, schedule.closed_case_years)
        if due_on <= on:
            found.append(Due(str(case["case_id"]), str(case.get("ward") or ""), last, due_on))
    return sorted(found, key=lambda d: (d.due_on, d.case_id))


def due_discoveries(
    discoveries: Iterable[Discovery], schedule: RetentionSchedule, on: date
) -> list[DueDiscovery]:
    """Discoveries never linked to a case, not erased, whose retention ended on or before
    ``on`` (oldest first). One linked to a case is kept, and erased, with that case."""
    found = []
    for discovery in discoveries:
        if discovery.case_id is not None or discovery.erased:
            continue
        last = discovery.last_record.astimezone(JST).date()
        due_on = _plus_years(last, schedule.closed_case_years)
        if due_on <= on:
            found.append(DueDiscovery(discovery.discovery_id, discovery.ward, last, due_on))
    return sorted(found, key=lambda d: (d.due_on, d.discovery_id))
