"""A three-broker KRaft cluster (``hub services up kafka --brokers 3``) loses one broker to
SIGKILL (the leader of the busiest agency's topic, then the active controller) while the
relay, three agency clients and the reply ingester run a stream of commands and answers:
everything goes on while the broker is gone, and once it is back (every replica in sync
again) the topics, the inboxes and the log are those of a run without the failure.

The cluster is private to this module (its own ports, consecutive ones below the kernel's
ephemeral range, and its own var dir), so the shared broker and other sessions are untouched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from kafka.errors import KafkaConnectionError

from consumers.agency import reply_record
from consumers.inbox import Inbox
from consumers.kafka_io import KafkaWriter
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag
from hub import codec, kafka_clients, topics
from hub.application import HubApplication
from hub.kafka_clients import credentials
from hub.settings import Settings
from ops.services import kafka, kafka_cluster
from ops.wiring import open_application, open_ledger, open_relay, open_reply_ingester
from producers.provision import provision
from tests import kafka_wire
from tests.faults import history
from tests.faults.history import AGENCIES
from tests.faults.support import (
    agency_consumer,
    copy_store,
    deduplicated,
    events,
    inbox_progress,
    last_position,
    private_ports,
    relay_topics,
)
from tests.integration.streams import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BROKERS = 3
SEED = 20261202
BUSY = AGENCIES[0]
WAIT_S = 180.0
ROOT = Path(__file__).resolve().parents[2]


def hub_services(base: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``hub services …`` as an operator runs it, with the cluster's settings in its env."""
    env = {
        **os.environ,
        "HUB_VAR_DIR": str(base.var_dir),
        "HUB_KAFKA_BOOTSTRAP": base.kafka_bootstrap,
        "HUB_KAFKA_CONTROLLER_PORT": str(base.kafka_controller_port),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", "from ops.cli.main import run; run()", "services", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=kafka.START_TIMEOUT_S + 60,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Three nodes on consecutive ports below the ephemeral range (a node killed and started
    again must find its port free), started and stopped by the CLI."""
    first = private_ports(2 * BROKERS)
    base = Settings(
        var_dir=tmp_path_factory.mktemp("cluster") / "var",
        kafka_bootstrap=f"127.0.0.1:{first}",
        kafka_controller_port=first + 1,
    )
    try:
        started = hub_services(base, "up", "kafka", "--brokers", str(BROKERS))
        if started.returncode != 0:
            pytest.fail(f"the Kafka cluster could not start:\n{started.stdout}{started.stderr}")
        assert f"HUB_KAFKA_BOOTSTRAP={kafka_cluster.bootstrap(base, BROKERS)}" in started.stdout
        shown = hub_services(base, "status").stdout
        assert f"{BROKERS} of {BROKERS} brokers serving" in shown, shown
        yield base
    finally:
        stopped = hub_services(base, "down", "kafka")
        left = kafka_cluster.running_nodes(base)
        kafka_cluster.down(base)  # whatever the CLI did, no node outlives the module
        assert left == {}, f"hub services down kafka left {left}: {stopped.stdout}{stopped.stderr}"


def clients(base: Settings, tmp_path: Path) -> Settings:
    """A fresh store and topic prefix, its clients bootstrapping from every node."""
    return base.model_copy(
        update={
            "kafka_bootstrap": kafka_cluster.bootstrap(base, BROKERS),
            "store": "sqlite",
            "sqlite_path": tmp_path / "hub.sqlite",
            "kafka_topic_prefix": f"c{uuid4().hex[:8]}.",
        }
    )


def partitions(settings: Settings, names: list[str]) -> dict[str, dict[str, Any]]:
    """Partition 0 of each topic as the cluster describes it (leader, replicas, isr)."""
    admin = kafka_clients.admin(settings, client_id="test-cluster")
    try:
        described = admin.describe_topics(names)
    finally:
        admin.close()
    found = {}
    for topic in described:
        (partition,) = topic["partitions"]
        found[topic["name"]] = {
            "leader": partition["leader_id"],
            "replicas": partition["replica_nodes"],
            "isr": partition["isr_nodes"],
        }
    return found


def topic_config(settings: Settings, topic: str, key: str) -> str:
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = kafka_clients.admin(settings, client_id="test-cluster")
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    value = found["topic"][topic][key]
    return str(value["value"] if isinstance(value, dict) else value)


def test_provisioning_on_three_brokers_makes_three_replicas_two_in_sync(
    cluster: Settings, tmp_path: Path
) -> None:
    settings = clients(cluster, tmp_path)
    provision(settings, [BUSY])
    names = topics.all_topics(settings, [BUSY])
    for name, partition in partitions(settings, names).items():
        assert sorted(partition["replicas"]) == [1, 2, 3], name
        assert topic_config(settings, name, "min.insync.replicas") == "2", name


def test_every_node_refuses_acl_and_config_calls_without_credentials_on_each_listener(
    cluster: Settings,
) -> None:
    opened = []
    for node in kafka_cluster.nodes(cluster, BROKERS):
        host, port = kafka._host_port(node.address)
        opened += [(host, port), ("127.0.0.1", node.settings.kafka_controller_port)]
    assert len(opened) == 2 * BROKERS
    for host, port in opened:
        calls = {
            "describe ACLs": kafka_wire.describe_acls(host, port),
            "describe configs": kafka_wire.describe_broker_configs(host, port),
        }
        answered = [name for name, response in calls.items() if kafka_wire.granted(response)]
        assert answered == [], f"{host}:{port} answered {answered} without credentials"


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

    def join(self) -> None:
        self._thread.join(60)
        assert not self._thread.is_alive(), f"{self.name} did not stop"


def all_in_sync(settings: Settings, names: list[str]) -> bool:
    """Every replica of ``names`` in sync; False while a node just started refuses the
    admin client's connection (its listener not up yet), which is not a failure."""
    try:
        described = partitions(settings, names)
    except KafkaConnectionError:
        return False
    return all(len(p["isr"]) == BROKERS for p in described.values())


