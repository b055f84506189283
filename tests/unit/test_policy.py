"""The role policy without any door: roles grant commands and reads, scopes narrow them."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from hub.errors import PermissionDeniedError
from hub.identity import Actor, Role
from hub.policy import READ_PHRASES, Read, authorize, authorize_command, outside_scope
from tests import factories as f

OFFICER = Actor("officer-試験", Role.ward_officer, ward="tobata")


class Wards:
    """A fake lookup: which ward each case is in."""

    def __init__(self, cases: dict[UUID, str]) -> None:
        self.cases = cases

    def ward_of_case(self, case_id: UUID) -> str | None:
        return self.cases.get(case_id)

    def ward_of_agency(self, agency_id: str) -> str | None:
        return agency_id.split(".")[0] if "." in agency_id else None


def test_a_ward_officer_acts_on_cases_of_their_ward_only() -> None:
    ours, theirs = uuid4(), uuid4()
    wards = Wards({ours: "tobata", theirs: "moji"})
    authorize_command(OFFICER, f.assessment(ours), wards)
    with pytest.raises(PermissionDeniedError, match="outside tobata") as refused:
        authorize_command(OFFICER, f.assessment(theirs), wards)
    assert "moji" not in str(refused.value)  # the refusal does not tell where the case is


def test_a_consultation_opening_a_case_is_placed_by_its_window() -> None:
    wards = Wards({})
    authorize_command(OFFICER, f.consultation(window_agency="tobata.houkatsu"), wards)
    with pytest.raises(PermissionDeniedError):
        authorize_command(OFFICER, f.consultation(window_agency="moji.houkatsu"), wards)


def test_a_meeting_touching_one_case_of_another_ward_is_refused() -> None:
    ours, theirs = uuid4(), uuid4()
    coordinator = Actor("coordinator-試験", Role.coordinator, ward="tobata")
    wards = Wards({ours: "tobata", theirs: "moji"})
    authorize_command(coordinator, f.meeting([ours], ward="tobata"), wards)
    with pytest.raises(PermissionDeniedError):
        authorize_command(coordinator, f.meeting([ours, theirs], ward="tobata"), wards)


def test_a_ward_role_without_a_ward_may_do_nothing_ward_scoped() -> None:
    unscoped = Actor("officer-試験", Role.ward_officer)
    with pytest.raises(PermissionDeniedError, match="without a ward"):
        authorize(unscoped, Read.case)


def test_an_agency_answers_only_in_its_own_name() -> None:
    agency = Actor("agency-試験", Role.member_agency, agency_id="tobata.houkatsu")
    case_id, referral_id = uuid4(), uuid4()
    wards = Wards({case_id: "tobata"})
    authorize_command(agency, f.answer(case_id, referral_id, "tobata.houkatsu", "received"), wards)
    with pytest.raises(PermissionDeniedError):
        authorize_command(agency, f.answer(case_id, referral_id, "moji.hogo", "received"), wards)
    authorize(agency, Read.inbox, agency_id="tobata.houkatsu")
    with pytest.raises(PermissionDeniedError):
        authorize(agency, Read.inbox, agency_id="moji.hogo")


def test_auditors_and_analysts_give_no_commands() -> None:
    for role in (Role.auditor, Role.analyst):
        with pytest.raises(PermissionDeniedError):
            authorize_command(Actor("x-試験", role), f.discovery(), Wards({}))


def test_an_analyst_reads_indicators_and_nothing_personal() -> None:
    analyst = Actor("analyst-試験", Role.analyst)
    authorize(analyst, Read.indicators)
    for read in (Read.person, Read.case, Read.inbox, Read.audit):
        with pytest.raises(PermissionDeniedError):
            authorize(analyst, read)


def test_the_contractor_reads_the_partners_it_chooses_from_and_no_case() -> None:
    """A match or a gathering names a business or base: the contractor reads their list
    (organisations only), as the administrator does; a reporter or an agency does not."""
    contractor = Actor("contractor-試験", Role.contractor, agency_id="hoboku-shakyo")
    authorize(contractor, Read.network)
    for read in (Read.case, Read.person, Read.inbox, Read.indicators):
        with pytest.raises(PermissionDeniedError):
            authorize(contractor, read)
    for actor in (
        Actor("paper-試験", Role.partner_reporter),
        Actor("agency-試験", Role.member_agency, agency_id="tobata.houkatsu"),
    ):
        with pytest.raises(PermissionDeniedError, match="may not read the cooperating"):
            authorize(actor, Read.network)


def test_a_refused_read_is_said_in_words() -> None:
    # It said "may not case outside tobata" and "may not coordination" (the enum's values).
    officer = Actor("試験-officer", Role.ward_officer, ward="tobata")
    with pytest.raises(PermissionDeniedError) as outside:
        authorize(officer, Read.case, ward="moji")
    assert str(outside.value) == "ward_officer of tobata may not read cases outside tobata"
    agency = Actor("試験-agency", Role.member_agency, agency_id="moji.houkatsu")
    with pytest.raises(PermissionDeniedError) as refused:
        authorize(agency, Read.coordination)
    assert "may not read the referrals awaiting answers and the meetings" in str(refused.value)
    assert set(READ_PHRASES) == set(Read)
    # The use cases refuse a missing case with outside_scope: the same words, no oracle.
    assert str(outside_scope(officer, Read.case)) == str(outside.value)


def test_a_partner_reports_in_its_own_name_not_as_an_agency() -> None:
    """A report credited to a member agency counted the agency as having found someone it
    never saw; the ward's officer records what an agency reports."""
    partner = Actor("partner-試験", Role.partner_reporter)
    wards = Wards({})
    authorize_command(partner, f.discovery(), wards)
    for credited in (
        f.discovery(reporter_kind="agency", reporter_group=None),
        f.discovery(reporter_agency="tobata.houkatsu"),
    ):
        with pytest.raises(PermissionDeniedError, match="in its own name"):
            authorize_command(partner, credited, wards)
    authorize_command(
        OFFICER, f.discovery(reporter_kind="agency", reporter_agency="tobata.houkatsu"), wards
    )
