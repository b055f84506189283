"""Provisioned principals against the real broker: each reads only its own topics."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from kafka.errors import TopicAuthorizationFailedError

from hub import topics
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from ops.wiring import open_application, open_relay
from tests import factories as f
from tests.integration.streams import provisioned, read_topic, store_settings

pytestmark = pytest.mark.integration

A = "yahatanishi.houkatsu"
B = "yahatanishi.hogo"


@pytest.fixture
def published(kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path) -> Settings:
    """A provisioned topic prefix where the relay principal published one referral each."""
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [A, B])
    app = open_application(settings)
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="yahatanishi"))
    app.execute(f.referral(case_id, A, referral_id=uuid4()))
    app.execute(f.referral(case_id, B, referral_id=uuid4()))
    relay = open_relay(settings, app, principal="relay")
    relay.drain()
    relay.close()
    return settings


def test_the_relay_principal_publishes_and_an_agency_reads_its_own_topic(
    published: Settings,
) -> None:
    own = read_topic(published, topics.referrals(published, A), user=A)
    assert [r.schema for r in own] == ["ReferralMade", "ReferralMade"]  # A's, then B's
    assert own[0].record["agency_id"] == A


def assert_denied(settings: Settings, topic: str, user: str) -> None:
    """The read fails with the hub's one-line error: the broker hides the topic from ``user``
    or refuses the fetch."""
    with pytest.raises(ServiceUnavailableError) as refused:
        read_topic(settings, topic, user=user)
    cause = refused.value.__cause__
    assert isinstance(cause, TopicAuthorizationFailedError) or f"{user} may not read" in str(
        refused.value
    )
    assert topic in str(refused.value)


def test_an_agency_reading_another_agencys_topic_is_denied(published: Settings) -> None:
    assert_denied(published, topics.referrals(published, B), A)


def test_analysts_cannot_read_the_audit_stream_nor_auditors_the_analytics(
    published: Settings,
) -> None:
    assert read_topic(published, topics.analytics(published), user="analyst")
    assert_denied(published, topics.audit(published), "analyst")
    assert_denied(published, topics.analytics(published), "auditor")
