"""The one place Kafka clients are made, and the one way a topic is read to its end.

Every component connects through ``producer``, ``consumer`` or ``admin``: the settings'
broker and SASL/SCRAM login (``hub.kafka_config``), as a named principal or the settings'
own user, with a failure to connect turned into one ``ServiceUnavailableError``. A client
that fails to connect leaves no thread behind (``Consumer``, ``AdminClient``).
``read_to_end`` reads topics from offset zero up to the end offsets they had when it began,
and gives up with a clear error instead of spinning when the broker stops answering.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, KafkaTimeoutError

from hub.errors import ServiceUnavailableError
from hub.kafka_config import (
    SASL_MECHANISM,
    client_config,
    principal_credentials,
    rdkafka_security,
)
from hub.rdkafka import DELIVERY_TIMEOUT_MS, RdProducer, login_refused
from hub.settings import Settings

# How long a read to the end may go without a record before the broker is deemed gone, and
# how long it may take in all.
IDLE_S = 30.0
DEADLINE_S = 900.0

Client = TypeVar("Client")


def _let_go(client: Any) -> None:
    """Stops what a half-made kafka-python client started: its metrics and its I/O thread."""
    for part in ("_client", "_metrics"):
        made = getattr(client, part, None)
        if made is not None:
            made.close()


class Consumer(KafkaConsumer):
    """``KafkaConsumer`` whose failure to bootstrap stops the I/O thread it started.

    kafka-python 3 starts a consumer's (and an admin client's) I/O thread before it
    bootstraps; when the bootstrap fails, nothing holds the client, and its thread went on
    reconnecting to the broker for as long as the process lived: a component waiting out a
    broker's outage gathered one a try (and a forked child could inherit their locks).
    """

    def __init__(self, *topics: str, **configs: Any) -> None:
        try:
            super().__init__(*topics, **configs)
        except BaseException:
            _let_go(self)
            raise


class AdminClient(KafkaAdminClient):
    """``KafkaAdminClient`` whose failure to bootstrap stops the I/O thread it started
    (as ``Consumer``)."""

    def __init__(self, **configs: Any) -> None:
        try:
            super().__init__(**configs)
        except BaseException:
            _let_go(self)
            raise


def credentials(settings: Settings, principal: str | None = None) -> tuple[str, str]:
    """The SCRAM user and password a component uses as the tenant's ``principal``.

    The user carries the tenant's prefix (``topics.principal``: ``t1.relay``). Without a
    principal, or when ``HUB_KAFKA_USER`` names it, the settings' user and password
    (production secrets); otherwise the password derived from the provisioning secret
    (local install). Either way a public secret is refused outside development.
    """
    if principal is None or principal == settings.kafka_user:
        return settings.kafka_user, settings.secret("kafka_password")
    return principal_credentials(settings, principal)


def _connect(
    make: Callable[..., Client],
    settings: Settings,
    principal: str | None,
    password: str | None,
    options: dict[str, Any],
) -> Client:
    if principal is None and password is None:
        user = settings.kafka_user
        config = client_config(settings)  # the hub's own user: all its secrets must be real
    elif password is not None:  # a user and password as ``credentials`` gave them
        user = principal if principal is not None else settings.kafka_user
        config = client_config(settings, user, password)
    else:
        user, derived = credentials(settings, principal)
        config = client_config(settings, user, derived)
    try:
        return make(**config, **options)
    except KafkaError as error:
        why = ""
        # kafka-python retries a refused login until its bootstrap times out, and then says
        # only that: ask librdkafka, which tells a refusal from a broker away.
        if isinstance(error, KafkaTimeoutError) and login_refused(
            rdkafka_login(settings, user, config["sasl_plain_password"])
        ):
            why = (
                f": the broker refused {user}'s password (a wrong or rotated one, or a "
                "principal `hub kafka provision` never made?)"
            )
        elif isinstance(error, KafkaTimeoutError) and not _any_listens(settings.kafka_bootstrap):
            why = ": nothing listens there (is the broker running? is HUB_KAFKA_BOOTSTRAP right?)"
        raise ServiceUnavailableError(
            f"Kafka: connecting to {settings.kafka_bootstrap} as {user} failed "
            f"({type(error).__name__}){why}"
        ) from error


def _any_listens(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """Whether any of the bootstrap addresses takes a TCP connection (a broker away, or a
    mistyped address, takes none; one that does may still not speak Kafka's SASL)."""
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


def rdkafka_login(settings: Settings, user: str, password: str) -> dict[str, Any]:
    """librdkafka's settings for the broker, logged in as ``user``."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        **rdkafka_security(settings),
        "sasl.mechanisms": SASL_MECHANISM,
        "sasl.username": user,
        "sasl.password": password,
    }


def producer(
    settings: Settings, principal: str | None = None, *, password: str | None = None, **options: Any
) -> KafkaProducer:
    """A producer as ``principal`` (``options`` go to ``KafkaProducer``)."""
    return _connect(KafkaProducer, settings, principal, password, options)


def fast_producer(settings: Settings, principal: str, *, client_id: str) -> RdProducer:
    """An idempotent producer (acks from every in-sync replica) on librdkafka, as
    ``principal``, with kafka-python's ``send``/``flush`` (``hub.rdkafka``)."""
    user, password = credentials(settings, principal)
    producer = RdProducer(
        {
            **rdkafka_login(settings, user, password),
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": DELIVERY_TIMEOUT_MS,
        }
    )
    try:
        producer.connect()
    except KafkaError as error:
        raise ServiceUnavailableError(
            f"Kafka: connecting to {settings.kafka_bootstrap} as {user} failed "
            f"({error.args[0] if error.args else type(error).__name__})"
        ) from error
    return producer


def consumer(
    settings: Settings, principal: str | None = None, *, password: str | None = None, **options: Any
) -> KafkaConsumer:
    """A consumer as ``principal`` (``options`` go to ``KafkaConsumer``)."""
    return _connect(Consumer, settings, principal, password, options)


def admin(settings: Settings, principal: str | None = None, **options: Any) -> KafkaAdminClient:
    """An admin client as ``principal`` (the settings' super user by default)."""
    return _connect(AdminClient, settings, principal, None, options)


def read_to_end(
    settings: Settings,
    topics: Sequence[str],
    *,
    principal: str | None = None,
    password: str | None = None,
    client_id: str = "hub-reader",
    poll_ms: int = 1000,
    idle_s: float = IDLE_S,
    deadline_s: float = DEADLINE_S,
    starts: Mapping[tuple[str, int], int] | None = None,
    stops: Mapping[tuple[str, int], int] | None = None,
) -> Iterator[ConsumerRecord]:
    """Every record of ``topics`` from offset zero to the end offsets as of the call; with
    ``starts``, of only the (topic, partition)s it names, each from its offset there; with
    ``stops``, a partition it names only up to (not including) its offset there.

    Reads as ``principal`` without a consumer group (nothing is committed, so reading twice
    reads the same records). Raises ``ServiceUnavailableError`` when a topic is missing or
    unreadable, when no record arrives for ``idle_s`` while the end is not reached (the
    broker went away), or when the whole read takes longer than ``deadline_s``.
    """
    names = ", ".join(topics)
    started = time.monotonic()
    client = consumer(
        settings,
        principal,
        password=password,
        group_id=None,
        enable_auto_commit=False,
        client_id=client_id,
    )
    try:
        partitions = [
            TopicPartition(topic, number)
            for topic in topics
            for number in sorted(client.partitions_for_topic(topic) or ())
        ]
        if {p.topic for p in partitions} != set(topics):
            raise ServiceUnavailableError(
                f"Kafka: topic {names} does not exist or "
                f"{credentials(settings, principal)[0]} may not read it"
            )
        if starts is not None:
            partitions = [p for p in partitions if (p.topic, p.partition) in starts]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        if starts:
            firsts = client.beginning_offsets(partitions)
            for partition in partitions:
                start = starts.get((partition.topic, partition.partition))
                if start is not None:
                    client.seek(partition, max(start, firsts[partition]))
        ends = client.end_offsets(partitions)
        for partition in partitions:
            stop = (stops or {}).get((partition.topic, partition.partition))
            if stop is not None:
                ends[partition] = min(ends[partition], stop)
        remaining = {p for p in partitions if client.position(p) < ends[p]}
        last_record = time.monotonic()
        while remaining:
            polled = client.poll(timeout_ms=poll_ms)
            now = time.monotonic()
            if polled:
                last_record = now
            elif now - last_record > idle_s:
                raise ServiceUnavailableError(
                    f"Kafka: reading {names} stopped short of its end: no record for "
                    f"{idle_s:.0f}s; the broker does not answer"
                )
            if now - started > deadline_s:
                raise ServiceUnavailableError(
                    f"Kafka: reading {names} did not reach its end within {deadline_s:.0f}s"
                )
            for partition, records in polled.items():
                for record in records:
                    if record.offset < ends[partition]:
                        yield record
            for partition in list(remaining):
                if client.position(partition) >= ends[partition]:
                    remaining.discard(partition)
    except KafkaError as error:
        raise ServiceUnavailableError(
            f"Kafka: reading {names} failed ({type(error).__name__})"
        ) from error
    finally:
        client.close()
