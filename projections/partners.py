"""The network's partners the plan counts: 協力事業者 (参加支援事業の②協力事業者数) and 地域の拠点
(地域づくり事業の①拠点数), each as registered, in the order of the log, with the day a
business left the network or a base closed (``ended_at``).

A fold of the log, as the indicators count them (docs/COUNTING-RULES.md): organisations
only, no person's details. ``listed`` is the one list the contractor's forms, the API
(``GET /partners``) and ``hub network partners`` show.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from eventsourcing.utils import get_topic

from hub import events as ev
from hub.application import HubApplication
from hub.domain.others import CommunityBase, CooperatingBusiness
from hub.fiscal import JST
from hub.labels import label
from projections.audit.history import Entry
from projections.audit.source import log_entries

PartnerType = Literal["business", "base"]
PARTNER_TYPES: dict[PartnerType, str] = {"business": "協力事業者", "base": "地域の拠点"}
WHOLE_CITY = "市内全域"  # a business registered without a ward serves the whole city


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str
    kind: str  # a business's kind as typed (飲食, 清掃 …); a base's ``base_kind`` code
    ward: str | None  # a business may serve the whole city
    registered_at: datetime
    ended_at: datetime | None = None  # left the network (a business), closed (a base)


@dataclass
class Partners:
    businesses: list[Partner] = field(default_factory=list)
    bases: list[Partner] = field(default_factory=list)

    def apply(self, entry: Entry) -> None:
        p = entry.payload
        if isinstance(p, ev.CooperatingBusinessRegistered):
            self.businesses.append(
                Partner(str(p.business_id), p.name, p.kind, p.ward, p.occurred_at)
            )
        elif isinstance(p, ev.CommunityBaseRegistered):
            self.bases.append(Partner(str(p.base_id), p.name, p.kind, p.ward, p.occurred_at))
        elif isinstance(p, ev.CooperatingBusinessWithdrawn):
            _ended(self.businesses, str(p.business_id), p.occurred_at)
        elif isinstance(p, ev.CommunityBaseClosed):
            _ended(self.bases, str(p.base_id), p.occurred_at)


def _ended(partners: list[Partner], partner_id: str, at: datetime) -> None:
    for n, partner in enumerate(partners):
        if partner.partner_id == partner_id:
            partners[n] = replace(partner, ended_at=at)


def partners_view(entries: Iterable[Entry]) -> Partners:
    view = Partners()
    for entry in entries:
        view.apply(entry)
    return view


# The stored topics of the registrations and their ends: the store picks their rows out of
# the log, so a view decodes a few dozen events, not the whole log (a year's: ~1 s → ~ms).
TOPICS = (
    get_topic(CooperatingBusiness.CooperatingBusinessRegistered),  # type: ignore[attr-defined]
    get_topic(CommunityBase.CommunityBaseRegistered),  # type: ignore[attr-defined]
    get_topic(CooperatingBusiness.CooperatingBusinessWithdrawn),  # type: ignore[attr-defined]
    get_topic(CommunityBase.CommunityBaseClosed),  # type: ignore[attr-defined]
)


def partners_of(app: HubApplication) -> Partners:
    """The partners registered on ``app``'s log (every door reads them so)."""
    return partners_view(log_entries(app, topics=TOPICS))


@dataclass(frozen=True)
class Listed:
    """One partner as it is chosen and listed: its name first, its kind and ward named."""

    partner_type: PartnerType
    partner_id: str
    name: str
    kind: str
    kind_label: str
    ward: str | None
    ward_label: str
    registered_at: datetime
    ended_at: datetime | None

    @property
    def partner_type_label(self) -> str:
        return PARTNER_TYPES[self.partner_type]

    def in_force(self, at: datetime) -> bool:
        """Whether it is still in the network at ``at`` (may be named by a match or a
        gathering): registered, and not left or closed by then."""
        return self.registered_at <= at and (self.ended_at is None or at < self.ended_at)

    def record(self) -> dict[str, Any]:
        """As JSON gives it (the API, ``--json``): each code with its label beside it, the
        instant in JST (ISO 8601, +09:00)."""
        return {
            "partner_type": self.partner_type,
            "partner_type_label": self.partner_type_label,
            "partner_id": self.partner_id,
            "name": self.name,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "ward": self.ward,
            "ward_label": self.ward_label,
            "registered_at": self.registered_at.astimezone(JST).isoformat(),
            "ended_at": self.ended_at.astimezone(JST).isoformat() if self.ended_at else None,
        }


def listed(partners: Partners, wards: Mapping[str, str]) -> list[Listed]:
    """Businesses, then bases; each by ward in the city's order (``wards``: code → 区名, in
    that order; a business of the whole city first, a ward the network no longer names
    last), then by name with widths folded, then by when it was registered."""
    order = {code: n for n, code in enumerate(wards)}

    def row(partner_type: PartnerType, p: Partner) -> Listed:
        kind = label("base_kind", p.kind) if partner_type == "base" else p.kind
        ward = wards.get(p.ward, p.ward) if p.ward else WHOLE_CITY
        return Listed(
            partner_type,
            p.partner_id,
            p.name,
            p.kind,
            kind,
            p.ward,
            ward,
            p.registered_at,
            p.ended_at,
        )

    def key(r: Listed) -> tuple[int, str, datetime]:
        place = -1 if r.ward is None else order.get(r.ward, len(order))
        return place, unicodedata.normalize("NFKC", r.name), r.registered_at

    businesses = sorted((row("business", p) for p in partners.businesses), key=key)
    bases = sorted((row("base", p) for p in partners.bases), key=key)
    return [*businesses, *bases]
