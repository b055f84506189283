"""The discoveries (見つける) the log holds: each one's ward, last record, the case it was
linked to and whether it was erased. Read by the events' topics, so the store hands over
the discoveries' rows only, never the cases'. For ``hub privacy retention``, for naming
a discovery by a prefix of its id (``hub privacy erase --discovery``), and for the ward's
list of discoveries awaiting a case (the 窓口's page, ``GET /discoveries``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from hub import events as ev
from hub import vocabulary as v
from hub.domain.others import Discovery
from hub.quarantine import stop_on_keys

PAGE = 1_000
# The most urgent first (the vocabulary lists them from the least urgent).
URGENCY_ORDER: tuple[str, ...] = tuple(reversed(get_args(v.Urgency)))
REPORTED = get_topic(Discovery.DiscoveryReported)
LINKED = get_topic(Discovery.DiscoveryLinkedToCase)  # type: ignore[attr-defined]
ERASED = get_topic(Discovery.DiscoveryErased)  # type: ignore[attr-defined]


@dataclass
class DiscoveryRecord:
    discovery_id: str
    ward: str
    last_record: datetime  # occurred_at of its last event
    case_id: str | None = None
    erased: bool = False
    # What the report said, codes only (never its note or the person): for the ward's list
    # of discoveries awaiting a case.
    reported_at: datetime | None = None
    urgency: str = ""
    reporter_kind: str = ""
    signs: tuple[str, ...] = ()
    # Whether the report names anyone (not who): the case opened from it takes those details.
    names_person: bool = False

    @property
    def awaiting(self) -> bool:
        """Reported, not yet opened as a case, not erased: the ward's to act on."""
        return self.case_id is None and not self.erased


class DiscoveryLog:
    """The discoveries of a log, kept up to date by reading only what was recorded since the
    last read (the ward's page asks on every load; a full read would grow with the years)."""

    def __init__(self) -> None:
        self.found: dict[str, DiscoveryRecord] = {}
        self._after: int | None = None
        self._lock = threading.Lock()

    def catch_up(self, app: Application[Any]) -> dict[str, DiscoveryRecord]:
        """Every discovery of ``app``'s log, by id, in the order they were reported."""
        with self._lock:
            while batch := app.recorder.select_notifications(
                start=self._after,
                limit=PAGE,
                topics=(REPORTED, LINKED, ERASED),
                inclusive_of_start=self._after is None,
            ):
                for notification in batch:
                    self._apply(app, notification)
                self._after = batch[-1].id
            return dict(self.found)

    def awaiting(self, app: Application[Any], ward: str | None) -> list[DiscoveryRecord]:
        """The discoveries awaiting a case (of ``ward``; of every ward when None), the most
        urgent first, then the oldest."""
        rank = {urgency: n for n, urgency in enumerate(URGENCY_ORDER)}
        waiting = [
            d
            for d in self.catch_up(app).values()
            if d.awaiting and (ward is None or d.ward == ward)
        ]
        return sorted(waiting, key=lambda d: (rank.get(d.urgency, len(rank)), d.reported_at))

    def _apply(self, app: Application[Any], notification: Any) -> None:
        try:
            p = app.mapper.to_domain_event(notification).payload  # type: ignore[attr-defined]
        except Exception as error:
            stop_on_keys(error)  # a key that does not unwrap: say so, not "unexpected"
            raise
        key = str(p.discovery_id)
        if isinstance(p, ev.DiscoveryReported):
            self.found[key] = DiscoveryRecord(
                key,
                p.ward,
                p.occurred_at,
                reported_at=p.occurred_at,
                urgency=p.urgency,
                reporter_kind=p.reporter_kind,
                signs=tuple(p.signs),
                names_person=ev.plain_details(p.person) is not None,
            )
            return
        record = self.found.get(key)
        if record is None:
            return
        record.last_record = max(record.last_record, p.occurred_at)
        if isinstance(p, ev.DiscoveryLinkedToCase):
            record.case_id = str(p.case_id)
        elif isinstance(p, ev.DiscoveryErased):
            record.erased = True


def discoveries(app: Application[Any]) -> dict[str, DiscoveryRecord]:
    """Every discovery of ``app``'s log, by id, in the order they were reported."""
    return DiscoveryLog().catch_up(app)
