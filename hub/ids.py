"""An id the hub takes: a UUID, not the nil UUID (00000000-0000-0000-0000-000000000000).

The nil UUID names nothing. A client that sends it for every new thing (an unset field
serialised as zeros) would open one case with it and then be refused, 409, for ever after.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, WithJsonSchema

from hub.errors import InvalidCommandError

NIL = UUID(int=0)
NIL_REFUSED = "is the nil UUID (all zeros), which names nothing: give the thing's own id"


def not_nil(value: UUID) -> UUID:
    if value == NIL:
        raise ValueError(NIL_REFUSED)
    return value


# Every id a command, a path or a query takes: refused by pydantic, naming the field, and
# said in the schema (a client written from `hub schema commands` or /openapi.json alone).
Id = Annotated[
    UUID,
    AfterValidator(not_nil),
    WithJsonSchema({"type": "string", "format": "uuid", "not": {"const": str(NIL)}}),
]


def check_not_nil(text: str, field: str) -> None:
    """InvalidCommandError, naming ``field``, when ``text`` (an option's) is the nil UUID."""
    try:
        nil = UUID(text) == NIL
    except ValueError:
        return  # not a whole id: a prefix, or text its own check refuses
    if nil:
        raise InvalidCommandError(f"{field}: {NIL_REFUSED}")
