"""The wire format: Avro single-object encoding readable by any Avro library."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

import avro.io
import avro.schema
import pytest

from hub import codec
from hub import commands as c
from hub.application import HubApplication

AT = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def _domain_events() -> list:
    """The events a new case writes, as the relay reads them from the log."""
    app = HubApplication()
    app.execute(
        c.OpenCase(
            command_id=uuid4(),
            occurred_at=AT,
            case_id=uuid4(),
            ward="moji",
            person=c.PersonInput(name="試験 花子", address="北九州市架空町1-2-3", health="架空"),
        )
    )
    notifications = app.recorder.select_notifications(start=None, limit=100)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if type(e.payload).__name__ == "CaseOpened"]


PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _plain(schema: Any) -> Any:
    """The schema with primitives written by their simple names.

    The Python ``avro`` package keeps ``{"type": "string"}`` for a primitive written as an
    object with extra properties (``logicalType``, ``format``) in its canonical form, against
    the spec's [PRIMITIVES] rule (Java writes ``"string"``). Writing them simply first gives
    the spec's fingerprint from that package too.
    """
    if isinstance(schema, list):
        return [_plain(s) for s in schema]
    if isinstance(schema, dict):
        if (
            isinstance(schema.get("type"), str)
            and schema["type"] in PRIMITIVES
            and "name" not in schema
        ):
            return schema["type"]
        return {k: _plain(v) for k, v in schema.items()}
    return schema


def test_fingerprint_matches_the_apache_avro_library_and_is_little_endian() -> None:
    definition = codec.schema_definition("ReferralMade")
    parsed = avro.schema.parse(json.dumps(_plain(definition)))
    assert codec.fingerprint(definition) == parsed.fingerprint("CRC-64-AVRO")
    # The spec's test vector: "null" has fingerprint 7195948357588979594, written LE.
    assert codec.crc64_avro(b'"null"') == 7195948357588979594
    assert codec.fingerprint("null") == bytes.fromhex("8a8f25cce724dd63")


def test_an_event_round_trips_through_the_codec() -> None:
    (event,) = _domain_events()
    record = codec.event_record(event)
    name, decoded = codec.decode(codec.encode("CaseOpened", record))
    assert name == "CaseOpened"
    assert decoded == record
    assert decoded["person"]["name"] == "試験 花子"
    assert record["event_id"] == str(
        uuid5(NAMESPACE_URL, f"/events/{event.originator_id}/{event.originator_version}")
    )


def test_the_apache_avro_package_reads_a_record_with_only_the_schema_file() -> None:
    (event,) = _domain_events()
    record = codec.event_record(event)
    data = codec.encode("CaseOpened", record)
    text = (codec.SCHEMAS_DIR / "events" / "CaseOpened.avsc").read_text(encoding="utf-8")
    schema = avro.schema.parse(text)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == avro.schema.parse(json.dumps(_plain(json.loads(text)))).fingerprint()
    reader = avro.io.DatumReader(schema)
    decoded = reader.read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))
    assert decoded["case_id"] == record["case_id"]
    assert decoded["person"]["address"] == "北九州市架空町1-2-3"


def test_message_schemas_are_registered() -> None:
    reply = {
        "reply_id": str(uuid4()),
        "referral_id": str(uuid4()),
        "case_id": str(uuid4()),
        "agency_id": "moji.houkatsu",
        "answer": "accepted",
        "reason": None,
        "answered_at": AT.isoformat(),
        "reason_code": None,
        "outcome": None,
    }
    assert codec.decode(codec.encode("ReferralReply", reply)) == ("ReferralReply", reply)
    assert "Disclosure" in codec.registry().by_name


def test_bad_magic_is_refused() -> None:
    with pytest.raises(codec.UndecodableRecordError):
        codec.decode(b"\x00\x01" + b"\x00" * 20)


def test_an_unknown_fingerprint_is_refused() -> None:
    with pytest.raises(codec.UnknownSchemaError):
        codec.decode(b"\xc3\x01" + b"\xff" * 8 + b"\x00")


def test_a_truncated_body_is_refused() -> None:
    (event,) = _domain_events()
    data = codec.encode("CaseOpened", codec.event_record(event))
    with pytest.raises(codec.UndecodableRecordError):
        codec.decode(data[:-5])


def test_a_record_that_does_not_fit_its_schema_is_refused() -> None:
    with pytest.raises(codec.UnencodableRecordError):
        codec.encode("ReferralReply", {"reply_id": 3})


def test_an_unknown_schema_name_is_refused() -> None:
    with pytest.raises(codec.UnknownSchemaError):
        codec.encode("NoSuchThing", {})


def test_a_reply_written_before_the_outcome_fields_still_decodes() -> None:
    import fastavro

    released = codec.SCHEMAS_DIR / "released" / "ReferralReply" / "1.avsc"
    old = json.loads(released.read_text("utf-8"))
    body = {
        "reply_id": str(uuid4()),
        "referral_id": str(uuid4()),
        "case_id": str(uuid4()),
        "agency_id": "moji.houkatsu",
        "answer": "completed",
        "reason": None,
        "answered_at": AT.isoformat(),
    }
    out = io.BytesIO()
    out.write(b"\xc3\x01" + codec.fingerprint(old))
    fastavro.schemaless_writer(out, fastavro.parse_schema(old), body)
    assert codec.decode(out.getvalue()) == ("ReferralReply", body)


@pytest.mark.parametrize("version", [0, 1, 2, 9, 10, 4096, 2**31, 2**63 - 1])
def test_the_event_id_worked_out_by_hand_is_the_uuid5_one(version: int) -> None:
    for _ in range(200):
        aggregate = uuid4()
        expected = str(uuid5(NAMESPACE_URL, f"/events/{aggregate}/{version}"))
        assert codec.event_id_text(str(aggregate), version) == expected
        assert expected == str(codec.event_id(aggregate, version))
