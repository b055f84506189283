"""Events the edge now refuses, written below it (straight through the eventsourcing library),
as a log written before the edge's rules would hold them."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from hub import events as ev
from hub.application import HubApplication

YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
YEAR_9999_WEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-9)))
HUGE = 10**30


def escalated_for_ever(app: HubApplication, case_id: UUID, referral_id: UUID, at: datetime) -> None:
    """A ReferralEscalated whose overdue_minutes is 10**30 (beyond Avro's long and int64)."""
    case = app.get_case(case_id)
    case._referral_escalated(  # the @event method: no rule of the aggregate runs
        ev.ReferralEscalated(
            occurred_at=at,
            case_id=case_id,
            referral_id=referral_id,
            agency_id=case.referrals[referral_id].agency_id,
            coordinator="moji.coordinator",
            overdue_minutes=HUGE,
        )
    )
    app.save(case)


def visits_at_the_ends_of_time(app: HubApplication, case_id: UUID) -> None:
    """Two outreach visits: one in year 1, one at 9999-12-31T23:59:59-09:00 (which overflows
    as soon as it is turned into UTC or JST)."""
    case = app.get_case(case_id)
    for moment in (YEAR_ONE, YEAR_9999_WEST):
        case._outreach_visit_made(
            ev.OutreachVisitMade(
                occurred_at=moment,
                case_id=case_id,
                visit_id=uuid4(),
                agency_id="hoboku-shakyo",
                outcome="met",
            )
        )
    app.save(case)


def withdrawn_in_year_one(app: HubApplication, case_id: UUID, consent_id: UUID) -> None:
    """A consent withdrawal dated year 1: a step that passes over it must not go on releasing
    personal data on the consent it withdrew."""
    case = app.get_case(case_id)
    case._consent_withdrawn(
        ev.ConsentWithdrawn(occurred_at=YEAR_ONE, case_id=case_id, consent_id=consent_id)
    )
    app.save(case)


def undecodable(app: HubApplication, case_id: UUID, referral_id: UUID, at: datetime) -> None:
    """An event whose stored payload no longer fits its model (overdue_minutes is text); the
    case cannot be loaded from the store after it."""
    case = app.get_case(case_id)
    payload: Any = ev.ReferralEscalated.model_construct(
        occurred_at=at,
        case_id=case_id,
        referral_id=referral_id,
        agency_id=case.referrals[referral_id].agency_id,
        coordinator="moji.coordinator",
        overdue_minutes="a great many",
    )
    with warnings.catch_warnings():  # pydantic warns while it serialises the bad value
        warnings.simplefilter("ignore")
        case._referral_escalated(payload)
        app.save(case)


def referred_in_year_one(app: HubApplication, case_id: UUID, referral_id: UUID) -> None:
    """A life-at-risk referral made in year 1: overdue by two thousand years, for ever, to
    whatever counts it without the screen."""
    case = app.get_case(case_id)
    case.refer(
        YEAR_ONE,
        referral_id=referral_id,
        agency_id="moji.houkatsu",
        purpose="consultation",
        urgency="life_at_risk",
        statute=None,
        note=None,
    )
    app.save(case)
