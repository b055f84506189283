"""A topic prefix is a tenant on a shared broker: its own principals, groups, ACLs and relay
position; provisioning one tenant leaves another's passwords alone; a relay whose topics are
empty or gone while its stored position is not refuses instead of skipping the log.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from kafka import KafkaAdminClient

from hub import topics
from hub.application import HubApplication
from hub.errors import ConfigurationError, RelayPositionAheadError, ServiceUnavailableError
from hub.kafka_config import client_config
from hub.settings import Settings
from ops.wiring import open_ledger, open_relay
from producers.provision import provision
from tests.agency_support import refer, relay_writer
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

AGENCY = "moji.houkatsu"
# How tests.kafka_read reports a refused read: no describe (may not read) or no read.
DENIED = r"may not read it|TopicAuthorizationFailed"


def _tenant(tmp_path: Path, name: str, **update: object) -> Settings:
    return Settings(
        sqlite_path=tmp_path / "hub.sqlite",
        kafka_topic_prefix=f"{name}{uuid4().hex[:8]}.",
        **update,  # type: ignore[arg-type]
    )


def _publish_one(settings: Settings, value: bytes) -> None:
    writer = relay_writer(settings)
    try:
        writer.send(topics.referrals(settings, AGENCY), value, key=b"case")
    finally:
        writer.close()


def test_provisioning_one_tenant_leaves_the_passwords_of_another_alone(
    kafka_broker: object, tmp_path: Path
) -> None:
    first = _tenant(tmp_path, "a")
    provision(first, [AGENCY])
    _publish_one(first, "試験".encode())
    # Another tenant, with a provisioning secret of its own, on the same broker.
    provision(_tenant(tmp_path, "b", provisioning_secret="試験-other-tenant-secret"), [AGENCY])
    records = read_raw(first, topics.referrals(first, AGENCY), user=AGENCY)
    assert [r.value for r in records] == ["試験".encode()]


def test_a_tenants_principals_reach_no_topic_of_another_tenant(
    kafka_broker: object, tmp_path: Path
) -> None:
    first, second = _tenant(tmp_path, "a"), _tenant(tmp_path, "b")
    for tenant in (first, second):
        provision(tenant, [AGENCY])
        _publish_one(tenant, f"試験 {tenant.kafka_topic_prefix}".encode())
    assert topics.principal(first, AGENCY) != topics.principal(second, AGENCY)
    assert read_raw(first, topics.referrals(first, AGENCY), user=AGENCY)  # control
    with pytest.raises(ServiceUnavailableError, match=DENIED):
        read_raw(first, topics.referrals(second, AGENCY), user=AGENCY)
    with pytest.raises(ServiceUnavailableError, match=DENIED):
        read_raw(first, topics.analytics(second), user="analyst")


def test_a_prefix_that_could_overlap_another_tenants_names_is_refused() -> None:
    for prefix in ("hub.", "referrals.", "moji.", "x.kokurakita.", "no-dot", "a..b."):
        with pytest.raises(ConfigurationError, match="HUB_KAFKA_TOPIC_PREFIX"):
            provision(Settings(kafka_topic_prefix=prefix), [AGENCY])


def test_each_prefix_has_its_own_relay_position(kafka_broker: object, tmp_path: Path) -> None:
    first, second = _tenant(tmp_path, "a"), _tenant(tmp_path, "b")
    app = HubApplication(env=first.eventsourcing_env())
    refer(app, AGENCY)
    published = {}
    for tenant in (first, second):
        provision(tenant, [AGENCY])
        relay = open_relay(tenant)
        try:
            published[tenant.kafka_topic_prefix] = relay.drain().events
        finally:
            relay.producer.close()
    assert published[first.kafka_topic_prefix] > 0
    assert published[second.kafka_topic_prefix] == published[first.kafka_topic_prefix]
    positions = {t.kafka_topic_prefix: open_ledger(t).position() for t in (first, second)}
    assert len(set(positions.values())) == 1 and 0 not in positions.values()


def test_a_relay_whose_topics_are_empty_while_its_position_is_not_refuses(
    kafka_broker: object, tmp_path: Path
) -> None:
    tenant = _tenant(tmp_path, "e")
    provision(tenant, [AGENCY])
    open_ledger(tenant).record(7, [])  # a position whose records the broker no longer holds
    with pytest.raises(RelayPositionAheadError, match=r"is 7 but .*audit.consent is empty"):
        open_relay(tenant)


def test_a_relay_whose_topics_are_gone_refuses_in_one_line_naming_the_way_out(
    kafka_broker: object, tmp_path: Path
) -> None:
    tenant = _tenant(tmp_path, "g")
    app = HubApplication(env=tenant.eventsourcing_env())
    refer(app, AGENCY)
    provision(tenant, [AGENCY])
    relay = open_relay(tenant)
    try:
        assert relay.drain().events > 0
    finally:
        relay.producer.close()
    admin = KafkaAdminClient(**client_config(tenant), client_id="tenant-test")
    try:  # the broker loses the tenant's topics (wiped, or another cluster behind the address)
        admin.delete_topics([topics.audit(tenant)])
    finally:
        admin.close()
    env = {
        "HUB_SQLITE_PATH": str(tenant.sqlite_file),
        "HUB_KAFKA_TOPIC_PREFIX": tenant.kafka_topic_prefix,
        "HUB_KAFKA_BOOTSTRAP": tenant.kafka_bootstrap,
        "HUB_MODE": "development",
        "PATH": "/usr/bin:/bin",
    }
    run = [sys.executable, "-c", "from ops.cli.main import run; run()", "relay", "--once"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "does not exist" in lines[0] and "HUB_KAFKA_TOPIC_PREFIX=<new>" in lines[0]


def test_hub_relay_runs_as_its_own_principal_not_the_super_user(
    kafka_broker: object, tmp_path: Path
) -> None:
    tenant = _tenant(tmp_path, "r")
    app = HubApplication(env=tenant.eventsourcing_env())
    refer(app, AGENCY)
    provision(tenant, [AGENCY])
    env = {
        "HUB_SQLITE_PATH": str(tenant.sqlite_file),
        "HUB_KAFKA_TOPIC_PREFIX": tenant.kafka_topic_prefix,
        "HUB_KAFKA_BOOTSTRAP": tenant.kafka_bootstrap,
        "HUB_MODE": "development",
        # The relay never needs the super user's password: a wrong one changes nothing.
        "HUB_KAFKA_PASSWORD": "試験-not-the-admin-password",
        "PATH": "/usr/bin:/bin",
    }
    run = [sys.executable, "-c", "from ops.cli.main import run; run()", "relay", "--once"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert read_raw(tenant, topics.referrals(tenant, AGENCY), user=AGENCY)


def test_the_relay_principal_may_write_its_streams_and_read_nothing(
    kafka_broker: object, tmp_path: Path
) -> None:
    tenant = _tenant(tmp_path, "w")
    provision(tenant, [AGENCY])
    writer = relay_writer(tenant)
    try:  # as the relay: allowed, and something to read on each of its topics
        for topic in (topics.referrals(tenant, AGENCY), topics.audit(tenant)):
            writer.send(topic, "試験".encode(), key=b"case")
    finally:
        writer.close()
    for topic in (
        topics.referrals(tenant, AGENCY),
        topics.replies(tenant, AGENCY),
        topics.audit(tenant),
    ):
        with pytest.raises(ServiceUnavailableError, match=DENIED):
            read_raw(tenant, topic, user="relay")
