"""The access log (アクセス記録): who was shown which person's details, when, on which basis.

Each read is a ``PersonalDataAccessed`` event in the log of record (hash-chained like every
event); this module reads them back for auditors, filtered by case, subject and period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from hub import events as ev
from hub.domain.access import AccessRecord

PAGE = 500
ACCESS_TOPIC = get_topic(AccessRecord.PersonalDataAccessed)  # type: ignore[attr-defined]


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
        }


def _all(app: Application[Any]) -> Iterator[Access]:
    after: int | None = None
    while True:
        batch = app.recorder.select_notifications(
            start=after,
            limit=PAGE,
            topics=[ACCESS_TOPIC],
            inclusive_of_start=after is None,
        )
        if not batch:
            return
        for notification in batch:
            payload = app.mapper.to_domain_event(notification).payload  # type: ignore[attr-defined]
            yield Access.from_payload(notification.id, payload)
        after = batch[-1].id


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
