"""The network as of a position of the log: a fold of the network events, and their diff.

``Directory.apply`` folds one network event (anything else is ignored), so every reader of
the log (the application, governance, the audit) answers "which agencies does scope X
cover?" and "who is the ward's coordinator?" with the network recorded up to the event it
is looking at, never with today's file. ``changes`` turns a wanted network into exactly the
events that differ from the directory, or refuses with a named error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from hub import events as ev
from hub.errors import ReservedAgencyIdError, RetiredAgencyError, UnsupportedNetworkChangeError
from hub.reference import (
    Agency,
    Network,
    PartnerGroup,
    Ward,
    agency_id_conflict,
    load_network,
)

_NETWORK_TYPES = frozenset(ev.NETWORK_EVENTS)


@dataclass
class Directory:
    """The network folded from its events; ``network`` is the snapshot as of the last one."""

    source: str = ""
    partner_companies_total: int = 0
    council_established: str = ""
    established_at: datetime | None = None
    changed_at: datetime | None = None
    wards: dict[str, Ward] = field(default_factory=dict)
    partner_groups: dict[str, PartnerGroup] = field(default_factory=dict)
    agencies: dict[str, Agency] = field(default_factory=dict)  # in order of registration
    retired: dict[str, Agency] = field(default_factory=dict)
    # The network of a log written before the network was on it, until its import.
    before_import: Network | None = None
    _snapshot: Network | None = None
    revision: int = 0  # one more for every network event folded (see ``apply``)

    @staticmethod
    def is_network_event(payload: ev.Event) -> bool:
        return type(payload) in _NETWORK_TYPES

    def apply(self, payload: ev.Event) -> bool:
        """Folds ``payload`` if it is a network event; True when it was one."""
        if type(payload) not in _NETWORK_TYPES:
            return False
        self._snapshot = None
        self.revision += 1
        self.changed_at = payload.occurred_at
        match payload:
            case ev.NetworkEstablished() | ev.NetworkDescriptionRevised():
                self.source = payload.source
                self.partner_companies_total = payload.partner_companies_total
                self.council_established = payload.council_established
                if isinstance(payload, ev.NetworkEstablished):
                    self.established_at = payload.occurred_at
            case ev.WardRegistered():
                self.wards[payload.code] = Ward(code=payload.code, name=payload.name)
            case ev.PartnerGroupAdded() | ev.PartnerGroupRevised():
                self.partner_groups[payload.code] = PartnerGroup(
                    code=payload.code, name=payload.name, examples=tuple(payload.examples)
                )
            case ev.AgencyRegistered():
                self.agencies[payload.agency_id] = Agency(
                    id=payload.agency_id,
                    name=payload.name,
                    kind=payload.kind,  # type: ignore[arg-type]  # validated when applied
                    ward=payload.ward,
                    groups=tuple(payload.groups),
                    fields=tuple(payload.fields),
                )
            case ev.CouncilMemberJoined():
                self.agencies[payload.agency_id] = Agency(
                    id=payload.agency_id,
                    name=payload.name,
                    kind="council_member",
                    ward=None,
                    groups=tuple(payload.groups),
                    fields=tuple(payload.fields),
                )
            case ev.AgencyRenamed():
                agency = self.agencies.get(payload.agency_id)
                if agency is not None:
                    self.agencies[agency.id] = agency.model_copy(update={"name": payload.name})
            case ev.AgencyRetired() | ev.CouncilMemberLeft():
                agency = self.agencies.pop(payload.agency_id, None)
                if agency is not None:
                    self.retired[agency.id] = agency
        return True

    @property
    def network(self) -> Network:
        """The network in force after the last folded event (not revalidated: the events
        were validated when they were recorded, and a half-imported directory is still
        answerable)."""
        if self.established_at is None and self.before_import is not None:
            return self.before_import
        if self._snapshot is None:
            self._snapshot = Network.model_construct(
                source=self.source,
                wards=tuple(self.wards.values()),
                agencies=tuple(self.agencies.values()),
                partner_groups=tuple(self.partner_groups.values()),
                partner_companies_total=self.partner_companies_total,
                council_established=self.council_established,
                in_force_from=self.established_at,
            )
        return self._snapshot

    def settled(self) -> Directory:
        """A copy that events folded into this directory later leave as it is, its
        snapshot made: for readers on other threads while this one is folded on."""
        copied = replace(
            self,
            wards=dict(self.wards),
            partner_groups=dict(self.partner_groups),
            agencies=dict(self.agencies),
            retired=dict(self.retired),
        )
        copied.network  # noqa: B018 - made now, never later while another thread folds
        return copied

    def agency_ever(self, agency_id: str) -> Agency:
        """The agency, in the network now or once (its past records stay readable)."""
        if agency_id not in self.agencies and agency_id in self.retired:
            return self.retired[agency_id]
        return self.network.agency(agency_id)

    def agency(self, agency_id: str) -> Agency:
        """The agency in force, naming a retirement when it left the network."""
        if agency_id in self.retired and agency_id not in self.agencies:
            raise RetiredAgencyError(f"agency {agency_id!r} has left the network")
        return self.network.agency(agency_id)


def replaying() -> Directory:
    """The directory a reader of the log starts from: for a log written before the network
    was on it (no import at its start), the shipped network stands in until the import."""
    return Directory(before_import=load_network())


def fold(payloads: list[ev.Event] | tuple[ev.Event, ...]) -> Directory:
    directory = Directory()
    for payload in payloads:
        directory.apply(payload)
    return directory


_Description = TypeVar("_Description", ev.NetworkEstablished, ev.NetworkDescriptionRevised)


def _description(kind: type[_Description], target: Network, at: datetime) -> _Description:
    """The network's description as established or as revised: the same fields."""
    return kind(
        occurred_at=at,
        source=target.source,
        partner_companies_total=target.partner_companies_total,
        council_established=target.council_established,
    )


