"""The metrics' collectors read the stores when scraped: referrals by urgency and age, the
overdue ones, escalations, the relay's lag, disclosures by basis; commands are timed."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from prometheus_client import generate_latest

from hub import commands as c
from hub.errors import CaseNotFoundError, ServiceUnavailableError
from ops import metrics
from ops.wiring import open_memory_application
from tests import factories as f
from tests.poison import referred_in_year_one, undecodable

AGENCY = "kokurakita.hogo"


def _deadline(urgency: str, made_at: datetime) -> datetime:
    return made_at + (timedelta(minutes=30) if urgency == "life_at_risk" else timedelta(days=3))


def test_referrals_unanswered_are_counted_by_urgency_and_age_and_overdue_past_their_timer() -> None:
    app = open_memory_application()
    case_id, urgent, routine, answered = uuid4(), uuid4(), uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="kokurakita"))
    app.execute(f.referral(case_id, AGENCY, referral_id=urgent, urgency="life_at_risk"))
    app.execute(f.referral(case_id, AGENCY, referral_id=routine, urgency="routine"))
    app.execute(f.referral(case_id, "kokurakita.houkatsu", referral_id=answered, urgency="soon"))
    app.execute(f.answer(case_id, answered, "kokurakita.houkatsu", "received"))
    now = f.at(0) + timedelta(hours=1)
    registry = metrics.registry(metrics.Referrals(app, _deadline, now=lambda: now))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("hub_referrals_unanswered", urgency="life_at_risk", age="lt_4h") == 1
    assert value("hub_referrals_unanswered", urgency="routine", age="lt_4h") == 1
    assert value("hub_referrals_unanswered", urgency="soon", age="lt_4h") == 0
    assert value("hub_referrals_overdue", urgency="life_at_risk") == 1
    assert value("hub_referrals_overdue", urgency="routine") == 0
    assert value("hub_referral_oldest_unanswered_seconds", urgency="life_at_risk") == 3600
    assert value("hub_escalations_total") == 0

    # Read again at the next scrape: the escalation counts, the referral stays unanswered.
    app.execute(
        f.build(c.EscalateReferral, case_id=case_id, referral_id=urgent, overdue_minutes=30)
    )
    assert value("hub_escalations_total") == 1
    assert value("hub_referrals_overdue", urgency="life_at_risk") == 1
    app.execute(f.answer(case_id, urgent, AGENCY, "accepted"))
    assert value("hub_referrals_overdue", urgency="life_at_risk") == 0


def test_an_event_no_model_reads_is_passed_over_and_the_referral_metrics_still_served() -> None:
    # A log written below the edge may hold one (GUARANTEES.md, poison events): the scrape
    # that feeds the life_at_risk alert must not fail on it for ever.
    app = open_memory_application()
    case_id, urgent = uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji"))
    app.execute(f.referral(case_id, "moji.houkatsu", referral_id=urgent, urgency="life_at_risk"))
    undecodable(app, case_id, urgent, f.at(1))
    now = f.at(0) + timedelta(hours=1)
    registry = metrics.registry(metrics.Referrals(app, _deadline, now=lambda: now))
    assert registry.get_sample_value("hub_referrals_overdue", {"urgency": "life_at_risk"}) == 1
    assert registry.get_sample_value("hub_escalations_total") == 0


def test_a_referral_the_screen_refuses_is_not_counted_overdue_for_ever() -> None:
    # The escalation timers give it no deadline (hub/quarantine.py); neither may the alert.
    app = open_memory_application()
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji"))
    referred_in_year_one(app, case_id, uuid4())
    now = f.at(0) + timedelta(hours=1)
    registry = metrics.registry(metrics.Referrals(app, _deadline, now=lambda: now))
    assert registry.get_sample_value("hub_referrals_overdue", {"urgency": "life_at_risk"}) == 0


class _Log:
    def __init__(self, position: int) -> None:
        self.at = position

    def max_notification_id(self) -> int | None:
        return self.at or None


class _Ledger:
    def __init__(self, position: int) -> None:
        self.at = position

    def position(self) -> int:
        return self.at


def test_the_relay_lag_is_the_log_position_minus_the_relayed_position() -> None:
    log, ledger = _Log(120), _Ledger(100)
    registry = metrics.registry(metrics.RelayLag(log, ledger))
    assert registry.get_sample_value("hub_relay_lag") == 20
    assert registry.get_sample_value("hub_log_position") == 120
    log.at, ledger.at = 150, 150
    assert registry.get_sample_value("hub_relay_lag") == 0
    assert registry.get_sample_value("hub_relay_position") == 150


def test_disclosures_and_dead_letters_are_counters_by_label() -> None:
    registry = metrics.registry(
        metrics.Disclosures(lambda: {"consent": 3, "vital_interest": 1}),
        metrics.DeadLetters(lambda: {"moji.houkatsu": 2}),
    )
    text = generate_latest(registry).decode()
    assert 'hub_disclosures_total{basis="consent"} 3.0' in text
    assert 'hub_disclosures_total{basis="vital_interest"} 1.0' in text
    assert 'hub_dead_letters_total{stream="moji.houkatsu"} 2.0' in text


def test_commands_are_timed_by_type_and_outcome_and_refusals_by_their_error() -> None:
    app = open_memory_application()
    timer = metrics.CommandTimer()
    execute = timer.wrap(app.execute)
    command = f.open_case(ward="moji")
    execute(command)
    execute(command)
    with pytest.raises(CaseNotFoundError):
        execute(f.referral(uuid4(), AGENCY))
    registry = metrics.registry(timer)

    def count(outcome: str, command: str = "OpenCase") -> float | None:
        labels = {"command": command, "outcome": outcome}
        return registry.get_sample_value("hub_command_seconds_count", labels)

    assert count("recorded") == 1
    assert count("duplicate") == 1
    assert count("CaseNotFoundError", "ReferCase") == 1


@pytest.mark.parametrize(
    ("minutes", "bucket"), [(0, "lt_30m"), (29, "lt_30m"), (30, "lt_4h"), (60 * 24 * 3, "ge_3d")]
)
def test_an_age_falls_in_the_bucket_below_its_bound(minutes: int, bucket: str) -> None:
    assert metrics.age_bucket(timedelta(minutes=minutes)) == bucket


def test_a_broker_away_leaves_the_consumer_lag_unknown_and_the_other_metrics_served() -> None:
    def away() -> list[tuple[str, int]]:
        raise ServiceUnavailableError("Kafka: connecting to 127.0.0.1:1 failed")

    registry = metrics.registry(
        metrics.ConsumerLag(away), metrics.DeadLetters(lambda: {"moji.houkatsu": 0})
    )
    text = generate_latest(registry).decode()
    assert "hub_consumer_lag{" not in text
    assert 'hub_dead_letters_total{stream="moji.houkatsu"} 0.0' in text
    lag = metrics.registry(metrics.ConsumerLag(lambda: [("moji.houkatsu", 3)]))
    assert lag.get_sample_value("hub_consumer_lag", {"agency": "moji.houkatsu"}) == 3
