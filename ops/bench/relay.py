"""Relay: log → governance → Avro → Kafka with the position stored, against a bare producer.

Hub side: ``producers.relay.Relay.drain`` over a fresh store holding the first N events of
the demo year (fresh ledger, so it starts from position 0). Baseline: a kafka-python
producer with the relay's own settings (idempotent, acks=all) sending random bytes of the
same sizes, with the same keys and headers, to the same topics, flushing at the same batch
boundaries; nothing decoded, nothing governed, no position stored. The record list comes
from one untimed pass of the relay with a recording fake producer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench.logs import LogSpec, ensure_log
from ops.bench.measure import Row, Stopwatch, interleaved, throughput_row
from ops.bench.stores import fresh_store
from producers.provision import provision

FIGURE = "relay"
TARGET = 0.5
BATCH = 500
TOPIC_PREFIX = "bench."


@dataclass(frozen=True)
class Sent:
    topic: str
    key: bytes
    size: int
    headers: list[tuple[str, bytes]]


class _Done:
    def get(self, timeout: float | None = None) -> None:
        return None


class RecordingProducer:
    """Stands in for KafkaProducer in the untimed pass: keeps what would have been sent."""

    def __init__(self) -> None:
        self.batches: list[list[Sent]] = [[]]

    def send(self, topic: str, key: bytes, value: bytes, headers: list[Any]) -> _Done:
        self.batches[-1].append(Sent(topic, key, len(value), list(headers)))
        return _Done()

    def flush(self) -> None:
        self.batches.append([])


def log_prefix(settings: Settings, store: StoreKind, spec: LogSpec, events: int) -> list[Any]:
    """The first ``events`` domain events of the log (re-encoded by each fresh store, so
    sealed with its own data keys)."""
    source, _ = ensure_log(settings, store, spec)
    app = wiring.open_application(source)
    try:
        notifications = app.recorder.select_notifications(start=None, limit=events)
        return [app.mapper.to_domain_event(n) for n in notifications]
    finally:
        app.close()


def _relay_once(settings: Settings, events: list[Any], producer: Any) -> float:
    with fresh_store(settings, settings.store) as fresh:
        app = wiring.open_application(fresh, seed_network=False)
        try:
            app.recorder.insert_events([app.mapper.to_stored_event(e) for e in events])
            relay = wiring.open_relay(fresh, app, producer=producer, batch_size=BATCH)
            with Stopwatch() as watch:
                relay.drain()
        finally:
            app.close()
    return watch.seconds


def _baseline_once(producer: Any, batches: list[list[Sent]], payloads: dict[int, bytes]) -> float:
    with Stopwatch() as watch:
        for batch in batches:
            futures = [
                producer.send(s.topic, key=s.key, value=payloads[s.size], headers=s.headers)
                for s in batch
            ]
            producer.flush()
            for future in futures:
                future.get(timeout=0)
    return watch.seconds


def bench(settings: Settings, store: StoreKind, spec: LogSpec, events: int, reps: int) -> Row:
    settings = settings.model_copy(update={"store": store, "kafka_topic_prefix": TOPIC_PREFIX})
    log = log_prefix(settings, store, spec, events)
    recorder = RecordingProducer()
    _relay_once(settings, log, recorder)
    batches = [b for b in recorder.batches if b]
    records = sum(len(b) for b in batches)
    agencies = sorted(
        {
            s.topic.removeprefix(f"{TOPIC_PREFIX}referrals.")
            for b in batches
            for s in b
            if s.topic.startswith(f"{TOPIC_PREFIX}referrals.")
        }
    )
    provision(settings, agencies)
    payloads = {s.size: os.urandom(s.size) for b in batches for s in b}
    producer = wiring.open_producer(settings)
    try:
        hubs, bases = interleaved(
            reps,
            lambda: len(log) / _relay_once(settings, log, producer),
            lambda: len(log) / _baseline_once(producer, batches, payloads),
        )
    finally:
        producer.close()
    note = (
        f"first {len(log)} events of the {spec} → {records} records on "
        f"{len({s.topic for b in batches for s in b})} topics, {reps} reps"
    )
    return throughput_row(FIGURE, store, hubs, bases, TARGET, note)
