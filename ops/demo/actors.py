"""Who records each command of the demo year: fictitious staff ids by role, never a person.

The same command always gets the same actor, so the same seed writes the same log.
"""

from __future__ import annotations

from uuid import UUID

from hub import commands as c
from hub.application import HubApplication
from hub.errors import DomainError
from hub.identity import Actor, Role

CONTRACTOR = "hoboku-shakyo"
COORDINATION = (c.HoldMeeting, c.MoveToSupportMeeting, c.DecideSupport, c.AgreePlan)
SUPPORT = (c.RecordOutreachVisit, c.RecordSupportActivity, c.MatchParticipation)
COMMUNITY = (c.RegisterCooperatingBusiness, c.RegisterCommunityBase, c.HoldGathering)


def demo_actor(command: c.Command, app: HubApplication) -> Actor:
    if isinstance(command, c.ReportDiscovery):
        who = command.reporter_agency or command.reporter_group or command.reporter_kind
        return Actor(f"試験-reporter@{who}", Role.partner_reporter, ward=command.ward)
    if isinstance(command, c.ReceiveConsultation):
        window = app.network.agency(command.window_agency)
        ward = window.ward or command.ward
        return Actor(f"試験-officer@{window.id}", Role.ward_officer, ward=ward)
    if isinstance(command, COMMUNITY) or (
        isinstance(command, SUPPORT)
        and (getattr(command, "agency_id", None) or CONTRACTOR) == CONTRACTOR
    ):
        return Actor(f"試験-staff@{CONTRACTOR}", Role.contractor, agency_id=CONTRACTOR)
    ward = _ward(command, app)
    if isinstance(command, COORDINATION):
        return Actor(f"試験-chief@{ward}.coordinator", Role.coordinator, ward=ward)
    return Actor(f"試験-officer@{ward or 'city'}", Role.ward_officer, ward=ward)


def _ward(command: c.Command, app: HubApplication) -> str | None:
    ward = getattr(command, "ward", None)
    cases = getattr(command, "case_ids", None) or [getattr(command, "case_id", None)]
    if ward is None and isinstance(cases[0], UUID):
        try:
            ward = app.get_case(cases[0]).ward
        except DomainError:
            return None  # the command will be refused on its own terms
    return ward
