"""Schemas: committed files equal the pydantic events; evolution stays compatible."""

from __future__ import annotations

import json
from datetime import datetime

import avro.schema
import fastavro
import pytest

from hub import events as ev
from hub.avro_schemas import EVENTS_DIR, all_event_schemas, personal_paths, render
from hub.compatibility import RELEASED_DIR, check_all, check_pair


def test_committed_event_schemas_equal_the_pydantic_events() -> None:
    generated = all_event_schemas()
    committed = {p.stem: p.read_text("utf-8") for p in EVENTS_DIR.glob("*.avsc")}
    assert set(committed) == set(generated), "run hub.avro_schemas.write_event_schemas()"
    for name, schema in generated.items():
        assert committed[name] == render(schema), f"schemas/events/{name}.avsc is stale"


def test_every_schema_parses_with_fastavro_and_apache_avro() -> None:
    for path in EVENTS_DIR.glob("*.avsc"):
        fastavro.parse_schema(json.loads(path.read_text("utf-8")))
        avro.schema.parse(path.read_text("utf-8"))


def test_every_payload_field_is_in_its_schema_with_the_same_marks() -> None:
    for event_type in ev.ALL_EVENTS:
        schema = all_event_schemas()[event_type.__name__]
        names = {f["name"] for f in schema["fields"]}
        assert set(event_type.model_fields) <= names
        for name, info in event_type.model_fields.items():
            field = next(f for f in schema["fields"] if f["name"] == name)
            marks = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            assert field.get("personal") == marks.get("personal")
            assert field.get("sensitive") == marks.get("sensitive")


def test_personal_fields_are_optional_so_they_can_be_withheld() -> None:
    for name, schema in all_event_schemas().items():
        for path in personal_paths(schema):
            field = _field_at(schema, path)
            assert field["type"][0] == "null" and field["default"] is None, (name, path)


def test_sensitive_fields_are_marked_in_the_person_record() -> None:
    marks = personal_paths(all_event_schemas()["CaseOpened"])
    sensitive = {path[-1] for path, mark in marks.items() if mark["sensitive"]}
    assert sensitive == {"health", "disability", "criminal_record"}
    assert marks[("person", "name")] == {"category": "identity", "sensitive": False}


def test_current_schemas_are_compatible_with_every_released_version() -> None:
    assert list(RELEASED_DIR.glob("*/*.avsc")), "no released schemas to check against"
    assert check_all() == []


def test_the_checker_refuses_a_change_old_readers_cannot_read() -> None:
    current = all_event_schemas()["CaseClosed"]
    broken = json.loads(json.dumps(current))
    broken["fields"].append({"name": "closed_by", "type": "string"})  # new, no default
    problems = check_pair("CaseClosed", render(broken), render(current), "1.avsc")
    assert [p.direction for p in problems] == ["backward"]
    renamed = json.loads(json.dumps(current))
    next(f for f in renamed["fields"] if f["name"] == "case_id")["name"] = "case"
    assert check_pair("CaseClosed", render(renamed), render(current), "1.avsc")


def test_a_v1_discovery_record_reads_as_v2_with_the_default_channel() -> None:
    v1 = json.loads((RELEASED_DIR / "DiscoveryReported" / "1.avsc").read_text("utf-8"))
    v2 = all_event_schemas()["DiscoveryReported"]
    record = {
        "event_id": "00000000-0000-0000-0000-000000000001",
        "event_type": "DiscoveryReported",
        "aggregate_id": "00000000-0000-0000-0000-000000000002",
        "aggregate_version": 1,
        "recorded_at": datetime(2025, 4, 1).isoformat(),
        "occurred_at": "2025-04-01T09:00:00+09:00",
        "discovery_id": "00000000-0000-0000-0000-000000000002",
        "reporter_kind": "resident",
        "reporter_group": None,
        "reporter_agency": None,
        "ward": "moji",
        "signs": ["mailbox_full"],
        "urgency": "soon",
        "note": None,
        "person": None,
    }
    import io

    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(v1), record)
    buffer.seek(0)
    read = fastavro.schemaless_reader(buffer, fastavro.parse_schema(v1), fastavro.parse_schema(v2))
    assert read["channel"] == "unknown"


def _field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def _field_at(schema: dict, path: tuple[str, ...]) -> dict:
    record = schema
    field: dict = {}
    for name in path:
        field = _field(record, name)
        inner = field["type"]
        inner = inner[1] if isinstance(inner, list) else inner
        if isinstance(inner, dict) and inner.get("type") == "array":
            inner = inner["items"]
        record = inner if isinstance(inner, dict) else record
    return field


@pytest.mark.parametrize("name", sorted(all_event_schemas()))
def test_schema_names_match_event_types(name: str) -> None:
    assert all_event_schemas()[name]["name"] == name
