"""A log copied into another store, re-encoded by that store's application: sealed with its
own data keys, or plain (``HUB_SEAL_PERSONAL=n``), the events and their instants unchanged."""

from __future__ import annotations

from collections.abc import Iterable

from eventsourcing.persistence import Notification, StoredEvent

from hub.application import HubApplication


def reencoded(
    source: HubApplication, target: HubApplication, notifications: Iterable[Notification]
) -> list[StoredEvent]:
    """``notifications`` of ``source``'s log as ``target`` stores them."""
    return [target.mapper.to_stored_event(source.mapper.to_domain_event(n)) for n in notifications]


def copy_log(source: HubApplication, target: HubApplication, batch: int = 5_000) -> int:
    """Every event of ``source`` into ``target`` (an empty store opened without the network's
    import), in log order; the number copied."""
    position, copied = 0, 0
    while notifications := source.recorder.select_notifications(
        start=position, limit=batch, inclusive_of_start=False
    ):
        target.recorder.insert_events(reencoded(source, target, notifications))
        position = notifications[-1].id
        copied += len(notifications)
    return copied
