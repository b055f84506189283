"""De-identification for the analysts' stream: no personal field, ids as keyed pseudonyms.

Every personal field (by the schema marks) and who acted become null; every
``logicalType: uuid`` field (case, aggregate, event, discovery... ids) becomes a UUID
derived from HMAC-SHA256 under a key the analysts do not hold, so one id maps to one
pseudonym across the whole stream.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any
from uuid import UUID

from producers.fields import ACTOR, personal_fields, replace_each, uuid_fields, withhold


@lru_cache(maxsize=65536)
def pseudonym(value: str, key: bytes) -> str:
    """A version-8 (custom) UUID from HMAC-SHA256 of the canonical id text."""
    text = str(UUID(str(value)))
    digest = hmac.new(key, text.encode("ascii"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:16], "big")
    number &= ~(0xF000 << 64)
    number |= 0x8000 << 64  # version 8
    number &= ~(0xC000 << 48)
    number |= 0x8000 << 48  # RFC 4122 variant
    return str(UUID(int=number))


def deidentify(record: dict[str, Any], key: bytes) -> dict[str, Any]:
    """A copy of an event ``record`` fit for ``analytics.events``."""
    schema_name = record["event_type"]
    result = withhold(record, [ACTOR, *(path for path, _, _ in personal_fields(schema_name))])
    for path in uuid_fields(schema_name):
        replace_each(result, path, lambda value: pseudonym(value, key))
    return result
