"""A local KRaft cluster of several nodes (``hub services up kafka --brokers 3``), from the same
jars as the single broker (ops/services/kafka.py) and with the same security: SCRAM on the
client listener, PLAIN with the controller secret on the controller listener, the
StandardAuthorizer denying anything without an ACL.

Node ``n`` (1, 2, 3, …) listens for clients on the port of ``HUB_KAFKA_BOOTSTRAP`` plus
``2·(n-1)`` and for its controller on ``HUB_KAFKA_CONTROLLER_PORT`` plus ``2·(n-1)``; its
configuration, data and logs live under ``<var_dir>/kafka-cluster/node-<n>/``. Every node is
a broker and a voter of the controller quorum (static voters), so the cluster keeps a
controller and a leader for every partition when one node is gone. Internal topics are
replicated on three nodes with two in sync; the hub's own topics get the same from
provisioning, which reads the cluster's size (producers/provision.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import ConfigurationError, ServiceUnavailableError
from hub.files import private_dir, private_file
from hub.kafka_config import check_transport
from hub.settings import Settings
from ops.services import kafka

HEAP = ("-Xms256m", "-Xmx512m")  # three nodes share the machine with everything else
MAX_BROKERS = 4  # the ports of node n stay within 2·MAX_BROKERS of the settings' ones


def replication(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for a cluster of ``brokers`` nodes: three
    copies, two of them in sync, once there are three nodes (one may then be lost)."""
    factor = min(3, brokers)
    return factor, 2 if factor >= 3 else 1


@dataclass(frozen=True)
class Node:
    node_id: int
    settings: Settings  # the hub's settings with this node's own ports
    paths: kafka.KafkaPaths

    @property
    def address(self) -> str:
        return self.settings.kafka_bootstrap


def home(settings: Settings) -> Path:
    return settings.var_dir.resolve() / "kafka-cluster"


def nodes(settings: Settings, brokers: int) -> list[Node]:
    """The cluster's nodes, their ports counted from the settings' ones."""
    if not 2 <= brokers <= MAX_BROKERS:
        raise ConfigurationError(f"a local cluster has 2 to {MAX_BROKERS} brokers, not {brokers}")
    host, port = kafka._host_port(settings.kafka_bootstrap)
    ctrl = settings.kafka_controller_port
    found = []
    for n in range(1, brokers + 1):
        own = settings.model_copy(
            update={
                "kafka_bootstrap": f"{host}:{port + 2 * (n - 1)}",
                "kafka_controller_port": ctrl + 2 * (n - 1),
            }
        )
        found.append(Node(n, own, kafka.KafkaPaths(home(settings) / f"node-{n}")))
    ports = [p for node in found for p in _ports(node)]
    if len(set(ports)) != len(ports):
        raise ConfigurationError(
            f"the cluster's ports overlap ({sorted(ports)}): set HUB_KAFKA_CONTROLLER_PORT to "
            "the port of HUB_KAFKA_BOOTSTRAP plus one"
        )
    return found


def _ports(node: Node) -> tuple[int, int]:
    return kafka._host_port(node.address)[1], node.settings.kafka_controller_port


def bootstrap(settings: Settings, brokers: int) -> str:
    """What to set ``HUB_KAFKA_BOOTSTRAP`` to: every node's client address."""
    return ",".join(node.address for node in nodes(settings, brokers))


def node_properties(node: Node, members: list[Node]) -> dict[str, str]:
    props = kafka.server_properties(node.settings, node.paths)
    del props["controller.quorum.bootstrap.servers"]
    factor, in_sync = replication(len(members))
    props.update(
        {
            "node.id": str(node.node_id),
            "controller.quorum.voters": ",".join(
                f"{m.node_id}@127.0.0.1:{m.settings.kafka_controller_port}" for m in members
            ),
            "default.replication.factor": str(factor),
            "min.insync.replicas": str(in_sync),
            "offsets.topic.replication.factor": str(factor),
            "transaction.state.log.replication.factor": str(factor),
            "transaction.state.log.min.isr": str(in_sync),
            "share.coordinator.state.topic.replication.factor": str(factor),
            "share.coordinator.state.topic.min.isr": str(in_sync),
        }
    )
    return props


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    bootstrap: str
    pids: dict[int, int]
    started: tuple[int, ...] = ()
    seconds: float = 0.0
    cluster_id: str | None = None
    detail: str = ""


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    with kafka._locked(kafka.KafkaPaths(home(settings))):
        yield


def _cluster_id(settings: Settings) -> str:
    """One id for every node, kept beside them so a node formatted later joins the same one."""
    path = home(settings) / "cluster-id"
    if path.is_file():
        return path.read_text().strip()
    cluster_id = kafka._cluster_id()
    private_file(path).write_text(cluster_id + "\n")
    return cluster_id


def _prepare(node: Node, members: list[Node], cluster_id: str) -> None:
    kafka.write_config(node.settings, node.paths)  # folders, log4j, then our properties:
    kafka._write_properties(node.paths.server_properties, node_properties(node, members))
    kafka.format_storage(node.settings, node.paths, cluster_id=cluster_id, quorum=())


