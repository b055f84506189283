"""What `hub services up kafka --brokers 3` writes for each node, without starting anything."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hub import topics
from hub.errors import ConfigurationError, ServiceUnavailableError
from hub.settings import Settings
from ops.services import kafka, kafka_cluster
from producers import provision as provisioning
from producers.provision import topic_layout

SETTINGS = Settings(
    var_dir=Path("/unused/var"),
    kafka_bootstrap="127.0.0.1:29092",
    kafka_controller_port=29093,
    kafka_controller_secret="試験-controller-secret",
)
# What a node of the cluster may set differently from the single broker.
NODE_KEYS = {
    "listeners",
    "advertised.listeners",
    "log.dirs",
    "node.id",
    "controller.quorum.bootstrap.servers",
    "controller.quorum.voters",
    "default.replication.factor",
    "min.insync.replicas",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
}


def test_each_node_has_its_own_ports_and_folder_counted_from_the_settings() -> None:
    nodes = kafka_cluster.nodes(SETTINGS, 3)
    assert [n.address for n in nodes] == [f"127.0.0.1:{p}" for p in (29092, 29094, 29096)]
    assert [n.settings.kafka_controller_port for n in nodes] == [29093, 29095, 29097]
    assert [n.paths.home.name for n in nodes] == ["node-1", "node-2", "node-3"]
    assert len({n.paths.home for n in nodes}) == 3
    assert kafka_cluster.bootstrap(SETTINGS, 3) == (
        "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    )


def test_every_node_is_a_voter_and_replicates_internal_topics_three_times_two_in_sync() -> None:
    nodes = kafka_cluster.nodes(SETTINGS, 3)
    props = kafka_cluster.node_properties(nodes[1], nodes)
    assert props["node.id"] == "2"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
    )
    assert "controller.quorum.bootstrap.servers" not in props
    assert props["listeners"] == "CLIENT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["min.insync.replicas"] == "2"


def test_a_node_keeps_the_single_brokers_authentication_and_authorizer_exactly() -> None:
    nodes = kafka_cluster.nodes(SETTINGS, 3)
    single = kafka.server_properties(SETTINGS, kafka.KafkaPaths(Path("/unused")))
    for node in nodes:
        props = kafka_cluster.node_properties(node, nodes)
        same = {k: v for k, v in props.items() if k not in NODE_KEYS}
        assert same == {k: v for k, v in single.items() if k not in NODE_KEYS}
    jaas = props["listener.name.controller.plain.sasl.jaas.config"]
    assert 'password="試験-controller-secret"' in jaas
    assert props["allow.everyone.if.no.acl.found"] == "false"


def test_ports_that_would_overlap_are_refused() -> None:
    # The controller port one above the client port of node 1 is node 2's client port.
    crossed = SETTINGS.model_copy(update={"kafka_controller_port": 29094})
    with pytest.raises(ConfigurationError, match="overlap"):
        kafka_cluster.nodes(crossed, 3)
    with pytest.raises(ConfigurationError):
        kafka_cluster.nodes(SETTINGS, kafka_cluster.MAX_BROKERS + 1)


@pytest.mark.parametrize(
    ("brokers", "factor", "in_sync"), [(1, 1, None), (2, 2, None), (3, 3, "2"), (5, 3, "2")]
)
def test_provisioning_replicates_by_the_clusters_size(
    brokers: int, factor: int, in_sync: str | None
) -> None:
    layout = topic_layout(brokers)
    assert layout["replication_factor"] == factor
    assert layout.get("configs", {}).get("min.insync.replicas") == in_sync
    assert kafka_cluster.replication(brokers)[0] == factor


def test_a_node_seen_gone_once_is_looked_at_again_before_its_start_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(kafka.time, "monotonic", lambda: now[0])
    gone = kafka.Gone()
    assert gone.confirmed("no process 7") is None  # seen once: not yet
    now[0] += kafka.DEAD_CONFIRM_S / 2
    assert gone.confirmed(None) is None  # it runs after all
    now[0] += kafka.DEAD_CONFIRM_S
    assert gone.confirmed("no process 7") is None  # gone again: the wait starts over
    now[0] += kafka.DEAD_CONFIRM_S
    assert gone.confirmed("no process 7") == "no process 7"


def test_why_a_broker_is_not_running_is_said(tmp_path: Path) -> None:
    paths = kafka.KafkaPaths(tmp_path)
    assert kafka.why_not_running(paths) == f"no pid in {paths.pid_file}"
    paths.pid_file.parent.mkdir(parents=True, exist_ok=True)
    paths.pid_file.write_text(f"{os.getpid()}\n")  # this Python: alive, not a broker
    assert "is not a broker" in str(kafka.why_not_running(paths))
    assert kafka.running_pid(paths) is None


class _Cluster:
    """An admin client of a three-broker cluster with ``up`` brokers answering; the tenant's
    topics made earlier (``existing``) have three replicas. Records what it was asked."""

    def __init__(self, up: int, existing: list[str]) -> None:
        self.up = up
        self.existing = existing
        self.created: dict[str, Any] = {}

    def list_topics(self) -> list[str]:
        return list(self.existing)

    def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": n} for n in range(1, self.up + 1)]}

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        return [{"name": n, "partitions": [{"replica_nodes": [1, 2, 3]}]} for n in names]

    def create_topics(self, new: dict[str, Any], **_: Any) -> None:
        self.created.update(new)

    def alter_configs(self, *_: Any) -> None:
        pass

    def alter_user_scram_credentials(self, upserts: list[Any]) -> dict[str, str]:
        return {}

    def describe_user_scram_credentials(self, users: list[str]) -> dict[str, Any]:
        listed = [{"mechanism": "SCRAM-SHA-512", "iterations": 4096}]
        return {user: {"error": None, "credential_infos": listed} for user in users}

    def create_acls(self, acls: list[Any]) -> dict[str, list[Any]]:
        return {"succeeded": acls, "failed": []}

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("up", "made"), [(3, True), (2, False)])
def test_an_agency_that_joins_while_a_broker_is_down_gets_no_topic_with_fewer_replicas(
    up: int, made: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(mode="development", var_dir=Path("/unused/var"))
    joining = "moji.houkatsu"
    earlier = [t for t in topics.all_topics(settings, [joining]) if joining not in t]
    cluster = _Cluster(up, earlier)
    monkeypatch.setattr(provisioning.kafka_clients, "admin", lambda *_, **__: cluster)
    if made:
        provisioning.provision(settings, [joining])
        assert {
            t: (c["replication_factor"], c["configs"]["min.insync.replicas"])
            for t, c in cluster.created.items()
        } == {
            topics.referrals(settings, joining): (3, "2"),
            topics.deadletter(settings, joining): (3, "2"),
            topics.replies(settings, joining): (3, "2"),
        }
        return
    with pytest.raises(ServiceUnavailableError, match="only 2 of the cluster's brokers are up"):
        provisioning.provision(settings, [joining])
    assert cluster.created == {}
