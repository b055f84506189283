"""The discoveries (見つける) the log holds: each one's ward, last record, the case it was
linked to and whether it was erased. Read by the events' topics, so the store hands over
the discoveries' rows only, never the cases'. For ``hub privacy retention`` and for naming
a discovery by a prefix of its id (``hub privacy erase --discovery``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from hub import events as ev
from hub.domain.others import Discovery
from hub.quarantine import stop_on_keys

PAGE = 1_000
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


def discoveries(app: Application[Any]) -> dict[str, DiscoveryRecord]:
    """Every discovery of ``app``'s log, by id, in the order they were reported."""
    found: dict[str, DiscoveryRecord] = {}
    after: int | None = None
    while batch := app.recorder.select_notifications(
        start=after, limit=PAGE, topics=(REPORTED, LINKED, ERASED), inclusive_of_start=after is None
    ):
        for notification in batch:
            try:
                p = app.mapper.to_domain_event(notification).payload  # type: ignore[attr-defined]
            except Exception as error:
                stop_on_keys(error)  # a key that does not unwrap: say so, not "unexpected"
                raise
            key = str(p.discovery_id)
            if isinstance(p, ev.DiscoveryReported):
                found[key] = DiscoveryRecord(key, p.ward, p.occurred_at)
                continue
            record = found.get(key)
            if record is None:
                continue
            record.last_record = max(record.last_record, p.occurred_at)
            if isinstance(p, ev.DiscoveryLinkedToCase):
                record.case_id = str(p.case_id)
            elif isinstance(p, ev.DiscoveryErased):
                record.erased = True
        after = batch[-1].id
    return found
