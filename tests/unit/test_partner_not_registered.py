"""A match or a gathering naming a community base or cooperating business that no
registration on the log names is refused by a named error, still a NotFoundError (the API's
404 is unchanged), so that a door (the contractor's page) tells it by type, not by the start
of its English message."""

from __future__ import annotations

from uuid import uuid4

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.errors import (
    CommunityBaseNotRegisteredError,
    CooperatingBusinessNotRegisteredError,
    NotFoundError,
    PartnerNotRegisteredError,
)
from tests import factories as f


def test_a_match_with_an_unregistered_business_names_the_business() -> None:
    app = HubApplication()
    case = f.open_case(ward="tobata")
    app.execute(case)
    match = f.build(
        c.MatchParticipation, case_id=case.case_id, place_kind="work", business_id=uuid4()
    )
    with pytest.raises(CooperatingBusinessNotRegisteredError) as refused:
        app.execute(match)
    assert isinstance(refused.value, PartnerNotRegisteredError | NotFoundError)
    assert str(refused.value).startswith("no cooperating business ")


def test_a_match_and_a_gathering_with_an_unregistered_base_name_the_base() -> None:
    app = HubApplication()
    case = f.open_case(ward="tobata")
    app.execute(case)
    match = f.build(c.MatchParticipation, case_id=case.case_id, place_kind="salon", base_id=uuid4())
    with pytest.raises(CommunityBaseNotRegisteredError):
        app.execute(match)
    gathering = f.build(c.HoldGathering, base_id=uuid4(), participants=3)
    with pytest.raises(CommunityBaseNotRegisteredError) as refused:
        app.execute(gathering)
    assert isinstance(refused.value, NotFoundError)
