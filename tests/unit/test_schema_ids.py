"""The committed registry ids of the released schemas and the Confluent wire format."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from hub import codec, confluent_wire, schema_ids
from hub.application import HubApplication
from tests import factories as f


def referral_record() -> dict[str, Any]:
    """A ReferralMade record as the relay reads it from a log (synthetic person)."""
    app = HubApplication()
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="tobata", person=f.person()))
    app.execute(f.referral(case_id, "tobata.houkatsu", referral_id=uuid4()))
    events = app.repository.event_store.get(case_id)
    (made,) = [e for e in events if type(e).__name__ == "ReferralMade"]
    return codec.event_record(made)


def test_every_released_version_and_message_has_a_subject_version_and_id() -> None:
    entries = schema_ids.entries()
    released = list((codec.SCHEMAS_DIR / "released").glob("*/*.avsc"))
    messages = list((codec.SCHEMAS_DIR / "messages").glob("*.avsc"))
    assert {e.path for e in entries} >= {str(p.relative_to(codec.SCHEMAS_DIR)) for p in released}
    unreleased = [m for m in messages if not (m.parent.parent / "released" / m.stem).is_dir()]
    assert len(entries) >= len(released) + len(unreleased)  # a released message counts once


def test_ids_are_unique_positive_int32s_and_each_subject_counts_its_versions_from_one() -> None:
    entries = schema_ids.entries()
    assert len({e.id for e in entries}) == len(entries), "two schemas share a registry id"
    assert all(0 < e.id < 2**31 for e in entries)
    by_subject: dict[str, list[int]] = {}
    for entry in entries:
        by_subject.setdefault(entry.subject, []).append(entry.version)
        definition = json.loads((codec.SCHEMAS_DIR / entry.path).read_text(encoding="utf-8"))
        assert codec.fingerprint(definition).hex() == entry.fingerprint, entry.path
        assert entry.id == schema_ids.schema_id(codec.fingerprint(definition))
        assert entry.subject.endswith("." + definition["name"])
    for subject, versions in by_subject.items():
        assert versions == list(range(1, len(versions) + 1)), subject


def test_a_new_release_gets_the_next_version_and_changes_no_other_id_or_version(
    tmp_path: Path,
) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(codec.SCHEMAS_DIR, schemas)
    before = schema_ids.entries(schemas)
    folder = schemas / "released" / "ReferralMade"
    latest = max(int(p.stem) for p in folder.glob("*.avsc"))
    definition = json.loads((folder / f"{latest}.avsc").read_text(encoding="utf-8"))
    definition["fields"].append({"name": "test_extra", "type": ["null", "string"], "default": None})
    (folder / f"{latest + 1}.avsc").write_text(json.dumps(definition), encoding="utf-8")
    after = schema_ids.entries(schemas)
    (new,) = [e for e in after if e not in before]
    assert [e for e in after if e != new] == before
    assert new.subject == "jp.kitakyushu.hub.events.ReferralMade"
    assert new.version == latest + 1
    assert new.id not in {e.id for e in before}


def test_a_record_in_the_confluent_wire_format_carries_the_id_and_the_same_body() -> None:
    record = referral_record()
    single = codec.encode("ReferralMade", record)
    framed = confluent_wire.encode("ReferralMade", record)
    (schema_id,) = struct.unpack(">I", framed[1:5])
    assert framed[:1] == b"\x00"
    assert schema_ids.ids().by_id[schema_id].subject == "jp.kitakyushu.hub.events.ReferralMade"
    assert framed[5:] == single[codec.HEADER_SIZE :]
    assert confluent_wire.from_single_object(single) == framed
    assert confluent_wire.decode(framed) == codec.decode(single)


def test_the_confluent_decoder_refuses_a_bad_magic_byte_and_an_unknown_id() -> None:
    framed = confluent_wire.encode("ReferralMade", referral_record())
    with pytest.raises(codec.UndecodableRecordError):
        confluent_wire.decode(b"\x01" + framed[1:])
    with pytest.raises(codec.UnknownSchemaError):
        confluent_wire.decode(b"\x00" + struct.pack(">I", 2**32 - 1) + framed[5:])
    with pytest.raises(codec.UndecodableRecordError):
        confluent_wire.decode(framed[:3])


def test_a_schema_without_a_committed_id_cannot_be_framed() -> None:
    with pytest.raises(schema_ids.UnregisteredSchemaError, match="no registry id"):
        schema_ids.id_of(b"\x00" * 8)
