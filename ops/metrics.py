"""Prometheus metrics of the hub's long-running processes (docs/METRICS.md).

Each collector reads its store (the log, the relay's ledger, a view, an inbox, Kafka's
committed offsets) when Prometheus scrapes, so a restarted process reports the truth at once
and no loop carries counters for it. Only what happens in a process and is stored nowhere
(a command's latency, a reply parked by this run) is counted as it happens. The collectors
are built by the composition root (``ops.wiring``), served by ``expose`` on their own port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.domain.case import Case
from hub.errors import HubError
from hub.logging import get_logger
from hub.quarantine import reason_of, screen, stop_on_keys

# Ages of an unanswered referral, as labels (upper bounds; the last has none).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt_30m", timedelta(minutes=30)),
    ("lt_4h", timedelta(hours=4)),
    ("lt_1d", timedelta(days=1)),
    ("lt_3d", timedelta(days=3)),
    ("ge_3d", None),
)
URGENCIES = ("routine", "soon", "urgent", "life_at_risk")
PAGE = 1000
log = get_logger(__name__)


def _topic(name: str) -> str:
    return get_topic(getattr(Case, name))


MADE = _topic("ReferralMade")
ANSWERED = _topic("ReferralAnswered")
CANCELLED = _topic("ReferralCancelled")
ESCALATED = _topic("ReferralEscalated")
CLOSED = _topic("CaseClosed")


class Log(Protocol):
    def max_notification_id(self) -> int | None: ...


class Position(Protocol):
    def position(self) -> int: ...


def registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of the hub's own collectors (no process or platform metrics)."""
    found = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        found.register(collector)
    return found


def expose(metrics: CollectorRegistry, port: int, host: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; the server (``shutdown()``)."""
    server, _thread = start_http_server(port, addr=host, registry=metrics)
    return server


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


# The log and the relay --------------------------------------------------------------------


class LogPosition(Collector):
    """The last position of the log of record."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def collect(self) -> Iterator[Metric]:
        yield _gauge(
            "hub_log_position", "Last notification id of the log of record.", self._position()
        )

    def _position(self) -> int:
        return self.log.max_notification_id() or 0


class RelayLag(LogPosition):
    """The log's position, the relay's stored position, and the difference (the lag)."""

    def __init__(self, log: Log, ledger: Position) -> None:
        super().__init__(log)
        self.ledger = ledger

    def collect(self) -> Iterator[Metric]:
        relayed = self.ledger.position()
        position = max(self._position(), relayed)
        yield _gauge("hub_log_position", "Last notification id of the log of record.", position)
        yield _gauge(
            "hub_relay_position", "Last notification id the relay published and stored.", relayed
        )
        yield _gauge(
            "hub_relay_lag",
            "Events recorded in the log and not yet published by the relay.",
            position - relayed,
        )


class Disclosures(Collector):
    """Disclosures recorded in the relay's ledger, by legal basis."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "hub_disclosures",
            "Disclosures of personal fields recorded in the relay's ledger, by legal basis.",
            labels=["basis"],
        )
        for basis, count in sorted(self.counts().items()):
            family.add_metric([basis], count)
        yield family


class ProjectionLag(Collector):
    """Per view: events of the log not yet applied."""

    def __init__(self, log: Log, positions: Callable[[], dict[str, int]]) -> None:
        self.log = log
        self.positions = positions

    def collect(self) -> Iterator[Metric]:
        position = self.log.max_notification_id() or 0
        family = GaugeMetricFamily(
            "hub_projection_lag",
            "Events recorded in the log and not yet applied to the view.",
            labels=["projection"],
        )
        for name, at in sorted(self.positions().items()):
            family.add_metric([name], max(position - at, 0))
        yield family


# Referrals --------------------------------------------------------------------------------


class ReferralWatch:
    """Referrals still waiting for their first answer, and escalations, folded from the log.

    Escalated referrals stay unanswered until the agency answers: the escalation tells the
    coordinator, it does not answer for the agency.
    """

    def __init__(self) -> None:
        self.position = 0
        self.open: dict[UUID, tuple[UUID, str, datetime]] = {}  # referral: case, urgency, made
        self.escalations = 0

    def catch_up(self, recorder: Any, to_domain_event: Callable[[Any], Any]) -> None:
        while True:
            batch = recorder.select_notifications(
                start=self.position,
                limit=PAGE,
                topics=(MADE, ANSWERED, CANCELLED, ESCALATED, CLOSED),
                inclusive_of_start=False,
            )
            for notification in batch:
                try:
                    event = to_domain_event(notification)
                except Exception as error:  # an event no model reads: pass over it, as the
                    stop_on_keys(error)  # timers do (keys that do not unwrap still stop)
                    log.warning(
                        "metrics.unreadable",
                        position=notification.id,
                        reason=reason_of(error, "decoding"),
                    )
                    continue
                self._apply(notification.topic, event.payload)
            if batch:
                self.position = batch[-1].id
            if len(batch) < PAGE:
                return

    def _apply(self, topic: str, payload: Any) -> None:
        if topic == MADE:
            if screen(payload):  # an implausible instant: no deadline, as for the timers
                return
            self.open[payload.referral_id] = (
                payload.case_id,
                payload.urgency,
                payload.occurred_at,
            )
        elif topic in (ANSWERED, CANCELLED):
            self.open.pop(payload.referral_id, None)
        elif topic == ESCALATED:
            self.escalations += 1
        elif topic == CLOSED:
            for referral_id in [r for r, o in self.open.items() if o[0] == payload.case_id]:
                del self.open[referral_id]


def age_bucket(age: timedelta) -> str:
    for name, bound in AGE_BUCKETS:
        if bound is None or age < bound:
            return name
    raise AssertionError("the last bucket has no bound")


class Referrals(Collector):
    """Unanswered referrals by urgency and age, those past their timer, and escalations."""

    def __init__(
        self,
        app: Any,
        deadline_of: Callable[[str, datetime], datetime],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app = app
        self.deadline_of = deadline_of
        self.now = now
        self.watch = ReferralWatch()
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            self.watch.catch_up(self.app.recorder, self.app.mapper.to_domain_event)
            open_ = list(self.watch.open.values())
            escalations = self.watch.escalations
        now = self.now()
        waiting = GaugeMetricFamily(
            "hub_referrals_unanswered",
            "Referrals with no answer yet (escalated ones included), by urgency and age.",
            labels=["urgency", "age"],
        )
        overdue = GaugeMetricFamily(
            "hub_referrals_overdue",
            "Referrals unanswered past the acknowledgement timer of their urgency.",
            labels=["urgency"],
        )
        oldest = GaugeMetricFamily(
            "hub_referral_oldest_unanswered_seconds",
            "Age of the oldest unanswered referral, by urgency (0: none).",
            labels=["urgency"],
        )
        counts = {(u, a): 0 for u in URGENCIES for a, _ in AGE_BUCKETS}
        late = dict.fromkeys(URGENCIES, 0)
        ages = dict.fromkeys(URGENCIES, 0.0)
        for _case, urgency, made in open_:
            age = max(now - made, timedelta(0))
            counts[urgency, age_bucket(age)] = counts.get((urgency, age_bucket(age)), 0) + 1
            if now >= self.deadline_of(urgency, made):
                late[urgency] = late.get(urgency, 0) + 1
            ages[urgency] = max(ages.get(urgency, 0.0), age.total_seconds())
        for (urgency, age_name), count in sorted(counts.items()):
            waiting.add_metric([urgency, age_name], count)
        for urgency in sorted(late):
            overdue.add_metric([urgency], late[urgency])
            oldest.add_metric([urgency], ages[urgency])
        yield waiting
        yield overdue
        yield oldest
        yield CounterMetricFamily(
            "hub_escalations",
            "Referrals escalated to the ward's coordinator (ReferralEscalated events).",
            value=escalations,
        )


# The agency side and dead letters ---------------------------------------------------------


class DeadLetters(Collector):
    """Records parked on a dead-letter topic, by stream."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "hub_dead_letters",
            "Records parked on a dead-letter topic instead of being applied, by stream.",
            labels=["stream"],
        )
        for stream, count in sorted(self.counts().items()):
            family.add_metric([stream], count)
        yield family


