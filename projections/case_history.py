"""A case's history from the log of record: each event with when, what and who acted.

No personal field is read out: only the event type, its business time and the actor.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hub.application import HubApplication
from hub.quarantine import reason_of, screen, stop_on_keys


def case_history(app: HubApplication, case_id: UUID) -> list[dict[str, Any]]:
    """``[{version, occurred_at, event, by, role}]`` in the case's order (empty if unknown)."""
    rows: list[dict[str, Any]] = []
    for stored in app.recorder.select_events(case_id):
        try:
            domain_event = app.mapper.to_domain_event(stored)
        except Exception as error:  # an event no model reads: named, never shown
            stop_on_keys(error)
            rows.append(
                {
                    "version": stored.originator_version,
                    "occurred_at": None,
                    "event": stored.topic.rsplit(".", 1)[-1],
                    "by": None,
                    "role": None,
                    "quarantined": reason_of(error, "decoding"),
                }
            )
            continue
        payload = domain_event.payload  # type: ignore[attr-defined]
        actor = payload.actor
        row = {
            "version": domain_event.originator_version,
            "occurred_at": payload.occurred_at.isoformat(),
            "event": type(payload).__name__,
            "by": actor.subject if actor else None,
            "role": actor.role if actor else None,
        }
        implausible = screen(payload)
        if implausible:  # the views and the relay quarantined it (hub/quarantine.py)
            row["quarantined"] = implausible
        rows.append(row)
    return rows
