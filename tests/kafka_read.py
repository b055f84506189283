"""Reading a topic as bytes, without decoding: dead-letter topics hold garbage by design."""

from __future__ import annotations

from dataclasses import dataclass

from hub.kafka_clients import read_to_end
from hub.settings import Settings


@dataclass(frozen=True)
class RawRecord:
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


def read_raw(settings: Settings, topic: str, user: str | None = None) -> list[RawRecord]:
    """Every record of a topic, from the start to its current end."""
    return [
        RawRecord(
            r.offset,
            r.key,
            r.value,
            {k: bytes(v).decode("utf-8", "replace") for k, v in r.headers or []},
        )
        for r in read_to_end(settings, [topic], principal=user)
    ]
