"""De-identification for the analysts' stream: only what table ④ and the network measures
need, ids as keyed pseudonyms.

The rule (docs/STREAMS.md, "What analysts get"):

- every personal field (by the schema marks) and the actor become null;
- every ``logicalType: uuid`` field (case, aggregate, event, discovery... ids) becomes a
  UUID derived from HMAC-SHA256 under a key the analysts do not hold, so one id maps to one
  pseudonym across the whole stream;
- every instant (``format: date-time``) is cut to the start of its JST day, and every
  ``format: date`` is kept as the day it is: nothing finer than a day;
- ``recorded_at`` is empty (the schemas require the field; when the hub wrote an event says
  nothing the indicators use);
- the one duration the measures need travels as a duration: an answer carries
  ``minutes_since_referral``;
- lists and optional fields the indicators do not read are emptied (null, []): needs,
  signs, scopes, members, reasons... Required codes (ward, agency, kind) stay; required
  fields no indicator reads (``BLANKED``: a watch-over's frequency, an erasure's decider
  and reason, texts; a consent's ``by_proxy``) take a blank value ("", false).
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from hub.codec import schema_definition
from hub.fiscal import JST
from producers.fields import ACTOR, personal_fields, replaced_each, uuid_fields, withhold

# Lists and optional fields the indicators read (projections/indicators.py ``facts``).
NEEDED = frozenset(
    {
        ("GatheringHeld", "bodies"),
        ("CooperatingBusinessRegistered", "ward"),
        ("CooperatingBusinessWithdrawn", "ward"),  # where the stock drops
        ("ReferralAnswered", "outcome"),  # 完了（解決）件数: a code, no person's words
    }
)
# Required fields no indicator reads, that the schemas make travel, so given a blank value:
# texts typed freely, not codes (how often a person is watched over: who by, where, a phone
# number fit in it; who decided an erasure and why: staff, as the actor is), and whether a
# consent was given by proxy (rare, and it says the person could not consent themselves).
BLANKED: dict[tuple[str, str], Any] = {
    ("WatchOverArranged", "frequency"): "",
    ("PersonErased", "decided_by"): "",
    ("PersonErased", "reason"): "",
    ("DiscoveryErased", "decided_by"): "",
    ("DiscoveryErased", "reason"): "",
    ("ConsentGiven", "by_proxy"): False,
}
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
ENVELOPE = frozenset({"event_id", "event_type", "aggregate_id", "aggregate_version"})
# Ids pseudonymized lately, kept for the next events of the same case. Few are asked for
# again (an event id never is: a fifth of the calls hit, at 4,096 entries), and
# an entry costs ~300 bytes: 65,536 of them held ~20 MiB of a relay (BENCHMARKS.md, scale run).
PSEUDONYMS_CACHED = 4096


# An id already in its canonical text (what the log's records hold): hashed as it is.
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@lru_cache(maxsize=PSEUDONYMS_CACHED)
def pseudonym(value: str, key: bytes) -> str:
    """A version-8 (custom) UUID from HMAC-SHA256 of the canonical id text.

    Spelled out on bytes, not through ``uuid.UUID`` (two objects and an int a call): a miss
    of the cache was ~13 % of a relay's profile, and four of five calls miss."""
    text = (
        value if isinstance(value, str) and _CANONICAL.fullmatch(value) else str(UUID(str(value)))
    )
    number = bytearray(hmac.digest(key, text.encode("ascii"), "sha256")[:16])
    number[6] = (number[6] & 0x0F) | 0x80  # version 8
    number[8] = (number[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = number.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def jst_day_start(value: Any) -> str:
    """An instant cut to the start of its JST day, as ISO 8601 with the zone."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    day = moment.astimezone(JST).date()
    return datetime(day.year, day.month, day.day, tzinfo=JST).isoformat()


def _is_record(avro_type: Any) -> bool:
    if isinstance(avro_type, dict):
        return avro_type.get("type") == "record"
    return avro_type not in PRIMITIVES  # a named type defined earlier in the schema


@lru_cache(maxsize=128)
def _shape(schema_name: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(instant fields, list fields to empty, optional fields to null) of a schema's top."""
    instants, lists, optional = [], [], []
    for field in schema_definition(schema_name)["fields"]:
        name, avro_type = field["name"], field["type"]
        members = avro_type if isinstance(avro_type, list) else [avro_type]
        if name in ENVELOPE or name == "recorded_at":
            continue
        if any(isinstance(m, dict) and m.get("format") == "date-time" for m in members) or (
            field.get("format") == "date-time"
        ):
            instants.append(name)
        elif (schema_name, name) in NEEDED or name == "minutes_since_referral":
            continue
        elif any(isinstance(m, dict) and m.get("type") == "array" for m in members):
            lists.append(name)
        elif "null" in members and not any(_is_record(m) for m in members):
            # A record (the person) keeps its shape: its marked fields are withheld.
            optional.append(name)
    return tuple(instants), tuple(lists), tuple(optional)


def deidentify(
    record: dict[str, Any], key: bytes, minutes_since_referral: float | None = None
) -> dict[str, Any]:
    """A copy of an event ``record`` fit for ``analytics.events``."""
    schema_name = record["event_type"]
    paths = [path for path, _, _ in personal_fields(schema_name)]
    result = withhold(record, [*paths, ACTOR])
    for path in uuid_fields(schema_name):
        result = replaced_each(result, path, lambda value: pseudonym(value, key))
    instants, lists, optional = _shape(schema_name)
    for name in instants:
        if result.get(name) is not None:
            result[name] = jst_day_start(result[name])
    for name in lists:
        if result.get(name) is not None:
            result[name] = []
    for name in optional:
        if name in result and (schema_name, name) not in NEEDED:
            result[name] = None
    for (table, name), blank in BLANKED.items():
        if table == schema_name and name in result:
            result[name] = blank
    result["recorded_at"] = ""
    if "minutes_since_referral" in result or minutes_since_referral is not None:
        result["minutes_since_referral"] = minutes_since_referral
    return result
