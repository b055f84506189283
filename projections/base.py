"""What every hub projection shares: events become SQL statements, applied with tracking."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import Projection

from hub.codec import event_id
from hub.logging import get_logger
from hub.quarantine import OUTAGES, reason_of, screen
from projections.sqlview import SqlView, Statement

log = get_logger(__name__)

V = TypeVar("V", bound=SqlView)


Payload = tuple[str, dict[str, Any]]  # (event type, JSON-like payload)

# Event types no view folds: the receipt of each command (the log's idempotency, read by the
# audit, not by a view). The views pass them over: neither decoded nor screened, so never
# quarantined. They are nearly half the events of a log and were a third of a rebuild's
# decoding.
PASSED_OVER = frozenset({"CommandAccepted"})


@dataclass(frozen=True)
class LogPosition(Tracking):
    """A tracking position that also names its event (for the quarantine)."""

    event_id: str = ""
    event_type: str = ""


@dataclass(frozen=True)
class StoredPosition(Tracking):
    """A tracking position that names its event for the quarantine, its event id worked out
    only when a quarantine row asks for it (a uuid5 per event was 15 % of a rebuild)."""

    event_type: str = ""
    originator_id: Any = None
    originator_version: int = 0

    @property
    def event_id(self) -> str:
        return str(event_id(UUID(str(self.originator_id)), self.originator_version))


@dataclass(frozen=True)
class Rejected:
    """An event no view can take (it failed the screen, or could not be decoded)."""

    reason: str


@dataclass(frozen=True)
class Undecodable:
    """A stored event its model no longer reads, as a live runner's subscription hands it
    on (``projections.runner``) so that the view quarantines it instead of stopping."""

    originator_id: Any
    originator_version: int
    event_type: str
    reason: str


def position_of_event(
    application_name: str, domain_event: Any, notification_id: int
) -> LogPosition:
    event_type = (
        domain_event.event_type
        if isinstance(domain_event, Undecodable)
        else type(getattr(domain_event, "payload", domain_event)).__name__
    )
    return LogPosition(
        application_name,
        notification_id,
        str(event_id(domain_event.originator_id, domain_event.originator_version)),
        event_type,
    )


def screened(domain_event: Any) -> Payload | Rejected | None:
    """The payload of an event, or why it is quarantined (``hub.quarantine.screen``)."""
    if isinstance(domain_event, Undecodable):
        return None if domain_event.event_type in PASSED_OVER else Rejected(domain_event.reason)
    return screened_payload(getattr(domain_event, "payload", None))


def screened_payload(payload: Any) -> Payload | Rejected | None:
    """``screened`` for a payload decoded without its domain event."""
    if payload is None or not hasattr(payload, "model_dump"):
        return None
    if type(payload).__name__ in PASSED_OVER:
        return None
    reason = screen(payload, personal=False)  # no view keeps a personal field
    if reason:
        return Rejected(reason)
    return type(payload).__name__, payload.model_dump(mode="json")


def quarantine_statement(tracking: Tracking, reason: str) -> Statement:
    return Statement(
        "INSERT INTO {quarantine} (position, event_id, event_type, reason) "
        "VALUES (:position, :event_id, :event_type, :reason) ON CONFLICT (position) DO NOTHING",
        {
            "position": tracking.notification_id,
            "event_id": getattr(tracking, "event_id", ""),
            "event_type": getattr(tracking, "event_type", ""),
            "reason": reason,
        },
    )


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

    def _statements(self, found: Payload | Rejected | None, tracking: Tracking) -> list[Statement]:
        """The change for one event, or its quarantine row if it cannot be processed."""
        if found is None:
            return []
        if isinstance(found, Rejected):
            return [self._quarantined(tracking, found.reason)]
        try:
            return self.statements(*found)
        except Exception as error:  # a bad event, never the store: statements are pure
            return [self._quarantined(tracking, reason_of(error, self.name))]

    def _quarantined(self, tracking: Tracking, reason: str) -> Statement:
        log.warning(
            "projection.quarantined",
            projection=self.name,
            position=tracking.notification_id,
            event_type=getattr(tracking, "event_type", ""),
            reason=reason,
        )
        return quarantine_statement(tracking, reason)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        """One event (the library's live runner): screened, and quarantined if its change
        cannot be applied, so that no single event stops the view."""
        tracking = position_of_event(
            tracking.application_name, domain_event, tracking.notification_id
        )
        self._apply_one(screened(domain_event), tracking, self.view.apply)

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]], after: int) -> None:
        """Apply events read after position ``after`` in one transaction (IntegrityError if
        the view's position is no longer ``after``)."""
        self.process_payloads([(screened(event), tracking) for event, tracking in batch], after)

    def process_payloads(
        self, batch: Sequence[tuple[Payload | Rejected | None, Tracking]], after: int
    ) -> None:
        """``process_batch`` for events already turned into payloads (``screened``), so that
        several projections fed from one read of the log decode each event once.

        If the batch's transaction fails for anything but the store being away or another
        runner moving the position, the events are applied one at a time, each in its own
        transaction with its position, and the one that fails is quarantined instead."""
        if not batch:
            return
        statements = [s for found, tracking in batch for s in self._statements(found, tracking)]
        try:
            self.view.apply_batch(statements, batch[-1][1], after)
        except OUTAGES:
            raise
        except IntegrityError:
            if self.view.max_tracking_id(batch[-1][1].application_name) != after:
                raise  # another runner moved the position: the runner handles it
            self._one_at_a_time(batch, after)
        except Exception:
            self._one_at_a_time(batch, after)

    def _one_at_a_time(
        self, batch: Sequence[tuple[Payload | Rejected | None, Tracking]], after: int
    ) -> None:
        position = after
        for found, tracking in batch:

            def write(statements: list[Statement], at: Tracking, before: int = position) -> None:
                self.view.apply_batch(statements, at, before)

            self._apply_one(found, tracking, write, position)
            position = tracking.notification_id

    def _apply_one(
        self,
        found: Payload | Rejected | None,
        tracking: Tracking,
        write: Callable[[list[Statement], Tracking], None],
        before: int | None = None,
    ) -> None:
        """Write one event's change, or its quarantine row if that change fails (``before``:
        the position the write expects, None for ``SqlView.apply``, which checks itself)."""
        try:
            write(self._statements(found, tracking), tracking)
        except OUTAGES:
            raise
        except Exception as error:
            if isinstance(error, IntegrityError):
                moved = self.view.max_tracking_id(tracking.application_name) or 0
                if moved != before and (before is not None or moved >= tracking.notification_id):
                    raise  # another runner moved the position: not this event's fault
            write([self._quarantined(tracking, reason_of(error, self.name))], tracking)
