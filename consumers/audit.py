"""The auditor's reader: ``audit.consent`` from offset zero to its end, as principal ``auditor``.

No consumer group is needed (every partition is assigned and read from the beginning; no
offsets are committed), so replaying twice reads the same records. Records are decoded
with the schemas of ``schemas/`` only: consent, meeting and emergency events (personal
fields withheld) and ``Disclosure`` records (the relay's ``ChainHead`` witnesses are read by
``read_witnessed_head``). Each event is yielded once (by event id), in
log order (the ``position`` header); an event id seen again with other contents is a
conflict the caller must report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from hub import codec, kafka_clients, topics
from hub import events as ev
from hub.errors import ConfigurationError, HubError, ServiceUnavailableError
from hub.settings import Settings

AUDITOR = "auditor"
CHAIN_HEAD = b"ChainHead"  # the relay's witness of the chain's head (schemas/messages/)
MAX_IDLE_POLLS = 30  # empty polls in a row before giving up on reaching the end
_ENVELOPE = ("event_id", "event_type", "aggregate_id", "aggregate_version", "recorded_at")


class UnreadableAuditRecordError(HubError):
    """A record of the audit topic is not one the relay writes: someone else wrote it."""


@dataclass(frozen=True)
class AuditEvent:
    position: int
    event_id: str
    payload: ev.Event


@dataclass
class AuditStream:
    events: list[AuditEvent] = field(default_factory=list)
    disclosures: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    # Event ids seen twice with different contents: the topic was written to by someone else.
    conflicts: list[str] = field(default_factory=list)


def read_audit_stream(
    settings: Settings,
    *,
    user: str = AUDITOR,
    password: str | None = None,
    topic: str | None = None,
    poll_ms: int = 1000,
) -> AuditStream:
    """Everything on the audit topic up to its end offsets as of the call."""
    stream = AuditStream()
    seen_events: dict[str, bytes] = {}
    seen_disclosures: set[bytes] = set()
    for headers, value in _records(settings, user, password, topic, poll_ms):
        stream.records += 1
        name, record = codec.decode(value)
        if name == "Disclosure":
            # A copy sent again after a crash is the same bytes; a variant is checked too.
            if value not in seen_disclosures:
                seen_disclosures.add(value)
                stream.disclosures.append(record)
            continue
        model = ev.EVENTS_BY_NAME.get(name)
        if model is None:
            continue
        event_id = headers.get("event_id") or str(record.get("event_id", ""))
        if event_id in seen_events:
            if seen_events[event_id] != value:
                stream.conflicts.append(event_id)
            continue
        seen_events[event_id] = value
        try:
            payload = model.model_validate(
                {k: v for k, v in record.items() if k not in _ENVELOPE and v is not None}
            )
        except ValidationError:
            raise _not_the_relays(name, event_id, "content its schema refuses") from None
        try:
            position = int(headers["position"])
        except (KeyError, ValueError):
            raise _not_the_relays(name, event_id, "no position header") from None
        stream.events.append(AuditEvent(position, event_id, payload))
    stream.events.sort(key=lambda e: e.position)
    stream.disclosures.sort(key=lambda d: (d["position"], d["disclosure_id"]))
    return stream


def _not_the_relays(name: str, event_id: str, what: str) -> UnreadableAuditRecordError:
    return UnreadableAuditRecordError(
        f"a {name} record of the audit topic (event {event_id}) has {what}: it was written "
        "by someone other than the relay"
    )


def _records(
    settings: Settings, user: str, password: str | None, topic: str | None, poll_ms: int
) -> Iterator[tuple[dict[str, str], bytes]]:
    for record in kafka_clients.read_to_end(
        settings,
        [topic or topics.audit(settings)],
        principal=user,
        password=password,
        client_id="hub-auditor",
        poll_ms=poll_ms,
    ):
        yield {k: v.decode("utf-8") for k, v in (record.headers or [])}, record.value


NO_WITNESS = "`--no-witness` checks the store alone"


@dataclass(frozen=True)
class WitnessedHead:
    """A head of the log's hash chain the relay published on ``audit.consent``."""

    position: int
    chain_hash: str


