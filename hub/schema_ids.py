"""Schema registry subjects, versions and ids of the hub's released Avro schemas, so that
the Confluent wire format (``00``, a 4-byte big-endian schema id, the Avro binary body) can be
written and read without a running registry, and a Confluent-compatible registry can be
loaded with the same ids (``hub schema export``).

A subject is the record's full name (the RecordNameStrategy: one topic carries many record
types). Its versions are the released ones, ``schemas/released/<Name>/<n>.avsc`` in order;
the messages without a release (``schemas/messages``) are version 1 of their subject. A
schema's id is derived from its CRC-64-AVRO fingerprint (the one single-object encoding
carries): the low 31 bits of it, so an id never changes and needs no table that every
release would have to update; a unit test checks that no two schemas share one.
Compatibility is FULL_TRANSITIVE: every version reads and is read by every other
(hub/compatibility.py checks the same, in both directions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub.codec import SCHEMAS_DIR, fingerprint
from hub.errors import HubError

COMPATIBILITY = "FULL_TRANSITIVE"


class UnregisteredSchemaError(HubError):
    """A schema has no registry id: it is not released (nor a message)."""


@dataclass(frozen=True)
class Entry:
    id: int
    subject: str
    version: int
    fingerprint: str  # CRC-64-AVRO of the parsing canonical form, hex (as single-object)
    path: str  # under schemas/


def _subject(definition: dict[str, Any]) -> str:
    namespace = definition.get("namespace")
    return f"{namespace}.{definition['name']}" if namespace else str(definition["name"])


def _schemas_in_order(schemas: Path) -> list[tuple[str, str, Path]]:
    """(subject, fingerprint, path) of every version, in version order per subject."""
    found: list[tuple[str, str, Path]] = []
    seen: set[str] = set()
    released = sorted(
        (schemas / "released").glob("*/*.avsc"), key=lambda p: (p.parent.name, int(p.stem))
    )
    current = sorted(schemas.glob("messages/*.avsc"))
    for path in [*released, *current]:
        definition = json.loads(path.read_text(encoding="utf-8"))
        print_ = fingerprint(definition).hex()
        if print_ in seen:
            continue
        seen.add(print_)
        found.append((_subject(definition), print_, path))
    return found


def schema_id(schema_fingerprint: bytes) -> int:
    """The registry id of a schema: its fingerprint's low 31 bits (a positive int32)."""
    return int.from_bytes(schema_fingerprint[:4], "little") & 0x7FFFFFFF or 1


def entries(schemas: Path = SCHEMAS_DIR) -> list[Entry]:
    """Every released version and message schema, in version order per subject."""
    found = []
    versions: dict[str, int] = {}
    for subject, print_, path in _schemas_in_order(schemas):
        versions[subject] = versions.get(subject, 0) + 1
        found.append(
            Entry(
                schema_id(bytes.fromhex(print_)),
                subject,
                versions[subject],
                print_,
                str(path.relative_to(schemas)),
            )
        )
    return found


@dataclass(frozen=True)
class Ids:
    by_fingerprint: dict[bytes, Entry]
    by_id: dict[int, Entry]


@lru_cache(maxsize=1)
def ids() -> Ids:
    found = entries()
    return Ids({bytes.fromhex(e.fingerprint): e for e in found}, {e.id: e for e in found})


def id_of(schema_fingerprint: bytes) -> int:
    entry = ids().by_fingerprint.get(schema_fingerprint)
    if entry is None:
        raise UnregisteredSchemaError(
            f"schema {schema_fingerprint.hex()} has no registry id: it is neither released "
            "nor a message"
        )
    return entry.id


def schema_text(entry: Entry, schemas: Path = SCHEMAS_DIR) -> str:
    """The schema as a registry holds it: the committed file's JSON, compact."""
    definition = json.loads((schemas / entry.path).read_text(encoding="utf-8"))
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))
