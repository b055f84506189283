"""Erasure confirmations (docs/PRIVACY.md): for each erased case, the agencies the erasure
notice went to and which of them have confirmed clearing the person from their inbox.

A fold of the log, as the relay decides recipients (producers/governance.py): an agency is
told of a case once it is referred it, is a member of a meeting that took the case up, or is
named by an emergency declaration on it; the ward's coordinator is told too when the case
was opened from a discovery (it received the discovery's person). An agency no longer in the
network at the erasure was sent nothing and is not awaited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from hub import events as ev
from hub.reference.directory import Directory, replaying
from projections.audit.history import Entry


@dataclass
class Erasure:
    case_id: str
    erased_at: datetime
    position: int
    notified: tuple[str, ...]
    confirmed: dict[str, datetime] = field(default_factory=dict)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(a for a in self.notified if a not in self.confirmed)


@dataclass
class _Case:
    ward: str | None = None
    involved: dict[str, None] = field(default_factory=dict)


@dataclass
class ErasureView:
    network: Directory = field(default_factory=replaying)
    cases: dict[str, _Case] = field(default_factory=dict)
    erasures: dict[str, Erasure] = field(default_factory=dict)

    def apply(self, entry: Entry) -> None:
        p = entry.payload
        if self.network.apply(p):
            return
        case_id = getattr(p, "case_id", None)
        if case_id is None:
            return
        case = self.cases.setdefault(str(case_id), _Case())
        if isinstance(p, ev.CaseOpened):
            case.ward = p.ward
        elif isinstance(p, ev.ReferralMade):
            case.involved.setdefault(p.agency_id)
        elif isinstance(p, ev.TakenUpByMeeting):
            case.involved.update(dict.fromkeys(p.members))
        elif isinstance(p, ev.EmergencyDeclared):
            case.involved.update(dict.fromkeys(p.agencies))
        elif isinstance(p, ev.PersonErased) and str(case_id) not in self.erasures:
            self.erasures[str(case_id)] = self._erasure(case, p, entry.position)
        elif isinstance(p, ev.ErasureConfirmed):
            erasure = self.erasures.get(str(case_id))
            if erasure is not None:
                erasure.confirmed.setdefault(p.agency_id, p.occurred_at)

    def _erasure(self, case: _Case, p: ev.PersonErased, position: int) -> Erasure:
        directory = self.network.network
        notified = set(case.involved)
        if case.ward and len(set(p.subjects)) > 1:
            notified.add(directory.coordinator_of(case.ward).id)
        in_network = directory.agency_index
        return Erasure(
            str(p.case_id),
            p.occurred_at,
            position,
            tuple(sorted(a for a in notified if a in in_network)),
        )

    def listed(self, *, pending_only: bool = False) -> list[Erasure]:
        """The erasures in log order (only those some agency has not confirmed)."""
        found = sorted(self.erasures.values(), key=lambda e: e.position)
        return [e for e in found if e.pending] if pending_only else found


def erasure_view(entries: Iterable[Entry]) -> ErasureView:
    view = ErasureView()
    for entry in entries:
        view.apply(entry)
    return view
