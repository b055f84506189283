"""Avro single-object encoding of the hub's records (the wire format of every topic).

A record is ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
schema's parsing canonical form, then the Avro binary body. Writer schemas are the files
in ``schemas/`` (events and messages), parsed once; a reader finds the schema by its
fingerprint, so any Avro library holding only ``schemas/`` can decode a record.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha1
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form

from hub.errors import HubError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8

_EMPTY_64 = 0xC15D213AA4D7A795


class CodecError(HubError):
    """A record could not be encoded or decoded."""


class UnknownSchemaError(CodecError):
    """No schema in ``schemas/`` has that name or fingerprint."""


class UndecodableRecordError(CodecError):
    """The bytes are not a single-object encoded record of a known schema."""


class UnencodableRecordError(CodecError):
    """The record does not fit its schema."""


def _fp_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY_64 & -(fp & 1))
        table.append(fp)
    return table


_FP_TABLE = _fp_table()


def crc64_avro(data: bytes) -> int:
    """The Avro spec's 64-bit Rabin fingerprint (CRC-64-AVRO) of ``data``."""
    fp = _EMPTY_64
    for byte in data:
        fp = (fp >> 8) ^ _FP_TABLE[(fp ^ byte) & 0xFF]
    return fp


def fingerprint(schema: Any) -> bytes:
    """The 8 bytes of the single-object header: CRC-64-AVRO, little-endian."""
    canonical = to_parsing_canonical_form(schema)
    return crc64_avro(canonical.encode("utf-8")).to_bytes(8, "little")


def _without_logical_types(avro_type: Any) -> Any:
    # Logical types are not part of the canonical form; leaving them out when reading and
    # writing keeps uuids and timestamps as the plain strings of the JSON payloads.
    if isinstance(avro_type, list):
        return [_without_logical_types(t) for t in avro_type]
    if isinstance(avro_type, dict):
        copy = {k: v for k, v in avro_type.items() if k != "logicalType"}
        if "fields" in copy:
            copy["fields"] = [
                {**f, "type": _without_logical_types(f["type"])} for f in copy["fields"]
            ]
        if "items" in copy:
            copy["items"] = _without_logical_types(copy["items"])
        if "values" in copy:
            copy["values"] = _without_logical_types(copy["values"])
        return copy
    return avro_type


@dataclass(frozen=True)
class Schema:
    name: str
    definition: dict[str, Any]
    fingerprint: bytes
    parsed: Any


@dataclass(frozen=True)
class Registry:
    by_name: dict[str, Schema]
    by_fingerprint: dict[bytes, Schema]

    def schema(self, name: str) -> Schema:
        try:
            return self.by_name[name]
        except KeyError:
            raise UnknownSchemaError(f"no schema named {name!r} in schemas/") from None


def _load(path: Path) -> Schema:
    definition = json.loads(path.read_text(encoding="utf-8"))
    return Schema(
        name=definition["name"],
        definition=definition,
        fingerprint=fingerprint(definition),
        parsed=parse_schema(_without_logical_types(definition)),
    )


def load_registry(directory: Path = SCHEMAS_DIR) -> Registry:
    """Current writer schemas by name (``events/``, ``messages/``); every schema, released
    versions included, by fingerprint, so records written before a change still decode."""
    by_name: dict[str, Schema] = {}
    by_fingerprint: dict[bytes, Schema] = {}
    for path in sorted(directory.glob("**/*.avsc")):
        schema = _load(path)
        by_fingerprint.setdefault(schema.fingerprint, schema)
    for folder in ("events", "messages"):
        for path in sorted((directory / folder).glob("*.avsc")):
            schema = _load(path)
            if schema.name in by_name:
                raise CodecError(f"two schemas are named {schema.name!r} ({path})")
            by_name[schema.name] = schema
            by_fingerprint[schema.fingerprint] = schema
    return Registry(by_name, by_fingerprint)


@lru_cache(maxsize=1)
def registry() -> Registry:
    """Every schema under ``schemas/``, parsed once."""
    return load_registry()


def schema_definition(name: str) -> dict[str, Any]:
    """The JSON definition of a schema (e.g. to find its personal fields)."""
    return registry().schema(name).definition


def encode(schema_name: str, record: Mapping[str, Any]) -> bytes:
    schema = registry().schema(schema_name)
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(schema.fingerprint)
    try:
        schemaless_writer(out, schema.parsed, dict(record), strict=True, strict_allow_default=True)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise UnencodableRecordError(
            f"record does not fit schema {schema_name}: {type(error).__name__}"
        ) from error
    return out.getvalue()


def decode(data: bytes) -> tuple[str, dict[str, Any]]:
    """The schema name and the record of single-object encoded ``data``."""
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise UndecodableRecordError("not an Avro single-object record (bad magic)")
    schema = registry().by_fingerprint.get(bytes(data[2:HEADER_SIZE]))
    if schema is None:
        raise UnknownSchemaError(
            f"no schema in schemas/ has fingerprint {bytes(data[2:HEADER_SIZE]).hex()}"
        )
    body = io.BytesIO(data[HEADER_SIZE:])
    try:
        record = schemaless_reader(body, schema.parsed, None)
    except (EOFError, ValueError, UnicodeDecodeError, IndexError, TypeError) as error:
        raise UndecodableRecordError(
            f"truncated or corrupt {schema.name} record: {type(error).__name__}"
        ) from error
    if body.read(1):
        raise UndecodableRecordError(f"trailing bytes after a {schema.name} record")
    if not isinstance(record, dict):
        raise UndecodableRecordError(f"{schema.name} record is not a record")
    return schema.name, record


# Event records -----------------------------------------------------------------------------


def event_id(originator_id: UUID, originator_version: int) -> UUID:
    """The stable id of a stored event: the same on every replay."""
    return uuid5(NAMESPACE_URL, f"/events/{originator_id}/{originator_version}")


_URL_NAMESPACE = NAMESPACE_URL.bytes


def event_id_text(aggregate_id: str, originator_version: int) -> str:
    """``str(event_id(id, originator_version))`` where ``aggregate_id == str(id)``, without
    UUID objects (version 5 by hand: the relay works one out for every event it publishes)."""
    digest = bytearray(
        sha1(_URL_NAMESPACE + f"/events/{aggregate_id}/{originator_version}".encode()).digest()
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def event_record(domain_event: Any) -> dict[str, Any]:
    """The envelope plus the payload of a stored domain event, as its schema expects."""
    payload = domain_event.payload
    aggregate_id = str(domain_event.originator_id)
    record: dict[str, Any] = {
        "event_id": event_id_text(aggregate_id, domain_event.originator_version),
        "event_type": type(payload).__name__,
        "aggregate_id": aggregate_id,
        "aggregate_version": int(domain_event.originator_version),
        "recorded_at": domain_event.timestamp.isoformat(),
    }
    record.update(payload.model_dump(mode="json"))
    return record
