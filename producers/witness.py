"""The chain's head, witnessed outside the database.

Whoever can write the database can cut the log's tail or rewrite it and recompute the hash
chain, and the store alone still verifies. So with every batch the relay publishes the head
of the chain at the batch's last position (a ``ChainHead`` record, schemas/messages/) on
``audit.consent``, which only the relay may write, and has it acknowledged before it sends
the batch's records: on a chained store no record is ever delivered past the newest
witnessed head (a log stored before the chain existed has none until ``hub audit seal``).
``hub audit verify-log`` checks the store against that head, and the relay refuses to
start on a store that does not reach it. The record is a function of the log and the
batch, so a batch sent again after a crash repeats it byte for byte.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

SCHEMA = "ChainHead"
KEY = "chain-head"  # one key: every head on one partition, in the order published


def chain_head(recorder: Any, position: int) -> dict[str, Any] | None:
    """The ``ChainHead`` record of the link at ``position`` (None for a store without a chain)."""
    select_links = getattr(recorder, "select_links", None)
    if select_links is None:
        return None
    links = select_links(position, position)
    if not links:
        return None
    return {"position": position, "chain_hash": links[0].chain_hash}


def headers(record: dict[str, Any]) -> list[tuple[str, bytes]]:
    witness_id = uuid5(NAMESPACE_URL, f"/chain-heads/{record['position']}/{record['chain_hash']}")
    return [
        ("event_id", str(witness_id).encode()),
        ("event_type", SCHEMA.encode()),
        ("position", str(record["position"]).encode()),
    ]
