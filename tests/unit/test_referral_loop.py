"""The referral loop as closed-loop referral systems run it: in progress, on hold, outcomes,
coded reasons, cancellation by the referrer; and the network measures that count them."""

from __future__ import annotations

from uuid import UUID

import pytest
from pydantic import ValidationError

from hub import commands as c
from hub.application import HubApplication
from hub.errors import BeforeReferralError, IllegalTransitionError
from hub.plausible import CLOCK_SKEW
from projections import report
from projections.indicators import Cut, MemoryIndicators
from tests import factories as f

AGENCY = "kokurakita.hogo"


def referred(app: HubApplication) -> tuple[UUID, UUID]:
    case_id = app.execute(f.consultation()).aggregate_ids[0]
    made = f.referral(case_id, AGENCY, occurred_at=f.at(0.5))
    app.execute(made)
    return case_id, made.referral_id


def answer(app: HubApplication, case_id: UUID, referral_id: UUID, what: str, day: float,
           **kw: object) -> None:  # fmt: skip
    app.execute(f.answer(case_id, referral_id, AGENCY, what, occurred_at=f.at(day), **kw))


def cancellation(
    case_id: UUID, referral_id: UUID, day: float, reason_code: str = "other"
) -> c.CancelReferral:
    return f.build(
        c.CancelReferral,
        case_id=case_id,
        referral_id=referral_id,
        reason_code=reason_code,
        occurred_at=f.at(day),
    )


def status(app: HubApplication, case_id: UUID, referral_id: UUID) -> str:
    return app.get_case(case_id).referrals[referral_id].status


def test_an_accepted_referral_goes_in_progress_on_hold_and_completes_with_an_outcome() -> None:
    app = HubApplication()
    case_id, referral_id = referred(app)
    for what, day in (("accepted", 1), ("in_progress", 2), ("on_hold", 3), ("in_progress", 4)):
        answer(app, case_id, referral_id, what, day)
        assert status(app, case_id, referral_id) == what
    answer(app, case_id, referral_id, "completed", 5, outcome="partly_resolved")
    (done,) = [
        e.payload  # type: ignore[attr-defined]
        for e in app.repository.event_store.get(case_id)
        if type(e.payload).__name__ == "ReferralAnswered"  # type: ignore[attr-defined]
        and e.payload.answer == "completed"  # type: ignore[attr-defined]
    ]
    assert done.outcome == "partly_resolved"
    with pytest.raises(IllegalTransitionError):
        answer(app, case_id, referral_id, "in_progress", 6)


def test_a_decline_takes_a_coded_reason_with_free_text_beside_it() -> None:
    app = HubApplication()
    case_id, referral_id = referred(app)
    answer(app, case_id, referral_id, "declined", 1, reason_code="capacity", reason="定員超過")
    assert status(app, case_id, referral_id) == "declined"
    with pytest.raises(ValidationError):  # neither a code nor words
        f.answer(case_id, referral_id, AGENCY, "declined", reason=None)
    with pytest.raises(ValidationError):  # an outcome is for a completion
        f.answer(case_id, referral_id, AGENCY, "accepted", outcome="resolved")
    with pytest.raises(ValidationError):  # not a code of the list
        f.answer(case_id, referral_id, AGENCY, "declined", reason_code="bored")


def test_the_referrer_cancels_a_referral_that_has_not_ended_and_only_that() -> None:
    app = HubApplication()
    case_id, referral_id = referred(app)
    answer(app, case_id, referral_id, "accepted", 1)
    cancel = cancellation(case_id, referral_id, 2, "referred_elsewhere")
    assert list(app.execute(cancel).events) == ["ReferralCancelled"]
    assert status(app, case_id, referral_id) == "cancelled"
    with pytest.raises(IllegalTransitionError):
        answer(app, case_id, referral_id, "completed", 3)
    again = f.build(c.CancelReferral, case_id=case_id, referral_id=referral_id, reason_code="other")
    with pytest.raises(IllegalTransitionError):
        app.execute(again)


def test_an_answer_or_a_cancellation_dated_before_its_referral_is_refused() -> None:
    """Its time would count as a response below zero. One a clock's lag early (an agency's
    acknowledgement sent at once, its clock behind the hub's) counts at the referral's time."""
    app = HubApplication()
    case_id, referral_id = referred(app)  # made at day 0.5
    with pytest.raises(BeforeReferralError, match="before it"):
        answer(app, case_id, referral_id, "received", 0.4)
    with pytest.raises(BeforeReferralError):
        app.execute(cancellation(case_id, referral_id, 0.25))
    assert status(app, case_id, referral_id) == "sent"
    lagging = f.at(0.5) - CLOCK_SKEW
    app.execute(f.answer(case_id, referral_id, AGENCY, "received", occurred_at=lagging))
    assert status(app, case_id, referral_id) == "received"
    (received,) = [
        e.payload  # type: ignore[attr-defined]
        for e in app.repository.event_store.get(case_id)
        if type(e.payload).__name__ == "ReferralAnswered"  # type: ignore[attr-defined]
    ]
    assert received.occurred_at == f.at(0.5)  # counted at the referral's own time


def test_the_network_measures_count_cancellations_and_resolved_outcomes() -> None:
    app = HubApplication()
    fold = MemoryIndicators.empty()
    first_case, first = referred(app)
    answer(app, first_case, first, "accepted", 1)
    answer(app, first_case, first, "completed", 2, outcome="resolved")
    second_case, second = referred(app)
    app.execute(
        f.build(
            c.CancelReferral,
            case_id=second_case,
            referral_id=second,
            reason_code="no_longer_needed",
            occurred_at=f.at(3),
        )
    )
    for notification in app.recorder.select_notifications(start=None, limit=1000):
        domain_event = app.mapper.to_domain_event(notification)
        payload = domain_event.payload  # type: ignore[attr-defined]
        fold.apply(type(payload).__name__, payload.model_dump(mode="json"))
    measures = {r.code: r.value for r in report.from_memory(fold, Cut.of(2025))}
    assert (measures["sent"], measures["cancelled"], measures["resolved"]) == (2, 1, 1)
    assert measures["closed_loop"] == 50.0  # a cancellation is not the agency's outcome
