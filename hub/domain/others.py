"""The smaller aggregates: discoveries, meetings, community bases, businesses, receipts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from hub import events as ev
from hub import vocabulary as v
from hub.errors import (
    CommunityBaseClosedError,
    CooperatingBusinessWithdrawnError,
    DiscoveryErasedError,
    DiscoveryOfACaseError,
    IllegalTransitionError,
    WardMismatchError,
)


class Discovery(Aggregate):
    """見つける: a report of someone who may be in trouble, possibly before any case exists."""

    class DiscoveryReported(Aggregate.Created):
        """v2 added ``channel`` (how the report reached the city) with a default."""

        payload: ev.DiscoveryReported
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # v1 payloads were stored without a channel; the transcoder fills pydantic's
            # default, and the upcast states it explicitly for the v1 → v2 step.
            payload = state["payload"]
            state["payload"] = payload.model_copy(update={"channel": "unknown"})

    @classmethod
    def report(
        cls,
        occurred_at: datetime,
        *,
        discovery_id: UUID,
        reporter_kind: v.ReporterKind,
        reporter_group: str | None,
        reporter_agency: str | None,
        ward: str,
        signs: Sequence[v.Sign],
        urgency: v.Urgency,
        channel: str,
        note: str | None,
        person: ev.PersonDetails | None,
    ) -> Discovery:
        return cls(
            payload=ev.DiscoveryReported(
                occurred_at=occurred_at,
                discovery_id=discovery_id,
                reporter_kind=reporter_kind,
                reporter_group=reporter_group,
                reporter_agency=reporter_agency,
                ward=ward,
                signs=list(signs),
                urgency=urgency,
                channel=channel,
                note=note,
                person=person,
            )
        )

    @staticmethod
    def create_id(payload: ev.DiscoveryReported) -> UUID:
        return payload.discovery_id

    @event(DiscoveryReported)
    def __init__(self, payload: ev.DiscoveryReported) -> None:
        self.ward = payload.ward
        self.urgency = payload.urgency
        self.case_id: UUID | None = None
        self.erased = False
        # Held in memory only (rebuilt from the log) so the case opened from it takes it; as
        # the event's own type, as a load from the store gives it (a command's is stricter).
        self.person = ev.plain_details(payload.person)

    def link_to_case(
        self, occurred_at: datetime, case_id: UUID, *, ward: str
    ) -> ev.PersonDetails | None:
        """Links this discovery to the case opened from it, a case of the same ward; the
        person the report names, whom the case holds from now on (this aggregate no longer
        does)."""
        if self.erased:
            raise DiscoveryErasedError(
                f"discovery {self.id} was erased: no case can be opened from it"
            )
        if ward != self.ward:
            raise WardMismatchError(
                f"discovery {self.id} was reported in {self.ward}: it cannot open or join "
                f"a case of {ward}"
            )
        if self.case_id is not None:
            raise IllegalTransitionError(
                f"discovery {self.id} is already linked to case {self.case_id}"
            )
        person = self.person
        self._linked_to_case(
            ev.DiscoveryLinkedToCase(occurred_at=occurred_at, discovery_id=self.id, case_id=case_id)
        )
        return person

    @event("DiscoveryLinkedToCase")
    def _linked_to_case(self, payload: ev.DiscoveryLinkedToCase) -> None:
        self.case_id = payload.case_id
        # The case holds the person now: no plain copy left here (cached in a long-running
        # process) for the case's erasure to leave behind.
        self.person = None

    def erase(self, occurred_at: datetime, *, decided_by: str, reason: str) -> str:
        """Erasure of a discovery no case was opened from or joined; the data-key subject to
        destroy once the event is recorded (again: nothing written, the same subject)."""
        if self.case_id is not None:
            raise DiscoveryOfACaseError(
                f"DiscoveryOfACaseError: discovery {self.id} is linked to case {self.case_id}: "
                "erase the case "
                f"(hub privacy erase --case {self.case_id}), which erases the discovery too"
            )
        if not self.erased:
            self._erased(
                ev.DiscoveryErased(
                    occurred_at=occurred_at,
                    discovery_id=self.id,
                    ward=self.ward,
                    decided_by=decided_by,
                    reason=reason,
                )
            )
        return str(self.id)

    @event("DiscoveryErased")
    def _erased(self, payload: ev.DiscoveryErased) -> None:
        self.erased = True
        self.person = None


class Meeting(Aggregate):
    """A つながりづくり会議 (connection) or 重層的支援会議 (support) and the cases it took up."""

    @classmethod
    def hold(
        cls,
        occurred_at: datetime,
        *,
        meeting_id: UUID,
        kind: v.MeetingKind,
        ward: str | None,
        members: Sequence[str],
        case_ids: Sequence[UUID],
    ) -> Meeting:
        return cls(
            payload=ev.MeetingHeld(
                occurred_at=occurred_at,
                meeting_id=meeting_id,
                kind=kind,
                ward=ward,
                members=list(members),
                case_ids=list(case_ids),
            )
        )

    @staticmethod
    def create_id(payload: ev.MeetingHeld) -> UUID:
        return payload.meeting_id

    @event("MeetingHeld")
    def __init__(self, payload: ev.MeetingHeld) -> None:
        self.kind = payload.kind
        self.members = tuple(payload.members)
        self.case_ids = tuple(payload.case_ids)


class CommunityBase(Aggregate):
    """地域づくり: a place where people of every generation meet."""

    @classmethod
    def register(
        cls,
        occurred_at: datetime,
        *,
        base_id: UUID,
        name: str,
        kind: v.BaseKind,
        ward: str,
    ) -> CommunityBase:
        return cls(
            payload=ev.CommunityBaseRegistered(
                occurred_at=occurred_at,
                base_id=base_id,
                name=name,
                kind=kind,
                ward=ward,
            )
        )

    @staticmethod
    def create_id(payload: ev.CommunityBaseRegistered) -> UUID:
        return payload.base_id

    @event("CommunityBaseRegistered")
    def __init__(self, payload: ev.CommunityBaseRegistered) -> None:
        self.ward = payload.ward
        self.gatherings: set[UUID] = set()
        self.registered_at = payload.occurred_at
        self.closed_at: datetime | None = None
        self.last_gathering_at: datetime | None = None

    def check_open_at(self, occurred_at: datetime) -> None:
        """Refuse naming the base before it was registered or at or after the instant it
        closed (a match, a gathering)."""
        if occurred_at < self.registered_at:
            raise IllegalTransitionError(
                f"community base {self.id} was not registered yet on {occurred_at.isoformat()}"
            )
        if self.closed_at is not None and occurred_at >= self.closed_at:
            raise CommunityBaseClosedError(
                f"community base {self.id} closed on {self.closed_at.isoformat()}"
            )

    def close(self, occurred_at: datetime, *, last_named: datetime | None = None) -> None:
        """``last_named``: the latest participation match naming the base (the cases'),
        which a closure may not precede, as it may not precede a gathering held there."""
        if self.closed_at is not None:
            raise CommunityBaseClosedError(
                f"community base {self.id} closed already on {self.closed_at.isoformat()}"
            )
        if occurred_at < self.registered_at:
            raise IllegalTransitionError(
                f"community base {self.id} cannot close before it was registered"
            )
        named = max((t for t in (self.last_gathering_at, last_named) if t), default=None)
        if named is not None and occurred_at <= named:
            raise IllegalTransitionError(
                f"community base {self.id} cannot close before a gathering or match named it "
                f"on {named.isoformat()}"
            )
        self._closed(
            ev.CommunityBaseClosed(occurred_at=occurred_at, base_id=self.id, ward=self.ward)
        )

    @event("CommunityBaseClosed")
    def _closed(self, payload: ev.CommunityBaseClosed) -> None:
        self.closed_at = payload.occurred_at

    def hold_gathering(
        self,
        occurred_at: datetime,
        *,
        gathering_id: UUID,
        participants: int,
        bodies: Sequence[str],
    ) -> None:
        if gathering_id in self.gatherings:
            raise IllegalTransitionError(f"gathering {gathering_id} is already recorded")
        self.check_open_at(occurred_at)
        self._gathering_held(
            ev.GatheringHeld(
                occurred_at=occurred_at,
                base_id=self.id,
                gathering_id=gathering_id,
                participants=participants,
                bodies=list(bodies),
            )
        )

    @event("GatheringHeld")
    def _gathering_held(self, payload: ev.GatheringHeld) -> None:
        self.gatherings.add(payload.gathering_id)
        if self.last_gathering_at is None or payload.occurred_at > self.last_gathering_at:
            self.last_gathering_at = payload.occurred_at


class CooperatingBusiness(Aggregate):
    """参加支援: a business that takes people in (協力事業者)."""

    @classmethod
    def register(
        cls,
        occurred_at: datetime,
        *,
        business_id: UUID,
        name: str,
        kind: str,
        ward: str | None,
    ) -> CooperatingBusiness:
        return cls(
            payload=ev.CooperatingBusinessRegistered(
                occurred_at=occurred_at,
                business_id=business_id,
                name=name,
                kind=kind,
                ward=ward,
            )
        )

    @staticmethod
    def create_id(payload: ev.CooperatingBusinessRegistered) -> UUID:
        return payload.business_id

    @event("CooperatingBusinessRegistered")
    def __init__(self, payload: ev.CooperatingBusinessRegistered) -> None:
        self.ward = payload.ward
        self.registered_at = payload.occurred_at
        self.withdrawn_at: datetime | None = None

    def check_in_network_at(self, occurred_at: datetime) -> None:
        """Refuse naming the business before it was registered or at or after the instant it
        left the network (a match)."""
        if occurred_at < self.registered_at:
            raise IllegalTransitionError(
                f"cooperating business {self.id} was not registered yet on "
                f"{occurred_at.isoformat()}"
            )
        if self.withdrawn_at is not None and occurred_at >= self.withdrawn_at:
            raise CooperatingBusinessWithdrawnError(
                f"cooperating business {self.id} left the network on "
                f"{self.withdrawn_at.isoformat()}"
            )

    def withdraw(self, occurred_at: datetime, *, last_named: datetime | None = None) -> None:
        """``last_named``: the latest participation match naming the business (the cases'),
        which a withdrawal may not precede."""
        if self.withdrawn_at is not None:
            raise CooperatingBusinessWithdrawnError(
                f"cooperating business {self.id} left the network already on "
                f"{self.withdrawn_at.isoformat()}"
            )
        if occurred_at < self.registered_at:
            raise IllegalTransitionError(
                f"cooperating business {self.id} cannot leave before it was registered"
            )
        if last_named is not None and occurred_at <= last_named:
            raise IllegalTransitionError(
                f"cooperating business {self.id} cannot leave before a match named it on "
                f"{last_named.isoformat()}"
            )
        self._withdrawn(
            ev.CooperatingBusinessWithdrawn(
                occurred_at=occurred_at, business_id=self.id, ward=self.ward
            )
        )

    @event("CooperatingBusinessWithdrawn")
    def _withdrawn(self, payload: ev.CooperatingBusinessWithdrawn) -> None:
        self.withdrawn_at = payload.occurred_at


class CommandReceipt(Aggregate):
    """Saved atomically with a command's effects: a second save of the same id conflicts."""

    @staticmethod
    def create_id(payload: ev.CommandAccepted) -> UUID:
        return receipt_id(payload.command_id)

    @event("CommandAccepted")
    def __init__(self, payload: ev.CommandAccepted) -> None:
        self.command_type = payload.command_type
        self.command_digest = payload.command_digest
        self.occurred_at = payload.occurred_at

    def repeats(self, same: Callable[[str], bool]) -> bool:
        """Whether a command is the accepted one again, ``same`` comparing its digest with
        the one kept (receipts written before digests were kept cannot tell, and take any
        command with their id)."""
        return self.command_digest is None or same(self.command_digest)


def receipt_id(command_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"/receipts/{command_id}")


class Target(Aggregate):
    """R8目標: the city's target for one indicator and fiscal year; each revision an event."""

    @staticmethod
    def id_for(fiscal_year: int, indicator: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/targets/{fiscal_year}/{indicator}")

    @staticmethod
    def create_id(payload: ev.TargetSet) -> UUID:
        return payload.target_id

    @classmethod
    def set(
        cls,
        occurred_at: datetime,
        *,
        fiscal_year: int,
        indicator: str,
        value: float,
        note: str | None,
    ) -> Target:
        """The first target for ``indicator`` in ``fiscal_year``."""
        target_id = cls.id_for(fiscal_year, indicator)
        return cls(payload=_target_set(occurred_at, target_id, fiscal_year, indicator, value, note))

    # The library names its event classes per aggregate: the first setting and a revision
    # are two classes, both carrying a TargetSet payload (the event type in every record).
    @event("TargetFirstSet")
    def __init__(self, payload: ev.TargetSet) -> None:
        self.fiscal_year = payload.fiscal_year
        self.indicator = payload.indicator
        self.value = payload.value

    def revise(self, occurred_at: datetime, *, value: float, note: str | None) -> None:
        payload = _target_set(occurred_at, self.id, self.fiscal_year, self.indicator, value, note)
        self._revised(payload=payload)

    @event("TargetSet")
    def _revised(self, payload: ev.TargetSet) -> None:
        self.value = payload.value


def _target_set(
    occurred_at: datetime,
    target_id: UUID,
    fiscal_year: int,
    indicator: str,
    value: float,
    note: str | None,
) -> ev.TargetSet:
    """The one payload of a setting and of a revision alike."""
    return ev.TargetSet(
        occurred_at=occurred_at,
        target_id=target_id,
        fiscal_year=fiscal_year,
        indicator=indicator,
        value=value,
        note=note,
    )
