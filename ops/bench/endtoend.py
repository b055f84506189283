"""End to end: a command accepted by the hub → the row in an agency's inbox, at a set rate.

Hub side: in one process, commands ``ReferCase`` (to one agency, on cases opened untimed
beforehand) are executed on a schedule of ``rate`` per second; the relay follows the log
(``Relay.follow``) and the agency client (``AgencyConsumer`` over Kafka, SQLite inbox)
applies the records. Latency is from ``execute`` returning to the inbox row committed.
Baseline: a producer with the relay's settings sends records of the same size to a topic on
the same broker at the rate the hub achieved, a consumer in the same process receives them;
latency is from ``send`` to receipt. Both sides share one process (and GIL), as the hub's
parts do here.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from consumers.agency import AgencyConsumer
from consumers.config import ConsumerSettings
from consumers.stopping import StopFlag
from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.errors import ServiceUnavailableError
from hub.kafka_config import client_config
from hub.settings import Settings, StoreKind
from ops.bench import workload
from ops.bench.measure import Row
from ops.bench.stores import fresh_store
from ops.cli.agency import agency_consumer
from producers.ledger import open_ledger
from producers.provision import provision
from producers.relay import Relay, make_producer

FIGURE = "end to end p50/p99"
AGENCY = "kokurakita.hoken"
WINDOW = "kokurakita.houkatsu"
SLACK_MS = 50.0
WAIT_S = 20.0


def _percentiles(latencies_ms: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return statistics.median(latencies_ms), cuts[98]


def _paced(count: int, rate: float, act: Callable[[int], None]) -> float:
    """Calls ``act(i)`` on a schedule of ``rate`` per second; returns the achieved rate."""
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        act(i)
    return count / (time.perf_counter() - start)


def _open_cases(app: HubApplication, count: int) -> list[uuid.UUID]:
    cases = []
    for n in range(count):
        raw = workload.case_commands(workload.random.Random(n), n)[0]
        raw = {**raw, "window_agency": WINDOW}
        app.execute(c.COMMAND_ADAPTER.validate_python(raw))
        cases.append(c.derived_id(uuid.UUID(raw["command_id"]), "case_id"))
    return cases


def _refer(case_id: uuid.UUID) -> c.ReferCase:
    return c.ReferCase(
        command_id=uuid.uuid4(),
        occurred_at=workload.T0,
        case_id=case_id,
        referral_id=uuid.uuid4(),
        agency_id=AGENCY,
        purpose="service_provision",
        urgency="soon",
    )


def run_hub(settings: Settings, count: int, rate: float) -> tuple[list[float], float, int]:
    """(latencies in ms, achieved command rate, record size in bytes) for one run."""
    prefix = f"bench-e2e-{uuid.uuid4().hex[:8]}."
    with fresh_store(settings, settings.store) as fresh, TemporaryDirectory() as tmp:
        fresh = fresh.model_copy(update={"kafka_topic_prefix": prefix})
        provision(fresh, [AGENCY])
        app = HubApplication(env=fresh.eventsourcing_env())
        relay_app = HubApplication(env=fresh.eventsourcing_env())
        cases = _open_cases(app, min(count, 50))
        accepted: dict[str, float] = {}
        arrived: dict[str, float] = {}
        sizes: list[int] = []
        relay = Relay(fresh, relay_app, open_ledger(fresh), make_producer(fresh))
        stop_relay, stop_consumer, ready = threading.Event(), StopFlag(), threading.Event()
        inbox = ConsumerSettings(agency_inbox_path=Path(tmp) / "inbox.sqlite")

        def consume() -> None:
            # The inbox's SQLite connection must be made in the thread that uses it.
            group = f"{AGENCY}.bench-{uuid.uuid4().hex[:6]}"
            consumer = agency_consumer(AGENCY, fresh, inbox, group=group)
            _watch_inbox(consumer, arrived, sizes)
            ready.set()
            try:
                consumer.run(stop_consumer)
            finally:
                consumer.source.close()
                consumer.inbox.close()

        threads = [
            threading.Thread(target=relay.follow, args=(stop_relay, 0.005), daemon=True),
            threading.Thread(target=consume, daemon=True),
        ]
        for thread in threads:
            thread.start()
        ready.wait(timeout=WAIT_S)
        try:
            commands = [_refer(cases[i % len(cases)]) for i in range(count)]

            def act(i: int) -> None:
                app.execute(commands[i])
                accepted[str(commands[i].referral_id)] = time.perf_counter()

            achieved = _paced(count, rate, act)
            _wait(lambda: all(r in arrived for r in accepted))
        finally:
            stop_relay.set()
            stop_consumer.request()
            for thread in threads:
                thread.join(timeout=10)
            relay.producer.close()
            app.close()
            relay_app.close()
            _drop_topics(fresh)
    latencies = [(arrived[r] - t) * 1000 for r, t in accepted.items()]
    return latencies, achieved, int(statistics.median(sizes)) if sizes else 1000


def _watch_inbox(consumer: AgencyConsumer, arrived: dict[str, float], sizes: list[int]) -> None:
    """Notes when each referral's row is committed to the inbox."""
    apply = consumer.inbox.apply
    handle = consumer.handle

    def timed_apply(entry: Any) -> bool:
        done = apply(entry)
        if done and entry.event_type == "ReferralMade" and entry.referral_id:
            arrived[str(entry.referral_id)] = time.perf_counter()
        return done

    def sized_handle(record: Any) -> str:
        sizes.append(len(record.value))
        return handle(record)

    consumer.inbox.apply = timed_apply  # type: ignore[method-assign]
    consumer.handle = sized_handle  # type: ignore[method-assign]


