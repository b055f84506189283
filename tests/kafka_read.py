"""Reading a topic as bytes, without decoding: dead-letter topics hold garbage by design."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from hub.kafka_config import client_config
from hub.settings import Settings


@dataclass(frozen=True)
class RawRecord:
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


def read_raw(settings: Settings, topic: str, user: str | None = None) -> list[RawRecord]:
    """Every record of a one-partition topic, from the start to its current end."""
    password = settings.principal_password(user) if user else None
    consumer = KafkaConsumer(
        **client_config(settings, user, password), enable_auto_commit=False, group_id=None
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        found: list[RawRecord] = []
        while consumer.position(partition) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                found += [
                    RawRecord(
                        r.offset,
                        r.key,
                        r.value,
                        {k: bytes(v).decode("utf-8", "replace") for k, v in r.headers or []},
                    )
                    for r in records
                ]
        return found
    finally:
        consumer.close()
