"""Reading a record of an agency's referral topic: decode, validate, split what it discloses.

Anything that cannot be applied raises ``BadRecord`` with a reason that names schemas,
fields and offsets only, never values (the reason travels in dead-letter headers and logs).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from consumers.inbox import InboxEntry
from consumers.ports import InRecord
from hub import codec
from hub.avro_schemas import personal_paths
from hub.commands import field_of_rule
from hub.events import ALL_EVENTS
from hub.quarantine import screen

BASES = frozenset({"consent", "support_meeting", "vital_interest", "statute", "none"})
ENVELOPE = ("event_id", "event_type", "aggregate_id", "aggregate_version", "recorded_at")
EVENT_TYPES: dict[str, type[BaseModel]] = {cls.__name__: cls for cls in ALL_EVENTS}
# Events about one referral; those about another agency's referral are context of the case.
REFERRAL_EVENTS = frozenset(
    {"ReferralMade", "ReferralAnswered", "ReferralEscalated", "ReferralCancelled"}
)


class BadRecord(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(record: InRecord) -> tuple[str, dict[str, Any]]:
    """The schema name and body of a record, or ``BadRecord`` saying why not."""
    if not record.value:
        raise BadRecord("empty record value")
    try:
        return codec.decode(record.value)
    except codec.UnknownSchemaError:
        raise BadRecord("unknown schema fingerprint") from None
    except codec.CodecError as error:
        raise BadRecord(f"undecodable: {error}") from None


def validation_reason(
    schema_name: str,
    error: ValidationError,
    renamed: dict[str, str] | None = None,
    fields: Collection[str] = (),
) -> str:
    """``failed validation as <schema>: <fields>``; ``renamed`` gives a field the name the
    record's writer knows it by, and a rule of the whole record is placed at the field of
    ``fields`` its message names (a decline without ``reason_code``), as the API places it."""
    names = renamed or {}

    def place(item: Any) -> str:
        location = [str(part) for part in item["loc"]]
        if not location and item["type"] == "value_error":
            named = field_of_rule(fields, str(item["msg"]).removeprefix("Value error, "))
            location = [named[0]] if named is not None else []
        return ".".join(names.get(part, part) for part in location) or "(record)"

    places = sorted({place(e) for e in error.errors()})
    return f"failed validation as {schema_name}: {', '.join(places)}"


def _value_at(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def read_referral_record(record: InRecord, agency_id: str) -> InboxEntry:
    name, body = decode(record)
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        raise BadRecord(f"schema {name} is not an event of the referral stream")
    try:
        payload = event_type.model_validate(
            {k: body[k] for k in event_type.model_fields if k in body}
        )
    except ValidationError as error:
        raise BadRecord(validation_reason(name, error)) from None
    implausible = screen(payload)  # a record a relay published before it screened events
    if implausible:
        raise BadRecord(f"implausible {name}: {implausible}")
    event_id = record.header("event_id") or ""
    try:
        UUID(event_id)
    except ValueError:
        raise BadRecord("missing or malformed event_id header") from None
    if body.get("event_id") and str(body["event_id"]) != event_id:
        raise BadRecord("event_id header disagrees with the record's event_id")
    basis = record.header("basis") or "none"
    if not set(basis.split(",")) <= BASES:
        raise BadRecord("unknown basis header")
    ours = name in REFERRAL_EVENTS and body.get("agency_id") == agency_id

    marked = personal_paths(codec.schema_definition(name))
    disclosed = {
        ".".join(path): value
        for path in sorted(marked)
        if (value := _value_at(body, path)) is not None
    }
    personal_roots = {path[0] for path in marked}
    details = {k: v for k, v in body.items() if k not in personal_roots and k not in ENVELOPE}
    withheld = tuple(w for w in (record.header("withheld") or "").split(",") if w)
    return InboxEntry(
        event_id=event_id,
        event_type=name,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        occurred_at=str(body.get("occurred_at") or body.get("recorded_at") or ""),
        case_id=str(body["case_id"]) if body.get("case_id") else None,
        referral_id=str(body["referral_id"]) if ours else None,
        basis=basis,
        basis_ref=record.header("basis_ref") or None,
        withheld=withheld,
        missing_basis=record.header("missing_basis") or None,
        disclosed=disclosed,
        details=details,
    )
