"""A Confluent-compatible schema registry as files (``hub schema export DIR``).

The folder holds the registry's own REST paths, so any static web server in front of it is a
read-only registry that confluent-kafka's AvroDeserializer and other registry-aware tools can
ask (``GET /schemas/ids/<id>``, ``/subjects/<subject>/versions/<n>`` and ``…/latest``, which
a serializer with ``use.latest.version`` asks, ``/config/<subject>``), and ``import.json``
lists the same versions in order with their ids, as the bodies of
``POST /subjects/<subject>/versions`` for a registry in IMPORT mode (ids kept).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub import schema_ids

AVRO = "AVRO"


def _write(path: Path, body: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")


def export(target: Path) -> int:
    """Writes the bundle of every committed subject version; returns how many."""
    entries = schema_ids.entries()
    versions = []
    for entry in entries:
        text = schema_ids.schema_text(entry)
        version = {
            "subject": entry.subject,
            "version": entry.version,
            "id": entry.id,
            "schemaType": AVRO,
            "schema": text,
        }
        versions.append(version)
        _write(target / "schemas" / "ids" / str(entry.id), {"schema": text, "schemaType": AVRO})
        _write(target / "subjects" / entry.subject / "versions" / str(entry.version), version)
        # entries come in version order per subject: the last one written is the newest
        _write(target / "subjects" / entry.subject / "versions" / "latest", version)
        _write(
            target / "config" / entry.subject,
            {"compatibilityLevel": schema_ids.COMPATIBILITY},
        )
    _write(
        target / "import.json",
        {"mode": "IMPORT", "compatibility": schema_ids.COMPATIBILITY, "versions": versions},
    )
    return len(versions)
