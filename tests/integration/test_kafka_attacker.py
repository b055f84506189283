"""An attacker on the host against the real broker: every listener it opens, no credentials,
then an agency's own credentials (docs/GUARANTEES.md, "What an attacker on the host can and
cannot do").
"""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ConfigResource,
    ConfigResourceType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError

from hub import topics
from hub.errors import ServiceUnavailableError
from hub.kafka_clients import AdminClient
from hub.kafka_config import client_config, principal_config
from hub.settings import Settings
from ops.services import kafka as kafka_service
from producers.provision import provision
from tests import kafka_wire
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

AGENCY = "moji.houkatsu"


def _listeners(settings: Settings) -> list[tuple[str, str, int]]:
    """(name, host, port) of every listener in the properties the running broker was given."""
    path = kafka_service.KafkaPaths.of(settings).server_properties
    props = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    found = []
    for item in props["listeners"].split(","):
        name, _, address = item.partition("://")
        host, _, port = address.rpartition(":")
        found.append((name, host or "127.0.0.1", int(port)))
    return found


@pytest.fixture(scope="module")
def tenant(kafka_broker: object) -> Settings:
    settings = Settings(kafka_topic_prefix=f"atk{uuid4().hex[:8]}.")
    provision(settings, [AGENCY])
    return settings


def test_the_broker_opens_a_client_and_a_controller_listener(kafka_broker: object) -> None:
    names = {name for name, _, _ in _listeners(Settings())}
    assert names == {"CLIENT", "CONTROLLER"}


@pytest.mark.parametrize("listener", ["CLIENT", "CONTROLLER"])
def test_no_listener_answers_an_acl_or_config_call_without_credentials(
    tenant: Settings, listener: str
) -> None:
    host, port = next((h, p) for n, h, p in _listeners(tenant) if n == listener)
    agency = f"User:{topics.principal(tenant, AGENCY)}"
    calls = {
        "describe ACLs": kafka_wire.describe_acls(host, port),
        "create an ACL": kafka_wire.create_acl(host, port, agency, topics.audit(tenant)),
        "describe configs": kafka_wire.describe_broker_configs(host, port),
    }
    answered = [name for name, response in calls.items() if kafka_wire.granted(response)]
    assert answered == [], f"{listener} ({port}) answered {answered} without credentials"


@pytest.mark.parametrize("listener", ["CLIENT", "CONTROLLER"])
def test_an_admin_client_without_credentials_is_refused_on_every_listener(
    tenant: Settings, listener: str
) -> None:
    host, port = next((h, p) for n, h, p in _listeners(tenant) if n == listener)
    with pytest.raises(KafkaError):
        admin = AdminClient(  # the hub's: a refused bootstrap leaves no I/O thread behind
            bootstrap_servers=[f"{host}:{port}"],
            security_protocol="PLAINTEXT",
            bootstrap_timeout_ms=5000,
            request_timeout_ms=5000,
        )
        try:
            admin.describe_acls(_every_acl())
        finally:
            admin.close()


def _every_acl() -> ACLFilter:
    return ACLFilter(
        principal=None,
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


def test_an_agency_with_its_own_credentials_cannot_grant_itself_an_acl(tenant: Settings) -> None:
    audit = topics.audit(tenant)
    admin = KafkaAdminClient(**principal_config(tenant, AGENCY), client_id="atk-agency")
    try:
        grant = ACL(
            principal=f"User:{topics.principal(tenant, AGENCY)}",
            host="*",
            operation=ACLOperation.READ,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(ResourceType.TOPIC, audit),
        )
        result = admin.create_acls([grant])
        assert result["succeeded"] == [], "an agency granted itself an ACL"
        assert result["failed"], "create_acls reported neither success nor failure"
        with pytest.raises(KafkaError):
            admin.describe_acls(_every_acl())
        # kafka-python hands a refused DescribeConfigs back as a resource without entries.
        assert _broker_configs(admin) == {}, "an agency read the broker's configuration"
    finally:
        admin.close()
    control = KafkaAdminClient(**client_config(tenant), client_id="atk-control")
    try:
        assert _broker_configs(control), "the super user cannot read configs: a broken test"
    finally:
        control.close()
    time.sleep(1.0)  # had the grant gone through, it would have reached the authorizer by now
    with pytest.raises(ServiceUnavailableError, match=r"may not read it|TopicAuthorizationFailed"):
        read_raw(tenant, audit, user=AGENCY)
    assert read_raw(tenant, topics.referrals(tenant, AGENCY), user=AGENCY) == []  # control


def _broker_configs(admin: KafkaAdminClient) -> dict:
    found = admin.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, "1")], config_filter="all"
    )
    return dict(found.get("broker", {}).get("1", {}))
