"""A stored event of the hub decoded without the library's JSON object hook or domain event.

The rebuild and the relay read every event of the log; the library's mapper spends most of
their decoding time in ``json.loads``'s object hook and in making the domain event. For the
envelope the hub writes, this reads the same values by a shorter way and answers None for
anything else (the reader then decodes it the library's way, which decides): so an event is
refused exactly where the library refuses it, and read exactly as it reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic
from pydantic_core import from_json

from hub.tracing import EVENT_ATTRIBUTE

_TYPE_KEY = b'"_type_"'
_ENVELOPE = frozenset({"timestamp", "originator_topic", "payload", EVENT_ATTRIBUTE})
_WRAPPED = frozenset({"_type_", "_data_"})


@dataclass(frozen=True)
class StoredPayload:
    """What a reader needs of a domain event, under the domain event's attribute names."""

    originator_id: Any
    originator_version: int
    timestamp: datetime
    payload: Any
    traceparent: str | None = None


def decode_quickly(mapper: Mapper[Any], stored: StoredEvent) -> StoredPayload | None:
    """The event as the library's ``mapper`` would decode it, or None (decode it the
    library's way) for any stored state that is not plainly the envelope the hub writes.

    The stored JSON is parsed by pydantic-core (the same values as ``json.loads``); the
    payload's own transcoding (unsealing, the model's validation), the envelope's timestamp
    and the originator id are decoded by the library's very objects. Exactly two ``"_type_"``
    keys and no ``\\u`` escape mean that the object hook would turn nothing but those two into
    objects. Anything else (an upcast, a cipher, an extra key, a traceparent that is not text,
    an error) goes the library's way."""
    if (
        mapper.cipher is not None
        or mapper.compressor is not None
        or type(mapper).to_domain_event is not Mapper.to_domain_event
    ):
        return None
    state = stored.state
    if state.count(_TYPE_KEY) != 2 or b"\\u" in state:
        return None
    try:
        data = from_json(state)
        cls = resolve_topic(stored.topic)
        if getattr(cls, "class_version", 1) != 1 or not _ENVELOPE.issuperset(data):
            return None
        stamp, wrapped = data.get("timestamp"), data["payload"]
        traceparent = data.get(EVENT_ATTRIBUTE)
        if not (
            type(stamp) is dict
            and stamp.keys() == _WRAPPED
            and stamp["_type_"] == "datetime_iso"
            and type(wrapped) is dict
            and wrapped.keys() == _WRAPPED
            and (traceparent is None or type(traceparent) is str)
        ):
            return None
        names = mapper.transcoder.names  # type: ignore[attr-defined]
        timestamp = names["datetime_iso"].decode(stamp["_data_"])
        originator_id = find_id_convertor(cls, type(stored.originator_id))(  # type: ignore[arg-type]
            stored.originator_id
        )
        payload = names[wrapped["_type_"]].decode(wrapped["_data_"])
    except Exception:
        return None
    return StoredPayload(originator_id, stored.originator_version, timestamp, payload, traceparent)