class ConsumerLag(Collector):
    """Per agency (consumer group): records on its topic not yet committed."""

    def __init__(self, lags: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.lags = lags
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "hub_consumer_lag",
            "Records on the agency's referral topic after its group's committed offset.",
            labels=["agency"],
        )
        with self.lock:
            try:
                for agency, lag in self.lags():
                    family.add_metric([agency], lag)
            except (HubError, KafkaError) as error:
                # The broker away: no sample (unknown), and the other metrics still served.
                log.warning("metrics.consumer_lag_unavailable", error=type(error).__name__)
        yield family


# Commands ---------------------------------------------------------------------------------


class CommandTimer(Collector):
    """Commands executed by this process, by type and outcome (recorded, duplicate, the
    refusal's error name), with their latency: counted as they happen, by this process."""

    def __init__(self) -> None:
        self.seconds = Histogram(
            "hub_command_seconds",
            "Time to validate and record a command, by command type and outcome.",
            ["command", "outcome"],
            registry=None,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )

    def wrap(self, execute: Callable[..., Any]) -> Callable[..., Any]:
        def timed(command: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "error"
            try:
                result = execute(command, *args, **kwargs)
                outcome = "duplicate" if getattr(result, "duplicate", False) else "recorded"
                return result
            except HubError as error:
                outcome = type(error).__name__
                raise
            finally:
                self.seconds.labels(type(command).__name__, outcome).observe(
                    time.perf_counter() - started
                )

        return timed

    def wrap_many(self, execute_many: Callable[..., Any]) -> Callable[..., Any]:
        """Times ``execute_many`` (a group written together: the reply ingester's answers):
        each command waited the group's time, and has its own outcome."""

        def timed(requests: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            results = execute_many(requests, *args, **kwargs)
            seconds = time.perf_counter() - started
            for (command, _actor), result in zip(requests, results, strict=True):
                self.seconds.labels(type(command).__name__, _outcome(result)).observe(seconds)
            return results

        return timed

    def collect(self) -> Iterable[Metric]:
        return self.seconds.collect()


def _outcome(result: Any) -> str:
    if isinstance(result, HubError):
        return type(result).__name__
    if isinstance(result, BaseException):
        return "error"
    return "duplicate" if getattr(result, "duplicate", False) else "recorded"
