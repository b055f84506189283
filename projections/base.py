"""What every hub projection shares: events become SQL statements, applied with tracking."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from projections.sqlview import SqlView, Statement

V = TypeVar("V", bound=SqlView)


Payload = tuple[str, dict[str, Any]]  # (event type, JSON-like payload)


def payload_of(domain_event: Any) -> Payload | None:
    """(event type, JSON-like payload) of a hub domain event, or None for other events."""
    payload = getattr(domain_event, "payload", None)
    if payload is None or not hasattr(payload, "model_dump"):
        return None
    return type(payload).__name__, payload.model_dump(mode="json")


class HubProjection(Projection[V], Generic[V]):
    """A projection whose change for an event is a list of SQL statements.

    ``statements`` is a pure function of the event, so that events can be applied one at a
    time (``process_event``, as the library's ``ProjectionRunner`` does) or a batch at a time
    in one transaction (``process_batch``, for catching up and rebuilding).
    """

    views: ClassVar[Mapping[str, type[SqlView]]] = {}  # store kind → view class

    @abstractmethod
    def statements(self, event_type: str, payload: Mapping[str, Any]) -> list[Statement]:
        """The view's change for one event (may be empty)."""

    def statements_for(self, domain_event: Any) -> list[Statement]:
        found = payload_of(domain_event)
        return self.statements(*found) if found else []

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        self.view.apply(self.statements_for(domain_event), tracking)

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]], after: int) -> None:
        """Apply events read after position ``after`` in one transaction (IntegrityError if
        the view's position is no longer ``after``)."""
        self.process_payloads([(payload_of(event), tracking) for event, tracking in batch], after)

    def process_payloads(
        self, batch: Sequence[tuple[Payload | None, Tracking]], after: int
    ) -> None:
        """``process_batch`` for events already turned into payloads (``payload_of``), so that
        several projections fed from one read of the log decode each event once."""
        if not batch:
            return
        statements = [s for found, _ in batch if found for s in self.statements(*found)]
        self.view.apply_batch(statements, batch[-1][1], after)
