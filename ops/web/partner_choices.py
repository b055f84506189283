"""The businesses and bases the contractor's forms offer, chosen by name: one group per
ward in the city's order (a business of the whole city first), each option its name with
its kind, its value the id the command names (``projections.partners.listed``'s order)."""

from __future__ import annotations

from collections.abc import Iterable

from projections.partners import Listed, PartnerType

Choices = list[tuple[str, str]]


def choices(rows: Iterable[Listed], partner_type: PartnerType) -> list[tuple[str, Choices]]:
    """``(区名, [(id, "名称（種類）"), ...])`` for the partners of ``partner_type``."""
    groups: dict[str, Choices] = {}
    for row in rows:
        if row.partner_type == partner_type:
            text = f"{row.name}（{row.kind_label}）"
            groups.setdefault(row.ward_label, []).append((row.partner_id, text))
    return list(groups.items())
