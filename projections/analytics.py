"""The analysts' rebuild: table ④ from ``analytics.events`` alone, with the hub's own fold.

An analyst holds only the principal ``analyst`` and ``schemas/``: records are decoded by
their schema fingerprint, each event id is applied once (the relay may send a batch again
after a crash), and the de-identified records go through the same pure fold
(``projections.indicators``) as the hub's view, so the numbers are the hub's numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hub import codec, topics
from hub.kafka_clients import DEADLINE_S, IDLE_S, read_to_end
from hub.settings import Settings
from projections.indicators import MemoryIndicators

ANALYST = "analyst"


def fold_records(records: Iterable[tuple[str | None, bytes]]) -> MemoryIndicators:
    """Fold (event id, single-object Avro value) pairs, each event id once."""
    fold = MemoryIndicators.empty()
    seen: set[str] = set()
    for event_id, value in records:
        if event_id is not None:
            if event_id in seen:
                continue
            seen.add(event_id)
        schema, record = codec.decode(value)
        fold.apply(str(record.get("event_type") or schema), record)
    return fold


def read_analytics(
    settings: Settings,
    *,
    principal: str = ANALYST,
    idle_s: float = IDLE_S,
    deadline_s: float = DEADLINE_S,
) -> Iterator[tuple[str | None, bytes]]:
    """Every record of ``analytics.events`` from the start to its end when reading began.

    Ends with ``ServiceUnavailableError`` when the broker stops answering (nothing for
    ``idle_s``) or the read takes longer than ``deadline_s``.
    """
    for record in read_to_end(
        settings,
        [topics.analytics(settings)],
        principal=principal,
        client_id=f"{principal}-rebuild",
        idle_s=idle_s,
        deadline_s=deadline_s,
    ):
        event_id = dict(record.headers or []).get("event_id")
        yield (event_id.decode() if event_id else None), record.value
