"""The agencies a form offers, grouped by ward (~70 in all): the officer's own ward
first, then the city-wide agencies (no ward), then the other wards in the network's order,
so the agencies an officer names most are not lost in one flat list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

CITY_WIDE = "市全域"

Choices = list[tuple[str, str]]


def by_ward(
    agencies: Iterable[Any],
    ward_order: Iterable[str],
    name: Callable[[str], str],
    ward_name: Callable[[str], str],
    first: str | None,
) -> list[tuple[str, Choices]]:
    """``(group label, [(agency id, name), ...])``, each agency once, an empty group left
    out; ``first``: the officer's ward (None: no ward of their own, the city-wide first)."""
    held: dict[str | None, Choices] = {}
    for agency in agencies:
        held.setdefault(agency.ward or None, []).append((agency.id, name(agency.id)))
    rest = [w for w in ward_order if w != first]
    rest += sorted(w for w in held if w is not None and w != first and w not in rest)
    order = ([first] if first else []) + [None] + rest
    return [(ward_name(w) if w else CITY_WIDE, held[w]) for w in order if held.get(w)]
