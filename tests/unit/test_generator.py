"""The demo year: deterministic, calibrated on the seed's R7 actuals, valid, synthetic."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel

from hub import commands as c
from hub.application import HubApplication
from ops.demo import calibration as cal
from ops.demo.generator import DemoYear, generate_year
from ops.demo.synthetic import MARKERS


@pytest.fixture(scope="module")
def year() -> DemoYear:
    return generate_year()


def in_memory_hub() -> HubApplication:
    # No copy out of the aggregate cache: cases with hundreds of activities copy slowly, and a
    # command that fails here fails the test anyway.
    return HubApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo", "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"}
    )


def test_the_same_seed_gives_the_same_year_twice(year: DemoYear) -> None:
    again = generate_year()
    assert [cmd.model_dump() for cmd in again.commands] == [
        cmd.model_dump() for cmd in year.commands
    ]
    assert again.answers == year.answers


def test_another_seed_gives_another_year(year: DemoYear) -> None:
    other = generate_year(seed=7)
    assert {cmd.command_id for cmd in other.commands}.isdisjoint(
        cmd.command_id for cmd in year.commands
    )


def test_april_to_december_reproduces_the_seed_actuals(year: DemoYear) -> None:
    counts = year.counts(date(2025, 12, 31))
    assert counts["visits"] == 450
    assert counts["plans"] == 13
    assert counts["activities"] == 2248
    assert counts["participants"] == 2


@pytest.mark.parametrize("seed", [1, 42, 2026])
def test_the_calibration_holds_whatever_the_seed(seed: int) -> None:
    counts = generate_year(seed=seed, until=date(2025, 12, 31)).counts()
    assert (counts["visits"], counts["plans"], counts["activities"], counts["participants"]) == (
        450,
        13,
        2248,
        2,
    )


def test_january_to_march_go_on_at_the_same_rate(year: DemoYear) -> None:
    counts = year.counts()
    assert counts["visits"] == sum(cal.VISITS)
    assert counts["activities"] == sum(cal.ACTIVITIES)
    assert counts["plans"] == sum(cal.PLANS)
    assert counts["participants"] == sum(cal.NEW_PARTICIPANTS)


@pytest.mark.parametrize("months", [1, 3, 6, 9])
def test_a_cut_at_a_month_end_counts_that_many_months_of_quota(year: DemoYear, months: int) -> None:
    until = date.fromordinal(cal.month_end(months - 1).toordinal() - 1)
    cut = year.cut(until)
    assert all(cmd.occurred_at.date() <= until for cmd in cut.commands)
    counts = cut.counts()
    assert counts == year.counts(until)
    assert counts["visits"] == sum(cal.VISITS[:months])
    assert counts["activities"] == sum(cal.ACTIVITIES[:months])
    assert counts["plans"] == sum(cal.PLANS[:months])


def test_the_year_stays_inside_fiscal_r7(year: DemoYear) -> None:
    assert all(
        date(2025, 4, 1) <= cmd.occurred_at.date() <= date(2026, 3, 31) for cmd in year.commands
    )
    assert all(date(2025, 4, 1) <= a.at.date() <= date(2026, 3, 31) for a in year.answers)


def test_scale_multiplies_the_volume(year: DemoYear) -> None:
    double = generate_year(scale=2)
    calibrated = ("visits", "plans", "activities", "participants")
    for name in calibrated:
        assert double.counts()[name] == 2 * year.counts()[name]
    assert len({cmd.command_id for cmd in double.commands}) == len(double.commands)


def test_every_answer_comes_after_its_referral_from_the_agency_it_was_sent_to(
    year: DemoYear,
) -> None:
    referrals = {cmd.referral_id: cmd for cmd in year.commands if isinstance(cmd, c.ReferCase)}
    for answer in year.answers:
        referral = referrals[answer.referral_id]
        assert answer.agency_id == referral.agency_id
        assert answer.at > referral.occurred_at


def test_every_command_of_the_year_applies_without_a_domain_error(year: DemoYear) -> None:
    hub = in_memory_hub()
    outcomes = [hub.execute(cmd) for cmd in year.timeline()]  # a DomainError fails the test
    assert not any(outcome.duplicate for outcome in outcomes)


def test_resubmitting_the_year_writes_nothing_new() -> None:
    april = generate_year(until=date(2025, 4, 30))
    hub = in_memory_hub()
    for cmd in april.timeline():
        hub.execute(cmd)
    assert all(hub.execute(cmd).duplicate for cmd in april.timeline())


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, BaseModel):
        return [t for name in type(value).model_fields for t in _texts(getattr(value, name))]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


PERSONAL_FIELDS = ("name", "kana", "address", "health", "note", "summary", "reason", "bodies")


def test_names_addresses_and_notes_are_visibly_synthetic(year: DemoYear) -> None:
    seen = 0
    for cmd in year.commands:
        if isinstance(cmd, c.CloseCase | c.RegisterCooperatingBusiness | c.RegisterCommunityBase):
            texts = _texts(cmd.reason if isinstance(cmd, c.CloseCase) else cmd.name)
        else:
            texts = [t for field in PERSONAL_FIELDS for t in _texts(getattr(cmd, field, None))]
            person = getattr(cmd, "person", None)
            if person is not None:
                texts += _texts(person.name) + _texts(person.address)
                assert person.phone is None or person.phone.startswith("000-0000-")
        for text in texts:
            seen += 1
            assert any(marker in text for marker in MARKERS), text
    assert seen > 1000
