"""Helpers for the relay's integration tests: a store + topic prefix, and reading topics."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from hub import codec
from hub.application import HubApplication
from hub.kafka_config import client_config
from hub.settings import Settings
from producers.ledger import open_ledger
from producers.provision import provision
from producers.relay import Relay, make_producer


def store_settings(kind: str, env: dict[str, str], tmp_path: Path) -> Settings:
    """Settings naming the fresh store of ``env`` and a topic prefix unique to the test."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    if kind == "sqlite":
        return Settings(
            store="sqlite", sqlite_path=Path(env["SQLITE_DBNAME"]), kafka_topic_prefix=prefix
        )
    return Settings(
        store="postgres", postgres_schema=env["POSTGRES_SCHEMA"], kafka_topic_prefix=prefix
    )


def provisioned(settings: Settings, agencies: list[str]) -> None:
    provision(settings, agencies)


def new_relay(settings: Settings, app: HubApplication, **kw: Any) -> Relay:
    return Relay(settings, app, open_ledger(settings), make_producer(settings), **kw)


@dataclass
class Received:
    key: str
    headers: dict[str, str]
    schema: str
    record: dict[str, Any]
    raw: bytes


def read_topic(settings: Settings, topic: str, user: str | None = None) -> list[Received]:
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
        found: list[Received] = []
        while consumer.position(partition) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    schema, record = codec.decode(r.value)
                    headers = {k: v.decode() for k, v in r.headers}
                    found.append(Received(r.key.decode(), headers, schema, record, r.value))
        return found
    finally:
        consumer.close()
