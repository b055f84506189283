"""Values at the edges of their types are refused at the edge, naming the field, never the value.

An accepted value is in the immutable log for ever, and every step behind the edge must
process it (issue 14: an overdue_minutes of 10**30 or an instant in year 9999 once stopped
the relay, the projections and the reports). Bounds: hub/plausible.py, GUARANTEES.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub import plausible
from hub.errors import InvalidCommandError
from hub.fiscal import JST
from hub.intake import parse_command_text
from hub.settings import get_settings
from tests.faults.templates import templates
from tests.faults.test_bad_commands import FUZZ, assert_one_clear_line

BY_TYPE = {t["type"]: t for t in templates()}
HUGE_INTS = [10**30, 2**63, 2**63 - 1, 2**64, -(2**63) - 1, -1]
BAD_INSTANTS = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+09:00",
    "9999-12-31T23:59:59-09:00",
    "9999-12-31T23:59:59+14:00",
    "1999-12-31T23:59:59+09:00",
    "2025-04-10T09:00:00",  # naive
    "2025-04-10T09:00:00+23:59",  # no such zone
    "2025-04-10T09:00:00-23:00",
    "2200-01-01T00:00:00+09:00",
]


def refused(kind: str, **fields: Any) -> str:
    command = {**BY_TYPE[kind], **fields}
    text = json.dumps(command)
    with pytest.raises(InvalidCommandError) as error:
        parse_command_text(text)
    assert_one_clear_line(error.value)
    return str(error.value)


def accepted(kind: str, **fields: Any) -> None:
    parse_command_text(json.dumps({**BY_TYPE[kind], **fields}))


def never_echoes(message: str, value: object) -> None:
    shown = str(value)
    if len(shown) >= 4:  # short values (-1, 0) appear in any rule's text by chance
        assert shown not in message, f"the refusal echoes the value: {message}"


@pytest.mark.parametrize("value", HUGE_INTS)
@pytest.mark.parametrize(
    ("kind", "field"), [("EscalateReferral", "overdue_minutes"), ("HoldGathering", "participants")]
)
def test_integers_beyond_their_domain_are_refused_naming_the_field(
    kind: str, field: str, value: int
) -> None:
    message = refused(kind, **{field: value})
    assert message.startswith(f"{field}: ")
    never_echoes(message, value)


def test_integers_at_their_domain_bounds_are_accepted() -> None:
    accepted("EscalateReferral", overdue_minutes=0)
    accepted("EscalateReferral", overdue_minutes=plausible.MAX_OVERDUE_MINUTES)
    assert plausible.AVRO_LONG[1] > plausible.MAX_OVERDUE_MINUTES
    refused("EscalateReferral", overdue_minutes=plausible.MAX_OVERDUE_MINUTES + 1)
    accepted("HoldGathering", participants=plausible.MAX_PARTICIPANTS)


@pytest.mark.parametrize("value", BAD_INSTANTS)
@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("ReportDiscovery", "occurred_at"),
        ("EscalateReferral", "occurred_at"),
        ("GiveConsent", "valid_from"),
    ],
)
def test_instants_outside_the_window_are_refused_naming_the_field(
    kind: str, field: str, value: str
) -> None:
    message = refused(kind, **{field: value})
    assert message.startswith(f"{field}: "), message
    never_echoes(message, value)


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("GiveConsent", {"valid_until": "9999-12-31T23:59:59-09:00"}, "valid_until"),
        ("GiveConsent", {"valid_until": "3025-04-10T09:00:00+09:00"}, "valid_until"),
        ("GiveConsent", {"valid_until": "0001-01-01T00:00:00+00:00"}, "valid_until"),
        ("DeclareEmergency", {"expires_at": "2125-04-10T09:00:00+09:00"}, "expires_at"),
        ("DeclareEmergency", {"expires_at": "9999-12-31T23:59:59-09:00"}, "expires_at"),
        ("AgreePlan", {"period_until": "9999-12-31"}, "period_until"),
        ("AgreePlan", {"period_from": "0001-01-01"}, "period_from"),
        ("ReceiveConsultation", {"person": {"birth_date": "0001-01-01"}}, "person.birth_date"),
        ("ReceiveConsultation", {"person": {"birth_date": "9999-12-31"}}, "person.birth_date"),
    ],
)
def test_periods_and_dates_beyond_their_kind_are_refused_naming_the_field(
    kind: str, fields: dict[str, Any], field: str
) -> None:
    message = refused(kind, **fields)
    assert message.startswith(f"{field}: ") or f" {field} must be" in message, message
    for value in fields.values():
        never_echoes(message, value)


def test_each_kind_of_period_has_its_own_upper_bound() -> None:
    start = datetime(2025, 4, 10, 9, 0, tzinfo=JST)

    def iso(delta: timedelta) -> str:
        return (start + delta).isoformat()

    accepted("GiveConsent", valid_until=iso(plausible.MAX_CONSENT))
    refused("GiveConsent", valid_until=iso(plausible.MAX_CONSENT + timedelta(seconds=1)))
    accepted("DeclareEmergency", expires_at=iso(plausible.MAX_EMERGENCY))
    refused("DeclareEmergency", expires_at=iso(plausible.MAX_EMERGENCY + timedelta(seconds=1)))
    assert plausible.MAX_EMERGENCY < timedelta(days=365) < plausible.MAX_CONSENT
    assert timedelta(days=10 * 365) > plausible.MAX_CONSENT


def test_the_future_margin_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    monkeypatch.setenv("HUB_FUTURE_MARGIN_DAYS", "1")
    get_settings.cache_clear()
    try:
        message = refused("ReportDiscovery", occurred_at=soon)
        assert "HUB_FUTURE_MARGIN_DAYS" in message
        monkeypatch.setenv("HUB_FUTURE_MARGIN_DAYS", "7")
        get_settings.cache_clear()
        accepted("ReportDiscovery", occurred_at=soon)
    finally:
        get_settings.cache_clear()


@FUZZ
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    offset_minutes=st.integers(-23 * 60, 23 * 60),
)
def test_an_instant_is_accepted_exactly_when_it_lies_in_the_window(
    moment: datetime, offset_minutes: int
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone)
    plausible_offset = timedelta(hours=-12) <= zone.utcoffset(None) <= timedelta(hours=14)
    inside = plausible_offset and plausible.EARLIEST <= local <= plausible.latest() - timedelta(
        minutes=1
    )
    outside = not plausible_offset or not (
        plausible.EARLIEST <= local <= plausible.latest() + timedelta(minutes=1)
    )
    if inside:
        accepted("ReportDiscovery", occurred_at=local.isoformat())
    elif outside:
        refused("ReportDiscovery", occurred_at=local.isoformat())
