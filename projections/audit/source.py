"""Reading the log of record as the auditor's entries, in log order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventsourcing.application import Application

from hub import events as ev
from hub.codec import event_id
from hub.errors import HubError
from projections.audit.history import Entry

PAGE = 500


class UnreadableLogError(HubError):
    """A stored event no longer decodes: the log was damaged or edited."""


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
            try:
                domain_event = app.mapper.to_domain_event(notification)
            except Exception as error:  # any decoding failure of a stored record
                raise UnreadableLogError(
                    f"the event at position {notification.id} cannot be read "
                    f"({type(error).__name__}); run `hub audit verify-log`"
                ) from error
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
