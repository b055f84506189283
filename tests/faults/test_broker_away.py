"""The broker goes away mid-stream and comes back: commands keep being accepted into the log
(the log of record does not depend on Kafka); the relay and an agency consumer, left
running, wait and resume by themselves; the end state is that of a run without the outage
(the same topics, deduplicated by event id, and the same inbox).

The broker taken away is a private one (own port, own data under the test's directory), so
other tests and sessions sharing the machine's broker are not disturbed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from consumers.inbox import Inbox
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag
from hub import kafka_clients, topics
from hub.application import HubApplication
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from ops.services import kafka
from ops.wiring import open_ledger, open_relay
from producers.provision import provision
from projections.analytics import read_analytics
from tests.faults import history
from tests.faults.history import AGENCIES
from tests.faults.support import (
    agency_consumer,
    copy_store,
    deduplicated,
    inbox_progress,
    last_position,
    private_port,
    relay_topics,
)
from tests.integration.streams import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 20261129
AGENCY = AGENCIES[0]
CATCH_UP_S = 180.0


@pytest.fixture
def broker(kafka_broker: object, tmp_path: Path) -> Iterator[Settings]:
    """A private broker; always stopped at the end, whatever happened."""
    settings = Settings(
        store="sqlite",
        sqlite_path=tmp_path / "hub.sqlite",
        var_dir=tmp_path / "var",
        kafka_bootstrap=f"127.0.0.1:{private_port()}",
        kafka_controller_port=private_port(),
        kafka_topic_prefix="",
    )
    try:
        kafka.up(settings)
        provision(settings, AGENCIES)
        yield settings
    finally:
        kafka.down(settings)


class Running:
    """A component looping in a thread until stopped; keeps what killed it, if anything."""

    def __init__(self, name: str, loop: Any) -> None:
        self.name = name
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(loop,), daemon=True)
        self._thread.start()

    def _run(self, loop: Any) -> None:
        try:
            loop()
        except BaseException as error:
            self.error = error

    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        self._thread.join(60)


def wait_until(predicate: Any, what: str, components: list[Running]) -> None:
    deadline = time.monotonic() + CATCH_UP_S
    while not predicate():
        for component in components:
            assert component.error is None, f"{component.name} died: {component.error!r}"
        assert time.monotonic() < deadline, f"not caught up within {CATCH_UP_S:.0f}s: {what}"
        time.sleep(0.2)


def test_with_the_broker_away_commands_are_accepted_and_the_streams_resume_by_themselves(
    broker: Settings, tmp_path: Path
) -> None:
    settings = broker
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(SEED, 10))

    stop = threading.Event()
    relay = open_relay(settings, batch_size=5)
    inbox = tmp_path / "inbox.sqlite"
    stop_flag = StopFlag()

    def consume() -> None:  # built in its thread: an SQLite connection stays in one thread
        consumer = agency_consumer(
            settings, AGENCY, inbox, topics.agency_group(settings, AGENCY, "faults")
        )
        try:
            consumer.run(stop_flag)
        finally:
            consumer.close()

    relay_running = Running("the relay", lambda: relay.follow(stop, poll_seconds=0.2))
    consumer_running = Running("the agency consumer", consume)
    ledger = open_ledger(settings)
    try:
        wait_until(lambda: ledger.position() > 0, "the relay started", [relay_running])

        kafka.down(settings)
        try:
            # The log of record does not need the broker.
            more = history.generate(SEED + 1, 10)
            history.apply(app, more)
            assert all(app.is_duplicate(cmd.command_id) for cmd in more)
        finally:
            kafka.up(settings)

        history.apply(app, history.generate(SEED + 2, 5))
        end = last_position(app)
        wait_until(lambda: ledger.position() == end, "the relay reached the end", [relay_running])
        assert relay_running.alive(), "the relay stopped instead of waiting for the broker"
        assert_same_streams_as_without_the_outage(settings, tmp_path)

        topic_end = len(read_topic(settings, topics.referrals(settings, AGENCY)))
        deadline = time.monotonic() + CATCH_UP_S
        while inbox_progress(inbox) < topic_end:
            assert consumer_running.error is None, f"the consumer died: {consumer_running.error!r}"
            assert time.monotonic() < deadline, "the consumer did not reach the end"
            time.sleep(0.2)
    finally:
        stop.set()
        stop_flag.request()
        relay_running.join()
        consumer_running.join()
        relay.close()
        app.close()
    assert consumer_running.error is None, f"the consumer died: {consumer_running.error!r}"
    reference = agency_consumer(
        settings,
        AGENCY,
        tmp_path / "reference-inbox.sqlite",
        topics.agency_group(settings, AGENCY, "faults-reference"),
    )
    reference.run(StopFlag(), once=True)
    survivor = Inbox(SqliteDatabase(inbox))
    assert survivor.snapshot() == reference.inbox.snapshot()
    survivor.close()
    reference.close()


def assert_same_streams_as_without_the_outage(settings: Settings, tmp_path: Path) -> None:
    reference = settings.model_copy(
        update={
            "sqlite_path": tmp_path / "reference" / "hub.sqlite",
            "kafka_topic_prefix": f"r{uuid4().hex[:8]}.",
        }
    )
    copy_store(settings.sqlite_file, reference.sqlite_file, forget_relay=True)
    provision(reference, AGENCIES)
    clean = open_relay(reference, batch_size=500)
    clean.drain()
    clean.producer.close()
    crashed, expected = relay_topics(settings), relay_topics(reference)
    for name in crashed:
        assert deduplicated(read_topic(settings, crashed[name])) == deduplicated(
            read_topic(reference, expected[name])
        ), f"{name} differs from a run without the outage"


def test_a_port_held_without_a_listener_is_refused_at_once_by_name(tmp_path: Path) -> None:
    """What made the private broker's restart fail under load ("exited while starting"): its
    port, in the ephemeral range, was held by a socket that does not listen."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # as an outgoing connection's own port is
        port = held.getsockname()[1]
        settings = Settings(
            var_dir=tmp_path / "var",
            kafka_bootstrap=f"127.0.0.1:{port}",
            kafka_controller_port=private_port(),
        )
        began = time.monotonic()
        with pytest.raises(ServiceUnavailableError, match=f"cannot listen on 127.0.0.1:{port}"):
            kafka.up(settings)
        assert time.monotonic() - began < 5  # before any JVM is started
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert not [p for p in (private_port() for _ in range(50)) if low <= p <= high]