def changes(directory: Directory, target: Network, at: datetime) -> list[ev.Event]:
    """The events that turn ``directory`` into ``target``, in a fixed order, or a refusal.

    Empty when nothing differs. The order of agencies or groups in the file is not a change.
    Wards, an agency's kind, ward, groups and field tags, and a group's removal cannot change
    by an event: they are refused with UnsupportedNetworkChangeError naming what differs.
    """
    found: list[ev.Event] = []
    if not directory.wards:
        found.append(_description(ev.NetworkEstablished, target, at))
        found += [ev.WardRegistered(occurred_at=at, code=w.code, name=w.name) for w in target.wards]
    else:
        _same_wards(directory, target)
        if (
            directory.source,
            directory.partner_companies_total,
            directory.council_established,
        ) != (target.source, target.partner_companies_total, target.council_established):
            found.append(_description(ev.NetworkDescriptionRevised, target, at))
    found += _group_changes(directory, target, at)
    found += _agency_changes(directory, target, at)
    return found


def _same_wards(directory: Directory, target: Network) -> None:
    now = {w.code: w.name for w in directory.wards.values()}
    wanted = {w.code: w.name for w in target.wards}
    if now != wanted:
        differ = sorted(set(now.items()) ^ set(wanted.items()))
        raise UnsupportedNetworkChangeError(
            f"the wards cannot change (differ: {', '.join(f'{c}={n}' for c, n in differ)})"
        )


def _group_changes(directory: Directory, target: Network, at: datetime) -> list[ev.Event]:
    wanted = {g.code for g in target.partner_groups}
    removed = sorted(set(directory.partner_groups) - wanted)
    if removed:
        raise UnsupportedNetworkChangeError(
            f"partner groups cannot be removed (reports name them): {', '.join(removed)}"
        )
    found: list[ev.Event] = []
    for group in target.partner_groups:
        known = directory.partner_groups.get(group.code)
        kind = ev.PartnerGroupAdded if known is None else ev.PartnerGroupRevised
        if known != group:
            found.append(
                kind(
                    occurred_at=at,
                    code=group.code,
                    name=group.name,
                    examples=list(group.examples),
                )
            )
    return found


def _agency_changes(directory: Directory, target: Network, at: datetime) -> list[ev.Event]:
    wanted = {a.id: a for a in target.agencies}
    found: list[ev.Event] = []
    for agency_id, agency in directory.agencies.items():
        if agency_id not in wanted:
            leaves = agency.kind == "council_member"
            found.append(
                ev.CouncilMemberLeft(occurred_at=at, agency_id=agency_id)
                if leaves
                else ev.AgencyRetired(occurred_at=at, agency_id=agency_id)
            )
    for agency in target.agencies:
        known = directory.agencies.get(agency.id)
        if known is None:
            if agency.id in directory.retired:
                raise UnsupportedNetworkChangeError(
                    f"agency id {agency.id!r} has left the network and cannot be reused; "
                    "register the organisation under a new id"
                )
            # Also against retired ids: their users, groups and ACLs stay on the broker.
            problem = agency_id_conflict(agency.id, [*wanted, *directory.retired])
            if problem:
                raise ReservedAgencyIdError(problem)
            found.append(_joined(agency, at))
            continue
        differ = [
            name
            for name in ("kind", "ward", "groups", "fields")
            if getattr(known, name) != getattr(agency, name)
        ]
        if differ:
            raise UnsupportedNetworkChangeError(
                f"agency {agency.id}: its {', '.join(differ)} cannot change in place "
                "(consents and meetings name it); retire it and register a new id"
            )
        if known.name != agency.name:
            found.append(ev.AgencyRenamed(occurred_at=at, agency_id=agency.id, name=agency.name))
    return found


def _joined(agency: Agency, at: datetime) -> ev.Event:
    if agency.kind == "council_member":
        return ev.CouncilMemberJoined(
            occurred_at=at,
            agency_id=agency.id,
            name=agency.name,
            groups=list(agency.groups),
            fields=list(agency.fields),
        )
    return ev.AgencyRegistered(
        occurred_at=at,
        agency_id=agency.id,
        name=agency.name,
        kind=agency.kind,
        ward=agency.ward,
        groups=list(agency.groups),
        fields=list(agency.fields),
    )
