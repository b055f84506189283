"""The network directory: the reference data of the hub as an aggregate on the log.

One directory per store, under a fixed id. Its first events import the shipped
``network.json``; ``change_to`` records exactly what a wanted network changes. The state
is a ``Directory`` folded by the same code every other reader of the log uses.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from hub import events as ev
from hub.reference import Network
from hub.reference.directory import Directory, changes

NETWORK_ID = uuid5(NAMESPACE_URL, "/network")


class NetworkDirectory(Aggregate):
    @staticmethod
    def create_id(payload: ev.NetworkEstablished) -> UUID:
        return NETWORK_ID

    @classmethod
    def establish(cls, network: Network, at: datetime) -> NetworkDirectory:
        """A directory whose events describe ``network`` as in force from ``at``."""
        first, *rest = changes(Directory(), network, at)
        assert isinstance(first, ev.NetworkEstablished)
        directory = cls(payload=first)
        directory._record(rest)
        return directory

    @event("NetworkEstablished")
    def __init__(self, payload: ev.NetworkEstablished) -> None:
        self.directory = Directory()
        self.directory.apply(payload)

    def change_to(self, network: Network, at: datetime) -> list[ev.Event]:
        """Records the events that turn this directory into ``network`` (maybe none)."""
        found = changes(self.directory, network, at)
        self._record(found)
        return found

    def _record(self, payloads: list[ev.Event]) -> None:
        for payload in payloads:
            getattr(self, _TRIGGERS[type(payload)])(payload)

    # One decorated method per event type: the library names stored events after them.

    @event("NetworkDescriptionRevised")
    def _description_revised(self, payload: ev.NetworkDescriptionRevised) -> None:
        self.directory.apply(payload)

    @event("WardRegistered")
    def _ward_registered(self, payload: ev.WardRegistered) -> None:
        self.directory.apply(payload)

    @event("PartnerGroupAdded")
    def _partner_group_added(self, payload: ev.PartnerGroupAdded) -> None:
        self.directory.apply(payload)

    @event("PartnerGroupRevised")
    def _partner_group_revised(self, payload: ev.PartnerGroupRevised) -> None:
        self.directory.apply(payload)

    @event("AgencyRegistered")
    def _agency_registered(self, payload: ev.AgencyRegistered) -> None:
        self.directory.apply(payload)

    @event("AgencyRenamed")
    def _agency_renamed(self, payload: ev.AgencyRenamed) -> None:
        self.directory.apply(payload)

    @event("AgencyRetired")
    def _agency_retired(self, payload: ev.AgencyRetired) -> None:
        self.directory.apply(payload)

    @event("CouncilMemberJoined")
    def _council_member_joined(self, payload: ev.CouncilMemberJoined) -> None:
        self.directory.apply(payload)

    @event("CouncilMemberLeft")
    def _council_member_left(self, payload: ev.CouncilMemberLeft) -> None:
        self.directory.apply(payload)


_TRIGGERS: dict[type[ev.Event], str] = {
    ev.NetworkDescriptionRevised: "_description_revised",
    ev.WardRegistered: "_ward_registered",
    ev.PartnerGroupAdded: "_partner_group_added",
    ev.PartnerGroupRevised: "_partner_group_revised",
    ev.AgencyRegistered: "_agency_registered",
    ev.AgencyRenamed: "_agency_renamed",
    ev.AgencyRetired: "_agency_retired",
    ev.CouncilMemberJoined: "_council_member_joined",
    ev.CouncilMemberLeft: "_council_member_left",
}