def test_the_analytics_reader_ends_with_a_clear_error_when_the_broker_goes_away(
    broker: Settings,
) -> None:
    """Without an idle guard the reader polled an absent broker forever (issue 15, item 3)."""
    topic = topics.analytics(broker)
    writer = kafka_clients.producer(broker, acks="all")
    big = b"x" * 100_000  # 10 MB in all: far more than one fetch, so reading is under way
    for n in range(100):
        writer.send(topic, value=big, headers=[("event_id", str(n).encode())])
    writer.flush()
    writer.close()
    idle_s, deadline_s = 5.0, 60.0
    reader = read_analytics(broker, idle_s=idle_s, deadline_s=deadline_s)
    assert next(reader)[0] == "0"
    kafka.down(broker)
    began = time.monotonic()
    ended: dict[str, BaseException | None] = {}

    def read_the_rest() -> None:
        try:
            for _ in reader:
                pass
        except BaseException as error:
            ended["error"] = error
        else:
            ended["error"] = None

    reading = threading.Thread(target=read_the_rest, daemon=True)
    reading.start()
    reading.join(deadline_s + 30)
    assert not reading.is_alive(), "the analytics reader still polls a broker that is gone"
    assert time.monotonic() - began < deadline_s
    error = ended["error"]
    assert isinstance(error, ServiceUnavailableError), f"ended with {error!r}"
    assert topic in str(error)
