"""A read of a person's details names its basis in the access log (docs/AUDIT.md); a basis
the case does not hold at the time of the read (no consent in force, no つながりづくり会議,
no emergency, no statutory referral) is refused: nothing is shown, nothing recorded."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.errors import BasisNotInForceError
from hub.fiscal import now
from projections.audit.access import access_log
from tests import factories as f

WARD = "kokurakita"


def day(offset: float) -> object:
    return now() + timedelta(days=offset)


def read(app: HubApplication, case_id: UUID, basis: str) -> bool:
    """Whether the read was let through (and then recorded)."""
    before = len(access_log(app, case_id=str(case_id)))
    try:
        shown = app.read_person(case_id, None, basis, "consultation")
    except BasisNotInForceError:
        assert len(access_log(app, case_id=str(case_id))) == before  # nothing recorded
        return False
    assert shown is not None and len(access_log(app, case_id=str(case_id))) == before + 1
    return True


@pytest.fixture
def case() -> tuple[HubApplication, UUID]:
    app = HubApplication(env={})
    opened = f.open_case(ward=WARD, person=f.person(), occurred_at=day(-10))
    app.execute(opened)
    return app, opened.case_id


def test_the_staffs_own_duties_and_the_persons_request_need_nothing_of_the_case(
    case: tuple[HubApplication, UUID],
) -> None:
    app, case_id = case
    assert read(app, case_id, "official_duty") and read(app, case_id, "person_request")
    for basis in ("consent", "support_meeting", "vital_interest", "statute"):
        assert not read(app, case_id, basis), basis


def test_a_consent_is_a_basis_while_it_is_in_force(case: tuple[HubApplication, UUID]) -> None:
    app, case_id = case
    lapsed = f.consent(case_id, valid_from=day(-9), valid_until=day(-1), occurred_at=day(-9))
    app.execute(lapsed)
    assert not read(app, case_id, "consent")
    current = f.consent(case_id, valid_from=day(-1), valid_until=day(30), occurred_at=day(-1))
    app.execute(current)
    assert read(app, case_id, "consent")
    app.execute(f.withdrawal(case_id, current.consent_id, occurred_at=day(-0.5)))
    assert not read(app, case_id, "consent")


def test_a_connection_meeting_is_a_basis_until_the_case_moves(
    case: tuple[HubApplication, UUID],
) -> None:
    app, case_id = case
    app.execute(f.meeting([case_id], occurred_at=day(-5)))
    assert read(app, case_id, "support_meeting")
    app.execute(f.consent(case_id, valid_from=day(-4), valid_until=day(30), occurred_at=day(-4)))
    app.execute(f.build(c.MoveToSupportMeeting, case_id=case_id, occurred_at=day(-3)))
    assert not read(app, case_id, "support_meeting")


def test_an_emergency_is_a_basis_until_it_ends_or_expires(
    case: tuple[HubApplication, UUID],
) -> None:
    app, case_id = case
    expired = f.emergency(case_id, occurred_at=day(-5), expires_at=day(-4))
    app.execute(expired)
    assert not read(app, case_id, "vital_interest")
    declared = f.emergency(case_id, occurred_at=day(-1), expires_at=day(2))
    app.execute(declared)
    assert read(app, case_id, "vital_interest")


def test_a_statutory_referral_is_a_basis_until_it_ends(case: tuple[HubApplication, UUID]) -> None:
    app, case_id = case
    plain = f.referral(case_id, "kokurakita.hogo", occurred_at=day(-5))
    app.execute(plain)
    assert not read(app, case_id, "statute")  # a referral naming no statute
    statutory = f.referral(
        case_id, "kokurakita.kodomo", statute="児童虐待防止法第6条", occurred_at=day(-4)
    )
    app.execute(statutory)
    assert read(app, case_id, "statute")
    cancel = f.build(
        c.CancelReferral,
        case_id=case_id,
        referral_id=statutory.referral_id,
        reason_code="other",
        occurred_at=day(-3),
    )
    app.execute(cancel)
    assert not read(app, case_id, "statute")


def test_the_meeting_basis_follows_governance_a_support_meeting_alone_ends_nothing(
    case: tuple[HubApplication, UUID],
) -> None:
    """As governance, verify and replay --as-of: only the move ends a つながりづくり会議's
    hold; a 重層的支援会議 taking the case up does not, and a later つながりづくり会議 holds
    the case again after a move."""
    app, case_id = case
    app.execute(f.meeting([case_id], occurred_at=day(-6)))
    app.execute(f.consent(case_id, valid_from=day(-5), valid_until=day(30), occurred_at=day(-5)))
    app.execute(f.meeting([case_id], kind="support", occurred_at=day(-4)))
    assert read(app, case_id, "support_meeting")

    moved = f.open_case(ward=WARD, person=f.person(), occurred_at=day(-10))
    app.execute(moved)
    app.execute(f.meeting([moved.case_id], occurred_at=day(-6)))
    app.execute(
        f.consent(moved.case_id, valid_from=day(-5), valid_until=day(30), occurred_at=day(-5))
    )
    app.execute(f.build(c.MoveToSupportMeeting, case_id=moved.case_id, occurred_at=day(-3)))
    assert not read(app, moved.case_id, "support_meeting")
    app.execute(f.meeting([moved.case_id], occurred_at=day(-2)))
    assert read(app, moved.case_id, "support_meeting")


def test_narratives_of_a_case_without_details_are_read_on_a_basis_it_holds() -> None:
    # The case's narratives (a consultation's note, ...) are as personal as the details: read
    # with none held, they are shown and recorded on the basis given, which must hold too.
    app = HubApplication(env={})
    opened = f.open_case(ward=WARD, occurred_at=day(-10))
    app.execute(opened)
    case_id = opened.case_id
    assert app.get_case(case_id).person is None
    with pytest.raises(BasisNotInForceError):
        app.read_person(case_id, None, "consent", "consultation", also=["consultation.note"])
    assert access_log(app, case_id=str(case_id)) == []
    app.read_person(case_id, None, "official_duty", "consultation", also=["consultation.note"])
    assert len(access_log(app, case_id=str(case_id))) == 1


def refs_of_last_read(app: HubApplication, case_id: UUID) -> tuple[str, ...]:
    return access_log(app, case_id=str(case_id))[-1].basis_refs


def test_a_read_names_the_consent_meetings_declarations_or_statute_it_rested_on(
    case: tuple[HubApplication, UUID],
) -> None:
    """The access record names what gave its basis, as the ledger's basis_ref names it."""
    app, case_id = case
    lapsed = f.consent(case_id, valid_from=day(-9), valid_until=day(-1), occurred_at=day(-9))
    current = f.consent(case_id, valid_from=day(-1), valid_until=day(30), occurred_at=day(-1))
    app.execute(lapsed)
    app.execute(current)
    assert read(app, case_id, "consent")
    assert refs_of_last_read(app, case_id) == (str(current.consent_id),)

    first, second = f.meeting([case_id], occurred_at=day(-6)), f.meeting([case_id])
    app.execute(first)
    app.execute(second)
    assert read(app, case_id, "support_meeting")
    assert refs_of_last_read(app, case_id) == tuple(
        sorted([str(first.meeting_id), str(second.meeting_id)])
    )

    expired = f.emergency(case_id, occurred_at=day(-5), expires_at=day(-4))
    declared = f.emergency(case_id, occurred_at=day(-1), expires_at=day(2))
    app.execute(expired)
    app.execute(declared)
    assert read(app, case_id, "vital_interest")
    assert refs_of_last_read(app, case_id) == (str(declared.declaration_id),)

    statutory = f.referral(
        case_id, "kokurakita.kodomo", statute="児童虐待防止法第6条", occurred_at=day(-4)
    )
    app.execute(statutory)
    assert read(app, case_id, "statute")
    assert refs_of_last_read(app, case_id) == ("児童虐待防止法第6条",)


def test_the_staffs_own_duties_and_the_persons_request_name_no_reference(
    case: tuple[HubApplication, UUID],
) -> None:
    app, case_id = case
    app.execute(f.consent(case_id, valid_from=day(-1), valid_until=day(30), occurred_at=day(-1)))
    for basis in ("official_duty", "person_request"):
        assert read(app, case_id, basis)
        assert refs_of_last_read(app, case_id) == (), basis
