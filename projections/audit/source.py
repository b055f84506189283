"""Reading the log of record as the auditor's entries, in log order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventsourcing.application import Application

from hub import events as ev
from hub.codec import event_id
from projections.audit.history import Entry

PAGE = 500


def log_entries(app: Application[Any], *, upto: int | None = None) -> Iterator[Entry]:
    """Every hub event of ``app``'s log (up to position ``upto``), oldest first."""
    after: int | None = None
    while True:
        batch = app.recorder.select_notifications(
            start=after, limit=PAGE, stop=upto, inclusive_of_start=after is None
        )
        if not batch:
            return
        for notification in batch:
            domain_event = app.mapper.to_domain_event(notification)
            payload = getattr(domain_event, "payload", None)
            if isinstance(payload, ev.Event):
                yield Entry(
                    notification.id,
                    payload,
                    str(event_id(domain_event.originator_id, domain_event.originator_version)),
                )
        after = batch[-1].id
        if upto is not None and after >= upto:
            return