def _drop_topics(settings: Settings) -> None:
    """Removes this run's topics (best effort: a leftover topic only costs disk)."""
    try:
        admin = KafkaAdminClient(**client_config(settings), client_id="hub-bench")
    except KafkaError:
        return
    try:
        mine = [t for t in admin.list_topics() if t.startswith(settings.kafka_topic_prefix)]
        if mine:
            admin.delete_topics(mine)
    except KafkaError:
        pass
    finally:
        admin.close()


def _wait(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise ServiceUnavailableError("end to end: records did not all arrive within 60 s")
        time.sleep(0.005)


def run_baseline(settings: Settings, count: int, rate: float, size: int) -> list[float]:
    """Latencies (ms) of raw produce → consume of ``size``-byte records at ``rate``/s."""
    prefix = f"bench-e2e-{uuid.uuid4().hex[:8]}."
    fresh = settings.model_copy(update={"kafka_topic_prefix": prefix})
    provision(fresh, [AGENCY])
    topic = topics.referrals(fresh, AGENCY)
    consumer = KafkaConsumer(**client_config(fresh), enable_auto_commit=False, group_id=None)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    producer = make_producer(fresh)
    sent: dict[bytes, float] = {}
    received: dict[bytes, float] = {}
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                now = time.perf_counter()
                for record in records:
                    received[record.key] = now

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    payload = os.urandom(size)
    try:

        def act(i: int) -> None:
            key = str(i).encode()
            sent[key] = time.perf_counter()
            producer.send(topic, key=key, value=payload)

        _paced(count, rate, act)
        producer.flush()
        _wait(lambda: len(received) >= count)
    finally:
        stop.set()
        thread.join(timeout=10)
        consumer.close()
        producer.close()
        _drop_topics(fresh)
    return [(received[k] - t) * 1000 for k, t in sent.items()]


def bench(settings: Settings, store: StoreKind, count: int, rate: float) -> list[Row]:
    settings = settings.model_copy(update={"store": store})
    hub_ms, achieved, size = run_hub(settings, count, rate)
    base_ms = run_baseline(settings, count, achieved, size)
    (hub50, hub99), (base50, base99) = _percentiles(hub_ms), _percentiles(base_ms)
    note = (
        f"{count} ReferCase commands asked at {rate:.0f}/s, the hub achieved {achieved:.0f}/s; "
        f"baseline at {achieved:.0f}/s, {size}-byte records"
    )
    return [
        Row("end to end p50", store, hub50, base50, hub50 / base50, "(reported)", None, "ms", note),
        Row(
            "end to end p99",
            store,
            hub99,
            base99,
            hub99 / base99,
            f"≤ baseline + {SLACK_MS:.0f} ms",
            hub99 <= base99 + SLACK_MS,
            "ms",
            note,
        ),
    ]
