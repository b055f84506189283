"""The network's partners the plan counts: 協力事業者 (参加支援事業の②協力事業者数) and 地域の拠点
(地域づくり事業の①拠点数), each as registered, in the order of the log.

A fold of the log, as the indicators count them (docs/COUNTING-RULES.md): organisations
only, no person's details.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from hub import events as ev
from projections.audit.history import Entry


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str
    kind: str  # a business's kind as typed (飲食, 清掃 …); a base's ``base_kind`` code
    ward: str | None  # a business may serve the whole city
    registered_at: datetime


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


def partners_view(entries: Iterable[Entry]) -> Partners:
    view = Partners()
    for entry in entries:
        view.apply(entry)
    return view
