"""A case's history from the log of record: each event with when, what and who acted.

No personal field is read out: only the event type, its business time and the actor.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hub.application import HubApplication


def case_history(app: HubApplication, case_id: UUID) -> list[dict[str, Any]]:
    """``[{version, occurred_at, event, by, role}]`` in the case's order (empty if unknown)."""
    rows = []
    for domain_event in app.events.get(case_id):
        payload = domain_event.payload  # type: ignore[attr-defined]
        actor = payload.actor
        rows.append(
            {
                "version": domain_event.originator_version,
                "occurred_at": payload.occurred_at.isoformat(),
                "event": type(payload).__name__,
                "by": actor.subject if actor else None,
                "role": actor.role if actor else None,
            }
        )
    return rows
