"""The businesses and bases the contractor's forms offer, chosen by name: one group per
ward in the city's order (a business of the whole city first), each option its name with
its kind, its value the id the command names (``projections.partners.listed``'s order).
Two registered under the same name and kind in one ward (a registration made twice) are
told apart by the day each was registered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from hub.fiscal import JST, wareki_date
from projections.partners import Listed, PartnerType

Choices = list[tuple[str, str]]


def choices(
    rows: Iterable[Listed], partner_type: PartnerType, at: datetime
) -> list[tuple[str, Choices]]:
    """``(区名, [(id, "名称（種類）"), ...])`` for the partners of ``partner_type`` still in the
    network at ``at`` (a business that left, a base that closed, is offered no more)."""
    mine = [r for r in rows if r.partner_type == partner_type and r.in_force(at)]
    said = {r.partner_id: f"{r.name}（{r.kind_label}）" for r in mine}
    twice = Counter((r.ward_label, said[r.partner_id]) for r in mine)
    groups: dict[str, Choices] = {}
    for r in mine:
        text = said[r.partner_id]
        if twice[(r.ward_label, text)] > 1:
            text += f"・{wareki_date(r.registered_at.astimezone(JST).date())}登録"
        groups.setdefault(r.ward_label, []).append((r.partner_id, text))
    return list(groups.items())
