"""Schema registry subjects, versions and ids of the hub's Avro schemas, committed in
``schemas/registry/subjects.json`` so that the Confluent wire format (``00``, a 4-byte
big-endian schema id, the Avro binary body) can be written and read without a running
registry, and a Confluent-compatible registry can be loaded with the same ids (``hub schema
export``).

A subject is the record's full name (the RecordNameStrategy: one topic carries many record
types). Its versions are the released ones, ``schemas/released/<Name>/<n>.avsc`` in order;
the messages without a release (``schemas/messages``) are version 1 of their subject. Ids are
given once and never change: ``refreshed`` keeps every committed entry and numbers new ones
after the highest id (``python -m hub.schema_ids`` writes the table after a release).
Compatibility is FULL_TRANSITIVE: every version reads and is read by every other
(hub/compatibility.py checks the same, in both directions).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hub.codec import SCHEMAS_DIR, fingerprint
from hub.errors import HubError

TABLE = SCHEMAS_DIR / "registry" / "subjects.json"
COMPATIBILITY = "FULL_TRANSITIVE"


class UnregisteredSchemaError(HubError):
    """A schema has no id in schemas/registry/subjects.json (run `hub schema export`)."""


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


def load(table: Path = TABLE) -> list[Entry]:
    if not table.is_file():
        return []
    return [Entry(**row) for row in json.loads(table.read_text(encoding="utf-8"))]


def refreshed(table: Path = TABLE, schemas: Path = SCHEMAS_DIR) -> list[Entry]:
    """The committed entries, then one for each schema not yet in them (new ids)."""
    entries = load(table)
    known = {e.fingerprint for e in entries}
    versions: dict[str, int] = {}
    for e in entries:
        versions[e.subject] = max(versions.get(e.subject, 0), e.version)
    next_id = max((e.id for e in entries), default=0) + 1
    for subject, print_, path in _schemas_in_order(schemas):
        if print_ in known:
            continue
        versions[subject] = versions.get(subject, 0) + 1
        entries.append(
            Entry(next_id, subject, versions[subject], print_, str(path.relative_to(schemas)))
        )
        next_id += 1
    return entries


def render(entries: list[Entry]) -> str:
    return json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=1) + "\n"


@dataclass(frozen=True)
class Ids:
    by_fingerprint: dict[bytes, Entry]
    by_id: dict[int, Entry]


@lru_cache(maxsize=1)
def ids() -> Ids:
    entries = load()
    return Ids({bytes.fromhex(e.fingerprint): e for e in entries}, {e.id: e for e in entries})


def id_of(schema_fingerprint: bytes) -> int:
    entry = ids().by_fingerprint.get(schema_fingerprint)
    if entry is None:
        raise UnregisteredSchemaError(
            f"schema {schema_fingerprint.hex()} has no registry id in {TABLE.name}"
        )
    return entry.id


def schema_text(entry: Entry, schemas: Path = SCHEMAS_DIR) -> str:
    """The schema as a registry holds it: the committed file's JSON, compact."""
    definition = json.loads((schemas / entry.path).read_text(encoding="utf-8"))
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(render(refreshed()), encoding="utf-8")
