"""The Confluent Schema Registry wire format of the hub's records, beside single-object
encoding: a zero byte, the schema's registry id (4 bytes, big-endian), the same Avro binary
body. Ids come from the committed table (hub/schema_ids.py), so a registry-aware client
(confluent-kafka's AvroDeserializer, Kafka Connect, ksqlDB) decodes records once that table
is imported into its registry (``hub schema export``).
"""

from __future__ import annotations

import struct
from typing import Any

from hub import codec, schema_ids

MAGIC = b"\x00"
HEADER_SIZE = 5


def encode(schema_name: str, record: dict[str, Any]) -> bytes:
    single = codec.encode(schema_name, record)
    schema_id = schema_ids.id_of(single[2 : codec.HEADER_SIZE])
    return MAGIC + struct.pack(">I", schema_id) + single[codec.HEADER_SIZE :]


def from_single_object(data: bytes) -> bytes:
    """The same record, reframed: the body is untouched, only the header changes."""
    codec.decode(data)  # refuse what is not a record of a known schema
    schema_id = schema_ids.id_of(data[2 : codec.HEADER_SIZE])
    return MAGIC + struct.pack(">I", schema_id) + data[codec.HEADER_SIZE :]


def decode(data: bytes) -> tuple[str, dict[str, Any]]:
    """The schema name and the record of Confluent-framed ``data``."""
    if len(data) < HEADER_SIZE or data[:1] != MAGIC:
        raise codec.UndecodableRecordError("not a Confluent-framed record (bad magic)")
    (schema_id,) = struct.unpack(">I", data[1:HEADER_SIZE])
    entry = schema_ids.ids().by_id.get(schema_id)
    if entry is None:
        raise codec.UnknownSchemaError(f"no schema has registry id {schema_id}")
    return codec.decode(codec.MAGIC + bytes.fromhex(entry.fingerprint) + data[HEADER_SIZE:])