def read_witnessed_head(
    settings: Settings,
    *,
    principal: str = AUDITOR,
    topic: str | None = None,
    window: int = 1000,
    poll_ms: int = 1000,
    way_out: str = NO_WITNESS,
    client_id: str = "hub-verify-log",
) -> WitnessedHead | None:
    """The newest ``ChainHead`` on the audit topic (None if nothing was witnessed yet).

    Read as the tenant's ``principal`` (its auditor: the principal whose ACLs let it read
    audit.consent, never the super user), from the end backwards: the relay writes one head
    per batch, so the newest is among the last records. ``way_out`` ends a refusal's line.
    """
    name = topic or topics.audit(settings)
    try:
        client = kafka_clients.consumer(
            settings,
            principal,
            group_id=None,
            enable_auto_commit=False,
            client_id=client_id,
            bootstrap_timeout_ms=10_000,
        )
    except ServiceUnavailableError as error:
        raise ServiceUnavailableError(f"{error}; {way_out}") from error.__cause__
    try:
        numbers = client.partitions_for_topic(name) or set()
        if not numbers:
            # never provisioned, or refused
            _require_missing(settings, principal, name, way_out, client_id)
        heads = [_newest_head(client, TopicPartition(name, n), window, poll_ms) for n in numbers]
    except KafkaError as error:
        raise ServiceUnavailableError(
            f"Kafka: reading {name} failed ({type(error).__name__}); {way_out}"
        ) from error
    finally:
        client.close()
    found = [h for h in heads if h is not None]
    return max(found, key=lambda h: h.position) if found else None


UNKNOWN_TOPIC = 3  # Kafka's UNKNOWN_TOPIC_OR_PARTITION


def _require_missing(
    settings: Settings, principal: str, name: str, way_out: str, client_id: str
) -> None:
    """A topic this principal cannot see must be missing, not hidden from it: a witness it
    may not read must not pass for no witness at all."""
    admin = kafka_clients.admin(settings, principal, client_id=client_id)
    try:
        (described,) = admin.describe_topics([name])
    finally:
        admin.close()
    if described.get("error_code") != UNKNOWN_TOPIC:
        user = kafka_clients.credentials(settings, principal)[0]
        raise ConfigurationError(
            f"{user} may not read {name}: the witnessed chain head cannot be "
            f"checked (use a principal that may read it; {way_out})"
        )


def _newest_head(
    consumer: KafkaConsumer, partition: TopicPartition, window: int, poll_ms: int
) -> WitnessedHead | None:
    consumer.assign([partition])
    begin = consumer.beginning_offsets([partition])[partition]
    stop = consumer.end_offsets([partition])[partition]
    while stop > begin:
        start = max(begin, stop - window)
        heads = [
            WitnessedHead(int(record["position"]), str(record["chain_hash"]))
            for record in _read_range(consumer, partition, start, stop, poll_ms)
        ]
        if heads:
            return max(heads, key=lambda h: h.position)
        stop, window = start, window * 2
    return None


def _read_range(
    consumer: KafkaConsumer, partition: TopicPartition, start: int, stop: int, poll_ms: int
) -> Iterator[dict[str, Any]]:
    """The ``ChainHead`` records at offsets [start, stop) of one partition."""
    consumer.seek(partition, start)
    idle = 0
    while consumer.position(partition) < stop:
        polled = consumer.poll(timeout_ms=poll_ms).get(partition, [])
        idle = 0 if polled else idle + 1
        if idle >= MAX_IDLE_POLLS:
            raise ServiceUnavailableError(
                f"Kafka: {partition.topic} stopped short of its end; the broker does not answer"
            )
        for message in polled:
            headers = dict(message.headers or [])
            if message.offset < stop and headers.get("event_type") == CHAIN_HEAD:
                yield codec.decode(message.value)[1]