def up(settings: Settings, brokers: int, timeout_s: float = kafka.START_TIMEOUT_S) -> ClusterStatus:
    """Start every node that is not running; returns once all ``brokers`` are in the cluster."""
    began = time.monotonic()
    if settings.kafka_security_protocol != "SASL_PLAINTEXT":
        raise ConfigurationError(
            "the local cluster's brokers listen with SASL_PLAINTEXT on loopback only: unset "
            "HUB_KAFKA_SECURITY_PROTOCOL (SASL_SSL is for the single local broker, or the "
            "city's own cluster)"
        )
    check_transport(settings)  # nodes listen on HUB_KAFKA_BOOTSTRAP's host, in clear
    members = nodes(settings, brokers)
    private_dir(home(settings))
    with _locked(settings):
        started = []
        for node in members:
            if kafka.running_pid(node.paths) is not None:
                continue
            if kafka._port_open(node.settings):
                raise ServiceUnavailableError(
                    f"Something else listens on {node.address} (node {node.node_id} of the "
                    "cluster is not ours): stop it (hub services down kafka) or set "
                    "HUB_KAFKA_BOOTSTRAP."
                )
            kafka._require_bindable(node.settings)
            kafka._require("java")
            kafka.fetch_jars()
            _prepare(node, members, _cluster_id(settings))
            kafka.start_process(node.paths, heap=HEAP)
            started.append(node.node_id)
        cluster_id = wait_ready(settings, brokers, timeout_s)
    return ClusterStatus(
        True,
        bootstrap(settings, brokers),
        running_nodes(settings),
        tuple(started),
        time.monotonic() - began,
        cluster_id,
    )


def start_node(settings: Settings, brokers: int, node_id: int) -> int:
    """Start one node again (after it was stopped or killed); returns its pid at once."""
    node = nodes(settings, brokers)[node_id - 1]
    with _locked(settings):
        pid = kafka.running_pid(node.paths)
        return pid if pid is not None else kafka.start_process(node.paths, heap=HEAP)


def describe(settings: Settings, brokers: int, timeout_s: float = 3.0) -> dict[str, Any]:
    """The cluster as its nodes' addresses see it (any node that answers)."""
    multi = settings.model_copy(update={"kafka_bootstrap": bootstrap(settings, brokers)})
    return kafka.probe(multi, timeout_s)


def wait_ready(settings: Settings, brokers: int, timeout_s: float) -> str:
    """Wait until every node runs and the cluster counts all of them as brokers."""
    members = nodes(settings, brokers)
    deadline = time.monotonic() + timeout_s
    last = "not tried"
    gone = {node.node_id: kafka.Gone() for node in members}
    while time.monotonic() < deadline:
        for node in members:
            why = gone[node.node_id].confirmed(kafka.why_not_running(node.paths))
            if why is not None:
                raise ServiceUnavailableError(
                    f"Kafka node {node.node_id} exited while starting ({why}).\n"
                    + kafka.log_tail(node.paths)
                )
        try:
            cluster = describe(settings, brokers)
            serving = [b for b in cluster.get("brokers", []) if not b.get("is_fenced")]
            if len(serving) == brokers:
                return str(cluster.get("cluster_id"))
            last = f"{len(serving)} of {brokers} brokers serving"
        except Exception as error:
            last = f"{type(error).__name__}: {error}"
        time.sleep(0.25)
    raise ServiceUnavailableError(
        f"The Kafka cluster was not ready within {timeout_s:.0f}s (last: {last})."
        + "".join(f"\n{kafka.log_tail(n.paths, 10)}" for n in members)
    )


def active_controller(settings: Settings, brokers: int) -> int:
    """The node id of the quorum's leader: the active controller (``describe_cluster``'s
    controller id is any broker under KRaft)."""
    from hub import kafka_clients

    multi = settings.model_copy(update={"kafka_bootstrap": bootstrap(settings, brokers)})
    with kafka._quiet_kafka_python():
        admin = kafka_clients.admin(multi, client_id="hub-services")
        try:
            quorum = admin.describe_metadata_quorum()
        finally:
            admin.close()
    (partition,) = quorum["topics"][0]["partitions"]
    return int(partition["leader_id"])


def running_nodes(settings: Settings) -> dict[int, int]:
    """Node id → pid of every node of this var dir's cluster that runs."""
    found = {}
    for path in sorted(home(settings).glob("node-*")):
        pid = kafka.running_pid(kafka.KafkaPaths(path))
        if pid is not None:
            found[int(path.name.removeprefix("node-"))] = pid
    return found


def status(settings: Settings) -> ClusterStatus:
    pids = running_nodes(settings)
    brokers = len(list(home(settings).glob("node-*")))
    if not pids or brokers < 2:
        return ClusterStatus(False, "", {}, detail="stopped")
    try:
        cluster = describe(settings, brokers)
    except Exception as error:
        return ClusterStatus(
            False, bootstrap(settings, brokers), pids, detail=f"not ready: {type(error).__name__}"
        )
    serving = len([b for b in cluster.get("brokers", []) if not b.get("is_fenced")])
    try:
        controller = f"active controller {active_controller(settings, brokers)}"
    except Exception as error:
        controller = f"no active controller ({type(error).__name__})"
    return ClusterStatus(
        serving == brokers,
        bootstrap(settings, brokers),
        pids,
        cluster_id=str(cluster.get("cluster_id")),
        detail=f"{serving} of {brokers} brokers serving, {controller}",
    )


def down(settings: Settings, timeout_s: float = kafka.STOP_TIMEOUT_S) -> bool:
    """Stop every node of this var dir's cluster; False if none was running."""
    if not home(settings).is_dir():
        return False
    paths = [kafka.KafkaPaths(path) for path in sorted(home(settings).glob("node-*"))]
    with _locked(settings), ThreadPoolExecutor(max(1, len(paths))) as pool:
        # All at once: one by one, each controlled shutdown waits on the quorum of the rest.
        stopped = list(pool.map(lambda p: kafka.stop_process(p, timeout_s), paths))
    return any(stopped)
