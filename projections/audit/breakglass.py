"""The break-glass review list (DOMAIN.md rule 6): every disclosure of sensitive data on an
emergency declaration, per declaration, open until both the coordinator and the auditor have
given a verdict after the last such disclosure (a disclosure after a verdict reopens it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.vocabulary import SENSITIVE_CATEGORIES
from projections.audit.history import EmergencyRecord, History, ReviewRecord
from projections.audit.verify import Disclosure

REVIEWERS = ("coordinator", "auditor")


@dataclass(frozen=True)
class ReviewItem:
    emergency: EmergencyRecord
    disclosures: tuple[Disclosure, ...]  # the sensitive ones, in log order
    verdicts: dict[str, ReviewRecord]  # reviewer → latest verdict

    @property
    def closed(self) -> bool:
        last = self.disclosures[-1].position if self.disclosures else 0
        return all(r in self.verdicts and self.verdicts[r].position > last for r in REVIEWERS)

    @property
    def missing(self) -> tuple[str, ...]:
        last = self.disclosures[-1].position if self.disclosures else 0
        return tuple(
            r for r in REVIEWERS if r not in self.verdicts or self.verdicts[r].position < last
        )

    def line(self) -> str:
        e = self.emergency
        verdicts = ", ".join(
            f"{r}: {self.verdicts[r].verdict}" for r in REVIEWERS if r in self.verdicts
        )
        state = "closed" if self.closed else f"OPEN (awaiting {', '.join(self.missing)})"
        return (
            f"declaration {e.declaration_id} (case {e.case_id}, "
            f"{', '.join(e.sensitive_categories)} to {', '.join(e.agencies)}): "
            f"{len(self.disclosures)} disclosure(s); {verdicts or 'no verdict'}; {state}"
        )


def review_list(history: History, disclosures: Sequence[Disclosure]) -> list[ReviewItem]:
    """One item per declaration that released (or may release) sensitive data."""
    sensitive: dict[str, list[Disclosure]] = {}
    for d in disclosures:
        if d.basis == "vital_interest" and set(d.categories) & SENSITIVE_CATEGORIES:
            sensitive.setdefault(d.basis_ref or "", []).append(d)
    items = []
    for e in sorted(history.emergencies.values(), key=lambda e: e.position):
        if not e.sensitive_categories and e.declaration_id not in sensitive:
            continue
        latest: dict[str, ReviewRecord] = {}
        for review in sorted(e.reviews, key=lambda r: r.position):
            latest[review.reviewer] = review
        found = sorted(sensitive.get(e.declaration_id, []), key=lambda d: d.position)
        items.append(ReviewItem(e, tuple(found), latest))
    return items
