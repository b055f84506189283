"""Attacker tests of scope rules the policy and the domain share: whose agency a visit is
recorded for (the network on the log, never a default in the command), and which ward's
discovery a case may be opened from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.errors import (
    NoOutreachContractorError,
    NotTheWardCoordinatorError,
    PermissionDeniedError,
    WardMismatchError,
)
from hub.identity import Actor, Role
from hub.policy import authorize_command
from hub.reference import Agency, load_network
from hub.settings import Settings
from ops.usecases import HubService
from tests import factories as f

OUTREACH = "hoboku-shakyo"
OURS = Actor("outreach-試験", Role.contractor, agency_id=OUTREACH)
OTHER = Actor("other-contractor-試験", Role.contractor, agency_id="tobata.houkatsu")
OFFICER = Actor("officer-試験", Role.ward_officer, ward="tobata")


class Lookup:
    """A fake of the log's answers: cases' and discoveries' wards, the outreach contractor."""

    def __init__(
        self,
        cases: dict[UUID, str] | None = None,
        discoveries: dict[UUID, str] | None = None,
        outreach: str | None = OUTREACH,
    ) -> None:
        self.cases = cases or {}
        self.discoveries = discoveries or {}
        self.outreach = outreach

    def ward_of_case(self, case_id: UUID) -> str | None:
        return self.cases.get(case_id)

    def ward_of_agency(self, agency_id: str) -> str | None:
        return agency_id.split(".")[0] if "." in agency_id else None

    def ward_of_discovery(self, discovery_id: UUID) -> str | None:
        return self.discoveries.get(discovery_id)

    def contractor_for(self, field: str) -> str | None:
        return self.outreach if field in ("outreach", "participation") else None


def test_a_contractor_of_another_agency_cannot_record_a_visit_named_or_not() -> None:
    case_id = uuid4()
    lookup = Lookup({case_id: "tobata"})
    authorize_command(OURS, f.visit(case_id), lookup)
    authorize_command(OURS, f.visit(case_id, agency_id=OUTREACH), lookup)
    for command in (f.visit(case_id), f.visit(case_id, agency_id=OUTREACH)):
        with pytest.raises(PermissionDeniedError, match=OUTREACH):
            authorize_command(OTHER, command, lookup)


def test_an_omitted_agency_is_no_bypass_when_the_network_names_no_outreach_contractor() -> None:
    case_id = uuid4()
    with pytest.raises(PermissionDeniedError, match="names no agency"):
        authorize_command(OURS, f.visit(case_id), Lookup({case_id: "tobata"}, outreach=None))


def _match(case_id: UUID) -> c.MatchParticipation:
    return c.MatchParticipation(
        command_id=uuid4(), occurred_at=f.T0, case_id=case_id, place_kind="community_meal"
    )


def test_a_participation_match_is_the_participation_contractors_own_work() -> None:
    case_id = uuid4()
    lookup = Lookup({case_id: "tobata"})
    authorize_command(OURS, _match(case_id), lookup)
    with pytest.raises(PermissionDeniedError, match=OUTREACH):
        authorize_command(OTHER, _match(case_id), lookup)
    with pytest.raises(PermissionDeniedError, match="names no agency"):
        authorize_command(OURS, _match(case_id), Lookup({case_id: "tobata"}, outreach=None))


def test_a_contractor_without_an_agency_may_do_nothing() -> None:
    unscoped = Actor("contractor-試験", Role.contractor)
    case_id = uuid4()
    lookup = Lookup({case_id: "tobata"})
    match = c.MatchParticipation(
        command_id=uuid4(), occurred_at=f.T0, case_id=case_id, place_kind="community_meal"
    )
    for command in (f.visit(case_id), match):
        with pytest.raises(PermissionDeniedError, match="without an agency"):
            authorize_command(unscoped, command, lookup)


def test_an_officer_may_not_link_another_wards_discovery() -> None:
    theirs = uuid4()
    lookup = Lookup(discoveries={theirs: "moji"})
    # Refused outside the officer's ward; the refusal does not say where the discovery is.
    with pytest.raises(PermissionDeniedError, match="outside tobata") as refused:
        authorize_command(OFFICER, f.open_case(ward="tobata", discovery_id=theirs), lookup)
    assert "moji" not in str(refused.value)
    with pytest.raises(PermissionDeniedError, match="outside tobata"):
        authorize_command(OFFICER, f.open_case(ward="kokurakita"), lookup)


def _service(app: HubApplication) -> HubService:
    views: dict[str, Any] = dict.fromkeys(HubService.VIEWS)
    return HubService(app, Settings(), projections=views, ledger=lambda: None)  # type: ignore[arg-type,return-value]


def test_through_the_use_cases_another_contractor_omitting_the_agency_is_refused() -> None:
    app = HubApplication()
    service = _service(app)
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id))
    before = app.recorder.max_notification_id()
    with pytest.raises(PermissionDeniedError):
        service.execute(OTHER, f.visit(case_id))
    assert app.recorder.max_notification_id() == before
    service.execute(OURS, f.visit(case_id))
    visits = [e for e in app.events.get(case_id) if type(e).__name__ == "OutreachVisitMade"]
    assert [v.payload.agency_id for v in visits] == [OUTREACH]  # type: ignore[attr-defined]


