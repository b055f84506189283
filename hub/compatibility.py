"""Schema evolution: a changed schema must read, and be read by, every released version.

Released schemas live in ``schemas/released/<Name>/<n>.avsc``; checks use the Apache
``avro`` package's ReaderWriterCompatibilityChecker (not the code that writes records).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from hub.avro_schemas import SCHEMAS_DIR, all_event_schemas, render

RELEASED_DIR = SCHEMAS_DIR / "released"


@dataclass(frozen=True)
class Incompatibility:
    schema: str
    released: str
    direction: str  # "backward": new reads old; "forward": old reads new
    detail: str


def _compatible(reader: str, writer: str) -> tuple[bool, str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(reader), avro.schema.parse(writer)
    )
    ok = result.compatibility is SchemaCompatibilityType.compatible
    return ok, "; ".join(sorted(result.messages)) if not ok else ""


def check_pair(name: str, current: str, released: str, label: str) -> list[Incompatibility]:
    problems = []
    for direction, reader, writer in (
        ("backward", current, released),
        ("forward", released, current),
    ):
        ok, detail = _compatible(reader, writer)
        if not ok:
            problems.append(Incompatibility(name, label, direction, detail))
    return problems


def check_all(released_dir: Path = RELEASED_DIR) -> list[Incompatibility]:
    """Every current event schema against every released version of it (full compatibility)."""
    problems: list[Incompatibility] = []
    for name, schema in all_event_schemas().items():
        for path in sorted((released_dir / name).glob("*.avsc")):
            problems += check_pair(name, render(schema), path.read_text("utf-8"), path.name)
    # Messages (replies, disclosures) are published too: the same rule for them.
    for current in sorted((released_dir.parent / "messages").glob("*.avsc")):
        for path in sorted((released_dir / current.stem).glob("*.avsc")):
            text = current.read_text("utf-8")
            problems += check_pair(current.stem, text, path.read_text("utf-8"), path.name)
    return problems
