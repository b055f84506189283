"""Settings of the agency side: credentials per principal, timers per urgency, topic names."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from consumers.config import ConsumerSettings, get_consumer_settings
from consumers.inbox import inbox_path, inbox_schema
from consumers.sql import PostgresDatabase
from hub import topics
from hub.errors import ConfigurationError
from hub.kafka_clients import credentials
from hub.settings import Settings


def test_an_agency_uses_its_own_secret_when_the_settings_name_it_and_a_derived_one_otherwise() -> (
    None
):
    local = Settings()
    assert credentials(local, "moji.houkatsu") == (
        "moji.houkatsu",
        local.principal_password("moji.houkatsu"),
    )
    production = Settings(kafka_user="moji.houkatsu", kafka_password=SecretStr("real-secret"))
    assert credentials(production, "moji.houkatsu") == ("moji.houkatsu", "real-secret")


def test_life_at_risk_referrals_have_the_shortest_acknowledgement_deadline() -> None:
    timers = ConsumerSettings(ack_timeout_life_at_risk_minutes=15, ack_timeout_minutes=600)
    deadlines = {u: timers.ack_timeout(u) for u in ("routine", "soon", "urgent", "life_at_risk")}
    assert min(deadlines, key=deadlines.__getitem__) == "life_at_risk"
    assert deadlines["life_at_risk"].total_seconds() == 15 * 60
    assert deadlines["routine"].total_seconds() == 600 * 60


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_ACK_TIMEOUT_SOON_MINUTES", "abc"),
        ("HUB_ACK_TIMEOUT_SOON_MINUTES", "0"),  # would escalate every referral as it is sent
        ("HUB_ACK_TIMEOUT_LIFE_AT_RISK_MINUTES", "-5"),
        ("HUB_ACK_TIMEOUT_MINUTES", str(366 * 24 * 60 + 1)),
        ("HUB_AGENCY_INBOX_STORE", "mysql"),
    ],
)
def test_a_consumer_setting_out_of_its_type_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    get_consumer_settings.cache_clear()
    monkeypatch.setenv(name, value)
    try:
        with pytest.raises(ConfigurationError, match=f"^invalid settings: {name}: "):
            get_consumer_settings()
    finally:
        get_consumer_settings.cache_clear()


def test_the_agency_of_a_reply_topic_comes_from_its_name_under_the_prefix() -> None:
    settings = Settings(kafka_topic_prefix="t1.")
    assert topics.agency_of_reply_topic(settings, "t1.replies.moji.houkatsu") == "moji.houkatsu"
    assert topics.agency_of_reply_topic(settings, "replies.moji.houkatsu") is None
    assert topics.agency_of_reply_topic(settings, "t1.referrals.moji.houkatsu") is None


def test_each_agency_has_its_own_inbox_file_or_schema() -> None:
    settings = Settings(var_dir=Path("/srv/hub"))
    assert inbox_path(settings, ConsumerSettings(), "moji.houkatsu") == Path(
        "/srv/hub/agency/moji.houkatsu.sqlite"
    )
    templated = ConsumerSettings(agency_inbox_path=Path("/data/{agency}/inbox.sqlite"))
    assert inbox_path(settings, templated, "moji.hoken") == Path("/data/moji.hoken/inbox.sqlite")
    assert inbox_schema(ConsumerSettings(), "moji.koureisha-shougaisha") == (
        "inbox_moji_koureisha_shougaisha"
    )


def test_an_inbox_schema_postgresql_cannot_use_is_a_setting_to_correct() -> None:
    # Refused before connecting, by the variable's name: not "a service is away" (exit 4).
    with pytest.raises(ConfigurationError, match="HUB_AGENCY_INBOX_SCHEMA"):
        PostgresDatabase(Settings(), "Inbox-tobata_hogo")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_API_MAX_BODY_BYTES", "0"),  # would refuse every command with 413
        ("HUB_API_MAX_BODY_BYTES", "-1"),
        ("HUB_POSTGRES_PORT", "0"),
        ("HUB_POSTGRES_PORT", "65536"),
        ("HUB_KAFKA_CONTROLLER_PORT", "-1"),
    ],
)
def test_a_hub_setting_out_of_its_range_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    from hub.settings import get_settings

    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=f"^invalid settings: {name}: "):
            get_settings()
    finally:
        monkeypatch.delenv(name)
        get_settings.cache_clear()
