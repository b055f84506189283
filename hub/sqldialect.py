"""One SQL text for both stores: SQLite and PostgreSQL.

A statement is written once: tables as ``{name}``, parameters as ``?`` (positional) or
``:name`` (named), in SQL both stores understand (``INSERT … ON CONFLICT``). SQLite's driver
takes ``?`` and ``:name`` as they are; for psycopg they become ``%s`` and ``%(name)s``.
Tables are plain names on SQLite and schema-qualified, quoted names on PostgreSQL; either
may carry a prefix (a projection's tables share the application's schema).
"""

from __future__ import annotations

import re
from typing import Literal

StoreKind = Literal["sqlite", "postgres"]

_TABLE = re.compile(r"\{(\w+)\}")
_NAMED = re.compile(r"(?<![:\w]):(\w+)")  # not a PostgreSQL cast (::text)


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


class Dialect:
    """How one store spells tables and parameters; each distinct statement translated once."""

    def __init__(self, kind: StoreKind, schema: str | None = None, prefix: str = "") -> None:
        if kind == "postgres" and not schema:
            raise ValueError("a PostgreSQL dialect needs a schema")
        self.kind = kind
        self.schema = schema
        self.prefix = prefix
        self._translated: dict[str, str] = {}

    @classmethod
    def sqlite(cls, prefix: str = "") -> Dialect:
        return cls("sqlite", prefix=prefix)

    @classmethod
    def postgres(cls, schema: str, prefix: str = "") -> Dialect:
        return cls("postgres", schema, prefix)

    def table(self, name: str) -> str:
        """The table ``name`` as this store names it in a statement."""
        table = f"{self.prefix}{name}"
        if self.kind == "sqlite":
            return table
        assert self.schema is not None
        return f"{quote(self.schema)}.{quote(table)}"

    def index(self, name: str) -> str:
        """The index ``name`` as this store names it where it is created (an index lives in
        its table's schema, so it is never qualified; the prefix keeps projections apart)."""
        index = f"{self.prefix}{name}"
        return index if self.kind == "sqlite" else quote(index)

    def sql(self, statement: str) -> str:
        """``statement`` with its tables resolved and parameters in the driver's style."""
        found = self._translated.get(statement)
        if found is None:
            found = _TABLE.sub(lambda m: self.table(m.group(1)), statement)
            if self.kind == "postgres":
                found = _NAMED.sub(r"%(\1)s", found.replace("?", "%s"))
            self._translated[statement] = found
        return found
