"""The analysts' rebuild: table ④ from ``analytics.events`` alone, with the hub's own fold.

An analyst holds only the principal ``analyst`` and ``schemas/``: records are decoded by
their schema fingerprint, each event id is applied once (the relay may send a batch again
after a crash), and the de-identified records go through the same pure fold
(``projections.indicators``) as the hub's view, so the numbers are the hub's numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from hub import codec
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from projections.indicators import MemoryIndicators

ANALYTICS_TOPIC = "analytics.events"
ANALYST = "analyst"


def fold_records(records: Iterable[tuple[str | None, bytes]]) -> MemoryIndicators:
    """Fold (event id, single-object Avro value) pairs, each event id once."""
    fold = MemoryIndicators.empty()
    seen: set[str] = set()
    for event_id, value in records:
        if event_id is not None:
            if event_id in seen:
                continue
            seen.add(event_id)
        schema, record = codec.decode(value)
        fold.apply(str(record.get("event_type") or schema), record)
    return fold


def read_analytics(
    settings: Settings, *, principal: str = ANALYST, poll_ms: int = 1000
) -> Iterator[tuple[str | None, bytes]]:
    """Every record of ``analytics.events`` from the start to its end when reading began."""
    topic = f"{settings.kafka_topic_prefix}{ANALYTICS_TOPIC}"
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap.split(","),
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=principal,
            sasl_plain_password=settings.principal_password(principal),
            group_id=None,
            enable_auto_commit=False,
            client_id=f"{principal}-rebuild",
        )
    except KafkaError as error:
        raise ServiceUnavailableError(
            f"cannot reach the Kafka broker at {settings.kafka_bootstrap}: {type(error).__name__}"
        ) from error
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise ServiceUnavailableError(f"no topic {topic} (or {principal} may not read it)")
        partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        while any(consumer.position(p) < ends[p] for p in partitions):
            for batch in consumer.poll(timeout_ms=poll_ms).values():
                for r in batch:
                    if r.offset >= ends[TopicPartition(r.topic, r.partition)]:
                        continue
                    headers = {k: v for k, v in (r.headers or [])}
                    event_id = headers.get("event_id")
                    yield (event_id.decode() if event_id else None), r.value
    finally:
        consumer.close()
