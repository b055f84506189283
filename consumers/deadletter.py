"""Dead letters: the original bytes of a record that cannot be applied, with the reason.

Headers (docs/STREAMS.md): ``dlq_reason``, ``dlq_source_topic``, ``dlq_offset``, plus
``dlq_partition`` and the original record's headers.
"""

from __future__ import annotations

from consumers.ports import InRecord


def deadletter_headers(record: InRecord, reason: str) -> list[tuple[str, bytes]]:
    headers = [(k, v) for k, v in record.headers.items() if not k.startswith("dlq_")]
    headers += [
        ("dlq_reason", reason.encode("utf-8")),
        ("dlq_source_topic", record.topic.encode("utf-8")),
        ("dlq_partition", str(record.partition).encode("utf-8")),
        ("dlq_offset", str(record.offset).encode("utf-8")),
    ]
    return headers