def wait_until(predicate: Any, what: str, components: list[Running]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        for component in components:
            assert component.error is None, f"{component.name} died: {component.error!r}"
        assert time.monotonic() < deadline, f"not within {WAIT_S:.0f}s: {what}"
        time.sleep(0.2)


def referrals(app: HubApplication) -> list[Any]:
    return [e for e in events(app) if type(e).__name__ == "ReferralMade"]


def answer_all(settings: Settings, made: list[Any]) -> set[UUID]:
    """Each agency answers its referrals ``received`` on its reply topic (acks=all)."""
    writers: dict[str, KafkaWriter] = {}
    try:
        for event in made:
            agency = event.payload.agency_id
            if agency not in writers:
                writers[agency] = KafkaWriter(settings, *credentials(settings, agency))
            shown = {
                "referral_id": str(event.payload.referral_id),
                "case_id": str(event.payload.case_id),
            }
            record = reply_record(agency, shown, "received", None)
            writers[agency].send(
                topics.replies(settings, agency),
                codec.encode("ReferralReply", record),
                key=record["case_id"].encode(),
                headers=[
                    ("event_id", record["reply_id"].encode()),
                    ("event_type", b"ReferralReply"),
                ],
            )
    finally:
        for writer in writers.values():
            writer.close()
    return {e.payload.referral_id for e in made}


def answered(app: HubApplication) -> list[UUID]:
    return [e.payload.referral_id for e in events(app) if type(e).__name__ == "ReferralAnswered"]


def victim_of(settings: Settings, kind: str) -> int:
    if kind == "controller":
        return kafka_cluster.active_controller(settings, BROKERS)
    return int(
        partitions(settings, [topics.referrals(settings, BUSY)])[topics.referrals(settings, BUSY)][
            "leader"
        ]
    )


@pytest.mark.parametrize("kind", ["leader", "controller"])
def test_losing_a_broker_mid_stream_stops_nothing_and_loses_nothing(
    cluster: Settings, tmp_path: Path, kind: str
) -> None:
    settings = clients(cluster, tmp_path)
    provision(settings, list(AGENCIES))
    ours = topics.all_topics(settings, list(AGENCIES))
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(SEED, 8))

    stop, flag = threading.Event(), StopFlag()
    relay = open_relay(settings, batch_size=5)
    inboxes = {a: tmp_path / f"inbox-{a}.sqlite" for a in AGENCIES}

    def consume(agency: str) -> Any:
        def loop() -> None:  # built in its thread: an SQLite connection stays in one thread
            group = topics.agency_group(settings, agency, "cluster")
            consumer = agency_consumer(settings, agency, inboxes[agency], group)
            try:
                consumer.run(flag)
            finally:
                consumer.close()

        return loop

    def ingest() -> None:
        ingester = open_reply_ingester(settings, open_application(settings))
        try:
            ingester.run(flag)
        finally:
            ingester.close()

    running = [Running("the relay", lambda: relay.follow(stop, poll_seconds=0.2))]
    running += [Running(f"the client of {a}", consume(a)) for a in AGENCIES]
    running += [Running("the reply ingester", ingest)]
    ledger = open_ledger(settings)
    try:
        wait_until(lambda: ledger.position() > 0, "the relay started", running)
        victim = victim_of(settings, kind)
        node = kafka_cluster.nodes(cluster, BROKERS)[victim - 1]
        pid = kafka.running_pid(node.paths)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: kafka.running_pid(node.paths) is None, "the node died", running)

        # While it is gone: more commands, and every referral so far answered by its agency.
        history.apply(app, history.generate(SEED + 1, 8))
        sent = answer_all(settings, referrals(app))
        wait_until(lambda: set(answered(app)) == sent, "the answers are on the log", running)
        end = last_position(app)
        wait_until(lambda: ledger.position() >= end, "the relay reached the end", running)
        for name, partition in partitions(settings, ours).items():
            assert partition["leader"] not in (victim, -1), f"{name} has no serving leader"
        assert kafka.running_pid(node.paths) is None, "the victim came back by itself"

        kafka_cluster.start_node(cluster, BROKERS, victim)
        wait_until(lambda: all_in_sync(settings, ours), "every replica back in sync", running)
        history.apply(app, history.generate(SEED + 2, 4))
        end = last_position(app)
        wait_until(lambda: ledger.position() >= end, "the relay reached the end again", running)
        for agency in AGENCIES:
            topic_end = len(read_topic(settings, topics.referrals(settings, agency)))
            wait_until(
                lambda a=agency, n=topic_end: inbox_progress(inboxes[a]) >= n,  # type: ignore[misc]
                f"the inbox of {agency} reached the end",
                running,
            )
    finally:
        stop.set()
        flag.request()
        for component in running:
            component.join()
        relay.close()
        app.close()
    for component in running:
        assert component.error is None, f"{component.name} died: {component.error!r}"

    # The log: every answer recorded exactly once (the ingester kept its place).
    found = answered(HubApplication(env=settings.eventsourcing_env()))
    assert sorted(found) == sorted(sent)
    assert_same_topics_as_without_the_failure(settings, tmp_path)
    for agency in AGENCIES:
        reference = agency_consumer(
            settings,
            agency,
            tmp_path / f"reference-{agency}.sqlite",
            topics.agency_group(settings, agency, "reference"),
        )
        reference.run(StopFlag(), once=True)
        survivor = Inbox(SqliteDatabase(inboxes[agency]))
        assert survivor.snapshot() == reference.inbox.snapshot(), agency
        survivor.close()
        reference.close()


def assert_same_topics_as_without_the_failure(settings: Settings, tmp_path: Path) -> None:
    """The relay run again on a copy of the log, on fresh topics, with no broker lost."""
    reference = settings.model_copy(
        update={
            "sqlite_path": tmp_path / "reference" / "hub.sqlite",
            "kafka_topic_prefix": f"r{uuid4().hex[:8]}.",
        }
    )
    copy_store(settings.sqlite_file, reference.sqlite_file, forget_relay=True)
    provision(reference, list(AGENCIES))
    clean = open_relay(reference, batch_size=500)
    clean.drain()
    clean.producer.close()
    lost, expected = relay_topics(settings), relay_topics(reference)
    for name in lost:
        assert deduplicated(read_topic(settings, lost[name])) == deduplicated(
            read_topic(reference, expected[name])
        ), f"{name} differs from a run without the failure"
