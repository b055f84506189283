"""The access log (アクセス記録): who was shown which person's details, when, on which basis,
and who searched the ward's cases (名寄せ), by which kinds of criteria, with how many results.

Each read is a ``PersonalDataAccessed`` event and each search a ``PeopleSearched`` event in the
log of record (hash-chained like every event); this module reads them back for auditors,
filtered by case, subject and period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from hub import events as ev
from hub.domain.access import AccessRecord, SearchRecord

PAGE = 500
ACCESS_TOPIC = get_topic(AccessRecord.PersonalDataAccessed)  # type: ignore[attr-defined]
SEARCH_TOPIC = get_topic(SearchRecord.PeopleSearched)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Access:
    position: int
    access_id: str
    occurred_at: datetime
    case_id: str
    subject: str
    role: str
    fields: tuple[str, ...]
    basis: str
    purpose: str
    agency_id: str | None = None  # the agency whose staff read (its web inbox)
    # The consents, meetings, declarations or statutes the read rested on (根拠の記録).
    basis_refs: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, position: int, p: ev.PersonalDataAccessed) -> Access:
        actor = p.actor or ev.ActedBy(subject="", role="")
        return cls(
            position,
            str(p.access_id),
            p.occurred_at,
            str(p.case_id),
            actor.subject,
            actor.role,
            tuple(p.fields),
            p.basis,
            p.purpose,
            p.agency_id,
            tuple(p.basis_refs),
        )

    def view(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "access_id": self.access_id,
            "occurred_at": self.occurred_at.isoformat(),
            "case_id": self.case_id,
            "subject": self.subject,
            "role": self.role,
            "fields": list(self.fields),
            "basis": self.basis,
            "purpose": self.purpose,
            "agency_id": self.agency_id,
            "basis_refs": list(self.basis_refs),
        }


@dataclass(frozen=True)
class Search:
    """One 名寄せ search: who, when, within which ward, by which kinds of criteria (never
    the terms), how many people it showed."""

    position: int
    search_id: str
    occurred_at: datetime
    subject: str
    role: str
    ward: str | None
    criteria: tuple[str, ...]
    results: int
    purpose: str

    @classmethod
    def from_payload(cls, position: int, p: ev.PeopleSearched) -> Search:
        actor = p.actor or ev.ActedBy(subject="", role="")
        return cls(
            position,
            str(p.search_id),
            p.occurred_at,
            actor.subject,
            actor.role,
            p.ward,
            tuple(p.criteria),
            p.results,
            p.purpose,
        )

    def view(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "search_id": self.search_id,
            "occurred_at": self.occurred_at.isoformat(),
            "subject": self.subject,
            "role": self.role,
            "ward": self.ward,
            "criteria": list(self.criteria),
            "results": self.results,
            "purpose": self.purpose,
        }


def _payloads(app: Application[Any], topic: str) -> Iterator[tuple[int, Any]]:
    after: int | None = None
    while True:
        batch = app.recorder.select_notifications(
            start=after,
            limit=PAGE,
            topics=[topic],
            inclusive_of_start=after is None,
        )
        if not batch:
            return
        for notification in batch:
            payload = app.mapper.to_domain_event(notification).payload  # type: ignore[attr-defined]
            yield notification.id, payload
        after = batch[-1].id


def _all(app: Application[Any]) -> Iterator[Access]:
    for position, payload in _payloads(app, ACCESS_TOPIC):
        yield Access.from_payload(position, payload)


def access_log(
    app: Application[Any],
    *,
    case_id: str | None = None,
    subject: str | None = None,
    between: tuple[datetime, datetime] | None = None,
) -> list[Access]:
    """Every recorded read, oldest first: of one case, by one subject, at T1 or later and
    before T2 (when the details were shown)."""
    found = []
    for access in _all(app):
        if case_id is not None and access.case_id != case_id:
            continue
        if subject is not None and access.subject != subject:
            continue
        if between is not None and not between[0] <= access.occurred_at < between[1]:
            continue
        found.append(access)
    return found


def search_log(
    app: Application[Any],
    *,
    subject: str | None = None,
    between: tuple[datetime, datetime] | None = None,
) -> list[Search]:
    """Every recorded 名寄せ search, oldest first: by one subject, in a period."""
    found = []
    for position, payload in _payloads(app, SEARCH_TOPIC):
        search = Search.from_payload(position, payload)
        if subject is not None and search.subject != subject:
            continue
        if between is not None and not between[0] <= search.occurred_at < between[1]:
            continue
        found.append(search)
    return found