def test_an_omitted_visit_agency_is_the_outreach_contractor_as_of_the_log() -> None:
    """After the network replaces the contractor, an omitted agency names the new one."""
    app = HubApplication()
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id))
    app.execute(f.visit(case_id))
    shipped = load_network()
    successor = Agency(
        id="outreach-next",
        name="架空の伴走型支援共同体",
        kind="contractor",
        ward=None,
        groups=("contractor", "city_wide"),
        fields=("outreach", "participation"),
    )
    changed = shipped.model_copy(
        update={"agencies": (*(a for a in shipped.agencies if a.id != OUTREACH), successor)}
    )
    app.apply_network(changed, f.T0 + timedelta(days=1))
    app.execute(f.visit(case_id, occurred_at=f.T0 + timedelta(days=2)))
    visits = [e for e in app.events.get(case_id) if type(e).__name__ == "OutreachVisitMade"]
    assert [v.payload.agency_id for v in visits] == [OUTREACH, "outreach-next"]  # type: ignore[attr-defined]


def test_a_visit_without_an_agency_is_refused_by_name_when_no_contractor_is_in_force() -> None:
    network = load_network()
    without = network.model_copy(
        update={"agencies": tuple(a for a in network.agencies if a.id != OUTREACH)}
    )
    with pytest.raises(NoOutreachContractorError):
        without.outreach_contractor()


def test_a_case_opened_from_another_wards_discovery_is_refused_by_name() -> None:
    app = HubApplication()
    reported = f.discovery(ward="moji")
    app.execute(reported)
    before = app.recorder.max_notification_id()
    with pytest.raises(WardMismatchError, match="moji"):
        app.execute(f.open_case(ward="tobata", discovery_id=reported.discovery_id))
    assert app.recorder.max_notification_id() == before
    app.execute(f.open_case(ward="moji", discovery_id=reported.discovery_id))


def _referred(app: HubApplication, agency_id: str = "tobata.houkatsu") -> tuple[UUID, UUID]:
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="tobata"))
    referral = f.referral(case_id, agency_id=agency_id)
    app.execute(referral)
    return case_id, referral.referral_id


COORDINATOR = Actor("kakaricho-試験", Role.coordinator, ward="tobata")
AGENCY = Actor("agency-試験", Role.member_agency, agency_id="tobata.houkatsu")


def test_a_ward_officer_may_not_answer_a_referral_on_an_agencys_behalf() -> None:
    case_id, referral_id = uuid4(), uuid4()
    lookup = Lookup({case_id: "tobata"})
    for recorded_by in (None, "tobata.coordinator"):
        command = f.answer(
            case_id, referral_id, "tobata.houkatsu", "accepted", recorded_by=recorded_by
        )
        with pytest.raises(PermissionDeniedError, match="give AnswerReferral"):
            authorize_command(OFFICER, command, lookup)


def test_a_coordinator_records_an_answer_only_on_the_agencys_behalf_in_their_ward() -> None:
    ours, theirs, referral_id = uuid4(), uuid4(), uuid4()
    lookup = Lookup({ours: "tobata", theirs: "moji"})
    on_behalf = {"recorded_by": "tobata.coordinator"}
    authorize_command(
        COORDINATOR, f.answer(ours, referral_id, "tobata.houkatsu", "accepted", **on_behalf), lookup
    )
    with pytest.raises(PermissionDeniedError, match="on its behalf"):
        authorize_command(
            COORDINATOR, f.answer(ours, referral_id, "tobata.houkatsu", "accepted"), lookup
        )
    with pytest.raises(PermissionDeniedError, match="outside tobata"):
        authorize_command(
            COORDINATOR, f.answer(theirs, referral_id, "moji.hogo", "accepted", **on_behalf), lookup
        )


def test_an_agency_may_not_pass_its_answer_off_as_the_coordinators() -> None:
    case_id, referral_id = uuid4(), uuid4()
    lookup = Lookup({case_id: "tobata"})
    authorize_command(AGENCY, f.answer(case_id, referral_id, "tobata.houkatsu", "accepted"), lookup)
    with pytest.raises(PermissionDeniedError, match="own name"):
        authorize_command(
            AGENCY,
            f.answer(
                case_id,
                referral_id,
                "tobata.houkatsu",
                "accepted",
                recorded_by="tobata.coordinator",
            ),
            lookup,
        )


def test_an_answer_by_phone_names_the_agency_and_the_coordinator_who_recorded_it() -> None:
    app = HubApplication()
    service = _service(app)
    case_id, referral_id = _referred(app)
    before = app.recorder.max_notification_id()
    with pytest.raises(NotTheWardCoordinatorError):
        service.execute(
            COORDINATOR,
            f.answer(
                case_id, referral_id, "tobata.houkatsu", "accepted", recorded_by="moji.coordinator"
            ),
        )
    with pytest.raises(PermissionDeniedError):
        service.execute(OFFICER, f.answer(case_id, referral_id, "tobata.houkatsu", "accepted"))
    assert app.recorder.max_notification_id() == before
    service.execute(
        COORDINATOR,
        f.answer(
            case_id, referral_id, "tobata.houkatsu", "accepted", recorded_by="tobata.coordinator"
        ),
    )
    answered = [e for e in app.events.get(case_id) if type(e).__name__ == "ReferralAnswered"]
    payload = answered[-1].payload  # type: ignore[attr-defined]
    assert (payload.agency_id, payload.recorded_by) == ("tobata.houkatsu", "tobata.coordinator")
    assert (payload.actor.subject, payload.actor.role) == (COORDINATOR.subject, "coordinator")
