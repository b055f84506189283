"""Provisioning the broker: the contract's topics, one SCRAM user per principal, and ACLs
so that each principal reads only its own topics (STREAMS.md, "Principals").

The topic prefix is a tenant: its principals (``<prefix>relay``, ``<prefix><agency>``), their
groups and ACLs carry it, so provisioning one prefix sets no password and no ACL of another.
Idempotent: existing topics are kept, credentials are upserted, ACLs are set again.
Passwords come from ``Settings.principal_password`` of the prefixed user.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ConfigResource,
    ConfigResourceType,
    ResourcePattern,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from hub import kafka_clients, topics
from hub.errors import ConfigurationError, ReservedAgencyIdError, ServiceUnavailableError
from hub.principals import CONTROLLER_USER, SERVICE_PRINCIPALS
from hub.reference import Network, agency_id_conflict, load_network
from hub.settings import Settings

LITERAL = ACLResourcePatternType.LITERAL
PREFIXED = ACLResourcePatternType.PREFIXED
CREDENTIALS_WAIT_S = 30.0


@dataclass(frozen=True)
class ProvisionReport:
    topics_created: tuple[str, ...]
    topics_existing: int
    users: tuple[str, ...]
    acls: int


def _allow(
    user: str,
    operations: Iterable[ACLOperation],
    resource_type: ResourceType,
    resource: str,
    pattern: ACLResourcePatternType = LITERAL,
) -> list[ACL]:
    return [
        ACL(
            principal=f"User:{user}",
            host="*",
            operation=operation,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(resource_type, resource, pattern),
        )
        for operation in operations
    ]


READ = (ACLOperation.READ, ACLOperation.DESCRIBE)
WRITE = (ACLOperation.WRITE, ACLOperation.DESCRIBE)
TOPIC = ResourceType.TOPIC
GROUP = ResourceType.GROUP


def acls(settings: Settings, agencies: Iterable[str]) -> list[ACL]:
    """Every ACL of the tenant; agency topics are literal so no agency id covers another.

    Principals and groups carry the prefix (``topics.principal``), so each pattern here reaches
    only this tenant's topics and groups (``topics.check_prefix`` keeps prefixes apart).
    """
    relay, hub, auditor, analyst = (topics.principal(settings, p) for p in SERVICE_PRINCIPALS)
    found = [
        *_allow(relay, WRITE, TOPIC, topics.name(settings, "referrals."), PREFIXED),
        *_allow(relay, WRITE, TOPIC, topics.audit(settings)),
        *_allow(relay, WRITE, TOPIC, topics.analytics(settings)),
        *_allow(relay, (ACLOperation.IDEMPOTENT_WRITE,), ResourceType.CLUSTER, "kafka-cluster"),
        *_allow(hub, READ, TOPIC, topics.name(settings, "replies."), PREFIXED),
        *_allow(hub, (ACLOperation.READ,), GROUP, f"{hub}.", PREFIXED),
        *_allow(hub, WRITE, TOPIC, topics.deadletter(settings, topics.REPLIES_DEADLETTER)),
        # ... and reads back what it parked there (`hub quarantine list`).
        *_allow(
            hub, (ACLOperation.READ,), TOPIC, topics.deadletter(settings, topics.REPLIES_DEADLETTER)
        ),
        *_allow(auditor, READ, TOPIC, topics.audit(settings)),
        *_allow(auditor, (ACLOperation.READ,), GROUP, f"{auditor}.", PREFIXED),
        *_allow(analyst, READ, TOPIC, topics.analytics(settings)),
        *_allow(analyst, (ACLOperation.READ,), GROUP, f"{analyst}.", PREFIXED),
    ]
    for agency_id in agencies:
        user = topics.principal(settings, agency_id)
        found += _allow(user, READ, TOPIC, topics.referrals(settings, agency_id))
        found += _allow(user, WRITE, TOPIC, topics.replies(settings, agency_id))
        found += _allow(user, WRITE, TOPIC, topics.deadletter(settings, agency_id))
        found += _allow(user, (ACLOperation.READ,), GROUP, f"{user}.", PREFIXED)
    return found


def _refuse_reserved(settings: Settings, network: Network, agency_ids: Iterable[str]) -> None:
    """No agency's SCRAM user may be a super user's or a service's (upserting its credentials
    would set their password), nor its group ACLs cover another agency's. A network recorded
    before such ids were refused may still hold one."""
    every = [a.id for a in network.agencies]
    for agency_id in agency_ids:
        user = topics.principal(settings, agency_id)
        problem = agency_id_conflict(agency_id, every)
        if problem is None and user in (settings.kafka_user, CONTROLLER_USER):
            problem = f"agency id {agency_id!r} is the Kafka super user {user!r}"
        if problem:
            raise ReservedAgencyIdError(
                f"{problem}; nothing was provisioned: retire it and register another id"
            )


def topic_layout(brokers: int) -> dict[str, Any]:
    """One partition (the order of a topic is the log's) with a replica on each broker up to
    three; from three brokers on, two replicas in sync before a write counts (acks=all), so
    losing one broker loses no acknowledged record and stops no writer."""
    layout: dict[str, Any] = {"num_partitions": 1, "replication_factor": min(3, brokers)}
    if brokers >= 3:
        layout["configs"] = {"min.insync.replicas": "2"}
    return layout


def _brokers_for(admin: Any, existing: list[str]) -> int:
    """The brokers to lay new topics out for: those up, unless the tenant's topics keep more
    replicas than that (a broker is down): then nothing is made, rather than a topic with
    fewer replicas and no ``min.insync.replicas`` that no later provisioning mends."""
    up = len(admin.describe_cluster()["brokers"])
    kept = max(
        (
            len(partition["replica_nodes"])
            for topic in (admin.describe_topics(existing) if existing else [])
            for partition in topic["partitions"]
        ),
        default=0,
    )
    if kept > up:
        raise ServiceUnavailableError(
            f"only {up} of the cluster's brokers are up and the tenant's topics keep {kept} "
            "replicas: nothing was provisioned; run `hub kafka provision` again once every "
            "broker is back"
        )
    return up


def _await_credentials(admin: Any, principals: list[str]) -> None:
    """Returns once the broker lists every principal's credentials: they reach it through
    the metadata log a moment after the controller took them, and a client that signs in
    before (the relay, right after `hub demo` provisioned) is refused and retried, with an
    authentication error on the terminal each time."""
    deadline = time.monotonic() + CREDENTIALS_WAIT_S
    while True:
        described = admin.describe_user_scram_credentials(principals)
        missing = [p for p in principals if not (described.get(p) or {}).get("credential_infos")]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(
                f"the broker did not list the SCRAM credentials of {missing[0]} within "
                f"{CREDENTIALS_WAIT_S:.0f}s of setting them"
            )
        time.sleep(0.05)


def provision(
    settings: Settings, agencies: Iterable[str] | None = None, network: Network | None = None
) -> ProvisionReport:
    """Creates what is missing on the broker, as the admin (super) user of the settings.

    ``network`` is the network in force (the CLI passes the one on the log, so an agency
    registered by ``hub network apply`` gets its topics); the shipped file by default.
    """
    topics.check_prefix(settings)
    network = network or load_network()
    ids = list(agencies) if agencies is not None else [a.id for a in network.agencies]
    for agency_id in ids:
        if not network.is_agency(agency_id):
            raise ConfigurationError(f"unknown agency {agency_id!r}")
    _refuse_reserved(settings, network, ids)
    wanted = topics.all_topics(settings, ids)
    principals = [topics.principal(settings, p) for p in (*SERVICE_PRINCIPALS, *ids)]
    admin = kafka_clients.admin(settings, client_id="hub-provision")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            layout = topic_layout(_brokers_for(admin, [t for t in wanted if t in existing]))
            admin.create_topics(
                {
                    t: {
                        **layout,
                        "configs": {
                            **layout.get("configs", {}),
                            **topics.topic_configs(settings, t),
                        },
                    }
                    for t in missing
                },
                raise_errors=False,
                wait_for_metadata=True,
            )
        limited = [t for t in wanted if t in existing and topics.topic_configs(settings, t)]
        if limited:  # topics made before the limit, or under another one: set it (idempotent)
            admin.alter_configs(
                [
                    ConfigResource(ConfigResourceType.TOPIC, t, topics.topic_configs(settings, t))
                    for t in limited
                ]
            )
        errors = admin.alter_user_scram_credentials(
            [
                UserScramCredentialUpsertion(
                    p, ScramMechanism.SCRAM_SHA_512, settings.principal_password(p)
                )
                for p in principals
            ]
        )
        failed = {user: message for user, message in errors.items() if message}
        if failed:
            raise ConfigurationError(f"SCRAM credentials refused: {failed}")
        _await_credentials(admin, principals)
        wanted_acls = acls(settings, ids)
        result = admin.create_acls(wanted_acls)
        if result["failed"]:
            raise ConfigurationError(f"{len(result['failed'])} ACLs refused: {result['failed'][0]}")
    except KafkaError as error:
        raise ServiceUnavailableError(
            f"provisioning failed on the broker: {type(error).__name__}: {error}"
        ) from error
    finally:
        admin.close()
    return ProvisionReport(
        topics_created=tuple(missing),
        topics_existing=len(wanted) - len(missing),
        users=tuple(principals),
        acls=len(wanted_acls),
    )
