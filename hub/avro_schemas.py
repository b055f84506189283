"""Avro schemas of the events, generated from the pydantic payloads in ``hub.events``.

Every published event record is the envelope (event id, type, aggregate, version, time
recorded) plus the payload's fields. Personal fields keep their marks as schema properties
(``"personal": <category>``, ``"sensitive": true``), so code that withholds data reads them
from the schema. ``schemas/events/*.avsc`` are the committed contracts; a test keeps them
equal to what this module generates, and another checks compatibility with released ones.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hub.events import ALL_EVENTS, Event

NAMESPACE = "jp.kitakyushu.hub.events"
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
EVENTS_DIR = SCHEMAS_DIR / "events"

ENVELOPE: list[dict[str, Any]] = [
    {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "event_type", "type": "string"},
    {"name": "aggregate_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "aggregate_version", "type": "long"},
    {"name": "recorded_at", "type": "string", "format": "date-time"},
]


def _avro_type(annotation: Any, defined: set[str]) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unsupported union {annotation}")
        return ["null", _avro_type(members[0], defined)]
    if origin is list:
        (item,) = get_args(annotation)
        return {"type": "array", "items": _avro_type(item, defined)}
    if origin is Literal:
        return {"type": "string", "symbols": [str(a) for a in get_args(annotation)]}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__name__ in defined:
            return annotation.__name__
        defined.add(annotation.__name__)
        return {
            "type": "record",
            "name": annotation.__name__,
            "fields": [_field(n, f, defined) for n, f in annotation.model_fields.items()],
        }
    simple = {
        str: "string",
        int: "long",
        bool: "boolean",
        float: "double",
        UUID: {"type": "string", "logicalType": "uuid"},
        datetime: {"type": "string", "format": "date-time"},
        date: {"type": "string", "format": "date"},
    }
    if annotation in simple:
        return simple[annotation]
    raise TypeError(f"no Avro mapping for {annotation!r}")


def _field(name: str, info: FieldInfo, defined: set[str]) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": _avro_type(info.annotation, defined)}
    if not info.is_required():
        default = info.get_default(call_default_factory=True)
        field["default"] = (
            default.model_dump(mode="json") if isinstance(default, BaseModel) else default
        )
    extra = info.json_schema_extra
    if isinstance(extra, dict):
        field.update({k: extra[k] for k in ("personal", "sensitive") if k in extra})
    return field


def event_schema(event_type: type[Event]) -> dict[str, Any]:
    defined: set[str] = set()
    fields = [dict(f) for f in ENVELOPE]
    fields += [_field(n, f, defined) for n, f in event_type.model_fields.items()]
    return {
        "type": "record",
        "name": event_type.__name__,
        "namespace": NAMESPACE,
        "doc": (event_type.__doc__ or "").strip() or None,
        "fields": fields,
    }


def all_event_schemas() -> dict[str, dict[str, Any]]:
    schemas = {cls.__name__: event_schema(cls) for cls in ALL_EVENTS}
    for schema in schemas.values():
        if schema["doc"] is None:
            del schema["doc"]
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def write_event_schemas(directory: Path = EVENTS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_event_schemas().items():
        path = directory / f"{name}.avsc"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def schema_fields(schema: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every field of a record schema with its path of names, nested records and arrays too."""
    named: dict[str, dict[str, Any]] = {}

    def walk(avro_type: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if isinstance(avro_type, list):
            for member in avro_type:
                yield from walk(member, path)
        elif isinstance(avro_type, str) and avro_type in named:
            yield from walk(named[avro_type], path)
        elif isinstance(avro_type, dict):
            if avro_type.get("type") == "record":
                named[avro_type["name"]] = avro_type
                for field in avro_type["fields"]:
                    field_path = (*path, field["name"])
                    yield field_path, field
                    yield from walk(field["type"], field_path)
            elif avro_type.get("type") == "array":
                yield from walk(avro_type["items"], path)

    yield from walk(schema, ())


def personal_paths(schema: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """Every marked field in a schema, by its path of field names, with its marks."""
    return {
        path: {"category": field["personal"], "sensitive": bool(field.get("sensitive", False))}
        for path, field in schema_fields(schema)
        if "personal" in field
    }
