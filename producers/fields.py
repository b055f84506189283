"""Field paths of event records, found from the schema marks, and edits along them.

A path is a tuple of field names from the record's top; arrays on the way are walked
element by element (``issues.issue`` is the ``issue`` of every element of ``issues``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from hub.avro_schemas import personal_paths, schema_fields
from hub.codec import schema_definition

Path = tuple[str, ...]

# Who acted (staff identity, ``hub.events.ActedBy``): not the person's data, so not marked
# personal, but withheld from agencies and analysts all the same; auditors see it.
ACTOR: Path = ("actor",)


@lru_cache(maxsize=128)
def personal_fields(schema_name: str) -> tuple[tuple[Path, str, bool], ...]:
    """``(path, category, sensitive)`` of every personal field of a schema, in schema order."""
    marks = personal_paths(schema_definition(schema_name))
    return tuple((path, m["category"], m["sensitive"]) for path, m in marks.items())


def _is_uuid(avro_type: Any) -> bool:
    if isinstance(avro_type, list):
        return any(_is_uuid(member) for member in avro_type)
    return isinstance(avro_type, dict) and avro_type.get("logicalType") == "uuid"


@lru_cache(maxsize=128)
def uuid_fields(schema_name: str) -> tuple[Path, ...]:
    """Paths of every field typed ``logicalType: uuid`` (alone, in a union or an array)."""
    found = []
    for path, field in schema_fields(schema_definition(schema_name)):
        field_type = field["type"]
        items = field_type.get("items") if isinstance(field_type, dict) else None
        if _is_uuid(field_type) or _is_uuid(items):
            found.append(path)
    return tuple(found)


def values_at(record: Any, path: Path) -> list[Any]:
    """The non-null values found at ``path`` (several when arrays lie on the way)."""
    if isinstance(record, list):
        return [v for item in record for v in values_at(item, path)]
    if not isinstance(record, dict) or record.get(path[0]) is None:
        return []
    value = record[path[0]]
    if len(path) == 1:
        return [value]
    return values_at(value, path[1:])


def _edited(record: Any, path: Path, change: Callable[[Any], Any]) -> Any:
    # Copies only the dicts and lists on the way to the path; everything off it is shared
    # with ``record`` (records are never changed in place once made).
    if isinstance(record, list):
        return [_edited(item, path, change) for item in record]
    if isinstance(record, dict) and record.get(path[0]) is not None:
        value = record[path[0]]
        return {
            **record,
            path[0]: change(value) if len(path) == 1 else _edited(value, path[1:], change),
        }
    return record


def withhold(record: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """A copy of ``record`` with the fields at ``paths`` set to null (``record`` unchanged)."""
    result = dict(record)
    for path in paths:
        result = _edited(result, path, _null)
    return result


def _null(_: Any) -> None:
    return None


def replaced_each(
    record: dict[str, Any], path: Path, change: Callable[[Any], Any]
) -> dict[str, Any]:
    """A copy of ``record`` with ``change`` applied to the value at ``path``, or to each item
    of an array there (``record`` unchanged)."""
    return _edited(  # type: ignore[no-any-return]
        record,
        path,
        lambda value: [change(v) for v in value] if isinstance(value, list) else change(value),
    )


def without_actor(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without who acted (a shallow copy when it names someone)."""
    return {**record, ACTOR[0]: None} if record.get(ACTOR[0]) is not None else record


def dotted(path: Path) -> str:
    return ".".join(path)
