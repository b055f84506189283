"""The city office's closed days, and acknowledgement timers that stop on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from consumers.config import ConsumerSettings, get_consumer_settings
from consumers.escalation import escalate_overdue
from hub.application import HubApplication
from hub.errors import ConfigurationError
from hub.fiscal import JST
from hub.office_days import after_open_time, closed
from ops import metrics
from tests import factories as f

FRIDAY_1600 = datetime(2026, 12, 4, 16, 0, tzinfo=JST)


@pytest.mark.parametrize(
    ("day", "is_closed"),
    [
        (date(2026, 12, 4), False),  # a Friday
        (date(2026, 12, 5), True),  # Saturday
        (date(2026, 12, 6), True),  # Sunday
        (date(2025, 5, 6), True),  # 振替休日: みどりの日 (4 May) fell on a Sunday
        (date(2026, 9, 22), True),  # 国民の休日, between 敬老の日 and 秋分の日
        (date(2027, 1, 11), True),  # 成人の日, the second Monday of January
        (date(2025, 12, 29), True),  # 年末年始 begins, a Monday
        (date(2027, 1, 3), True),  # 年末年始 ends
        (date(2027, 1, 4), False),  # 御用始め, a Monday
        (date(2026, 12, 28), False),  # 御用納め, a Monday
    ],
)
def test_the_office_is_closed_on_weekends_holidays_and_the_year_end(
    day: date, is_closed: bool
) -> None:
    assert closed(day) is is_closed


def test_a_span_counts_only_the_days_the_office_is_open() -> None:
    # Friday 16:00 + 24 h: 8 h on Friday, the weekend passes, 16 h on Monday.
    assert after_open_time(FRIDAY_1600, timedelta(hours=24)) == datetime(
        2026, 12, 7, 16, 0, tzinfo=JST
    )
    # Within an open day nothing stops.
    assert after_open_time(FRIDAY_1600, timedelta(minutes=30)) == FRIDAY_1600 + timedelta(
        minutes=30
    )
    # Made on a Saturday: the clock starts on Monday at midnight.
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=JST)
    assert after_open_time(saturday, timedelta(hours=1)) == datetime(2026, 12, 7, 1, 0, tzinfo=JST)
    # Three days from 25 December 10:00: 14 h, the weekend, 28 December (24 h), 年末年始,
    # 4 January (24 h) and 10 h of 5 January.
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=JST)
    assert after_open_time(christmas, timedelta(days=3)) == datetime(2027, 1, 5, 10, tzinfo=JST)


def test_the_deadline_is_given_in_the_zone_it_was_asked_in() -> None:
    made = FRIDAY_1600.astimezone(UTC)
    deadline = after_open_time(made, timedelta(hours=24))
    assert deadline.tzinfo is UTC and deadline == datetime(2026, 12, 7, 16, 0, tzinfo=JST)


def test_only_the_urgencies_named_pause_on_closed_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ACK_PAUSE_ON_CLOSED_DAYS", "routine, soon")
    timers = ConsumerSettings()
    assert timers.ack_pause_on_closed_days == {"routine", "soon"}
    assert timers.ack_deadline("soon", FRIDAY_1600) == datetime(2026, 12, 7, 16, tzinfo=JST)
    assert timers.ack_deadline("urgent", FRIDAY_1600) == FRIDAY_1600 + timedelta(hours=4)
    # By default every timer runs day and night.
    default = ConsumerSettings(ack_pause_on_closed_days=frozenset())
    assert default.ack_deadline("soon", FRIDAY_1600) == FRIDAY_1600 + timedelta(hours=24)


def test_an_urgency_misspelt_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_consumer_settings.cache_clear()
    monkeypatch.setenv("HUB_ACK_PAUSE_ON_CLOSED_DAYS", "routine,sooon")
    try:
        with pytest.raises(
            ConfigurationError, match=r"^invalid settings: HUB_ACK_PAUSE_ON_CLOSED_DAYS: "
        ):
            get_consumer_settings()
    finally:
        get_consumer_settings.cache_clear()


def _refer(app: HubApplication, urgency: str) -> tuple[UUID, UUID]:
    case_id, referral_id = uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", occurred_at=FRIDAY_1600))
    app.execute(
        f.referral(
            case_id,
            "moji.houkatsu",
            referral_id=referral_id,
            urgency=urgency,
            occurred_at=FRIDAY_1600,
        )
    )
    return case_id, referral_id


def test_a_referral_paused_over_the_weekend_is_escalated_on_monday_and_counted_so() -> None:
    app = HubApplication()
    soon_case, soon = _refer(app, "soon")
    _, life_at_risk = _refer(app, "life_at_risk")
    timers = ConsumerSettings(ack_pause_on_closed_days=frozenset({"soon"}))
    saturday_evening = datetime(2026, 12, 5, 17, 0, tzinfo=JST)

    # Saturday: only the life at risk is overdue, on the timers and on /metrics alike.
    (escalation,) = escalate_overdue(app, saturday_evening, timers.ack_deadline)
    assert escalation.referral_id == life_at_risk
    overdue = metrics.registry(
        metrics.Referrals(app, timers.ack_deadline, now=lambda: saturday_evening)
    )
    assert overdue.get_sample_value("hub_referrals_overdue", {"urgency": "soon"}) == 0
    assert overdue.get_sample_value("hub_referrals_overdue", {"urgency": "life_at_risk"}) == 1

    # Monday 16:01 JST: the soon one has waited its 24 hours of open days.
    monday = datetime(2026, 12, 7, 16, 1, tzinfo=JST)
    assert escalate_overdue(app, monday - timedelta(minutes=2), timers.ack_deadline) == []
    (later,) = escalate_overdue(app, monday, timers.ack_deadline)
    assert later.referral_id == soon
    (event,) = [
        e
        for e in app.repository.event_store.get(soon_case)
        if type(e).__name__ == "ReferralEscalated"
    ]
    assert event.payload.overdue_minutes == 1
