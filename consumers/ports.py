"""What the consumers need from the broker, as two small ports.

The Kafka adapters are in ``consumers.kafka_io``; unit tests use in-memory fakes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class InRecord:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: Mapping[str, bytes] = field(default_factory=dict)

    def digest(self) -> str:
        """SHA-256 of the key and value: tells this record from another later found at its
        place (a topic deleted and made again starts its offsets anew)."""
        sha = hashlib.sha256()
        for part in (self.key, self.value):
            sha.update(b"-" if part is None else len(part).to_bytes(8, "big") + part)
        return sha.hexdigest()

    def header(self, name: str) -> str | None:
        raw = self.headers.get(name)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None


# A record's place on a topic: (topic, partition, offset).
Place = tuple[str, int, int]


class Source(Protocol):
    def poll(self) -> list[InRecord]:
        """The next records (possibly none), in order within each partition."""
        ...

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit, for each (topic, partition), the offset of the next record to read."""
        ...

    def caught_up(self) -> bool:
        """Whether every record that existed when asked has been returned by ``poll``."""
        ...

    def close(self) -> None: ...


class Confirmations(Protocol):
    def confirm(self, record: dict[str, Any]) -> None:
        """Send an ErasureConfirmation on the agency's reply topic; durable once this returns."""
        ...


class DeadLetters(Protocol):
    def park(self, record: InRecord, reason: str) -> None:
        """Send the original bytes on, with the reason; durable once this returns."""
        ...

    def close(self) -> None: ...
