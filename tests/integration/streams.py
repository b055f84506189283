"""Helpers for the relay's integration tests: a store + topic prefix, and reading topics."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub import codec
from hub.application import HubApplication
from hub.reference import load_network
from hub.reference.directory import Directory, changes
from hub.settings import Settings
from ops.wiring import open_relay
from producers.provision import provision
from producers.relay import Relay
from tests.kafka_read import read_raw

T0 = datetime(2025, 4, 1, tzinfo=UTC)

# Every store starts with the shipped network's import: positions of a test's own events
# start after it.
IMPORTED = len(changes(Directory(), load_network(), load_network().in_force_from or T0))


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


def new_relay(
    settings: Settings,
    app: HubApplication,
    before_store: Callable[[int], None] | None = None,
    **kw: Any,
) -> Relay:
    relay = open_relay(settings, app, **kw)
    relay.before_store = before_store
    return relay


@dataclass
class Received:
    key: str
    headers: dict[str, str]
    schema: str
    record: dict[str, Any]
    raw: bytes


def read_topic(settings: Settings, topic: str, user: str | None = None) -> list[Received]:
    """Every record of a one-partition topic, from the start to its current end, decoded."""
    found = []
    for raw in read_raw(settings, topic, user):
        assert raw.key is not None and raw.value is not None
        schema, record = codec.decode(raw.value)
        found.append(Received(raw.key.decode(), raw.headers, schema, record, raw.value))
    return found
