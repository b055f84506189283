"""Every refusal is a named error (hub/errors.py), decided in one place."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.errors import (
    MeetingRuleError,
    NotAConsultationWindowError,
    ReferralNotFoundError,
    UnknownWardError,
    WardMismatchError,
    WardRequiredError,
)
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]


def _store_size(app: HubApplication) -> int:
    return int(app.recorder.max_notification_id() or 0)


def test_a_consultation_at_an_agency_that_is_no_window_is_refused_by_name() -> None:
    app = HubApplication()
    before = _store_size(app)
    with pytest.raises(NotAConsultationWindowError):
        app.execute(f.consultation(window_agency="hoboku-shakyo"))
    assert _store_size(app) == before


@pytest.mark.parametrize(
    ("ward", "error"), [("moji", WardMismatchError), ("nowhere", UnknownWardError)]
)
def test_a_ward_windows_consultation_stating_another_or_no_ward_is_refused_by_name(
    ward: str, error: type[Exception]
) -> None:
    """A ward's window opens its cases in its own ward: the ward stated (moji, or one the
    network does not know) was passed over and the case opened in kokurakita all the same."""
    app = HubApplication()
    before = _store_size(app)
    with pytest.raises(error):
        app.execute(f.consultation(window_agency="kokurakita.houkatsu", ward=ward))
    assert _store_size(app) == before
    app.execute(f.consultation(window_agency="kokurakita.houkatsu", ward="kokurakita"))


def test_a_city_wide_window_opening_a_case_needs_the_persons_ward() -> None:
    app = HubApplication()
    with pytest.raises(WardRequiredError):
        app.execute(f.consultation(window_agency="kikan-soudan", case_id=None, ward=None))


def test_a_meeting_listing_a_case_twice_is_refused_by_name() -> None:
    app = HubApplication()
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id))
    with pytest.raises(MeetingRuleError):
        app.execute(f.meeting([case_id, case_id]))


def test_escalating_a_referral_the_case_does_not_have_writes_nothing() -> None:
    """No escalation naming no agency: the case refuses an unknown referral."""
    app = HubApplication()
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id))
    before = _store_size(app)
    with pytest.raises(ReferralNotFoundError):
        app.execute(
            c.EscalateReferral(
                command_id=uuid4(),
                occurred_at=f.at(1),
                case_id=case_id,
                referral_id=uuid4(),
                overdue_minutes=int(timedelta(days=1).total_seconds() // 60),
            )
        )
    assert _store_size(app) == before


def test_no_refusal_in_the_product_is_a_bare_domain_error() -> None:
    bare = []
    for package in ("hub", "projections", "producers", "consumers", "ops"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Raise)
                    and isinstance(node.exc, ast.Call)
                    and isinstance(node.exc.func, ast.Name)
                    and node.exc.func.id == "DomainError"
                ):
                    bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []
