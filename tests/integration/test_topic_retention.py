"""Topics that may carry personal data get a retention limit at provisioning (issue 19,
docs/STREAMS.md); the audit and analytics streams are kept whole (retention.ms -1, not the
broker's default of 7 days)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from hub import kafka_clients, topics
from hub.settings import Settings
from producers.provision import provision

pytestmark = pytest.mark.integration

AGENCY = "moji.houkatsu"
DAY_MS = 24 * 60 * 60 * 1000


def _retention(settings: Settings) -> dict[str, str | None]:
    admin = kafka_clients.admin(settings, client_id="test-retention")
    try:
        names = topics.all_topics(settings, [AGENCY])
        found = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, None) for t in names]
        )
    finally:
        admin.close()
    by_topic = next(iter(found.values()))
    return {
        t.removeprefix(settings.kafka_topic_prefix): (
            by_topic[t]["retention.ms"]["value"] if "retention.ms" in by_topic[t] else None
        )
        for t in names
    }


def test_personal_topics_get_the_retention_limit_and_a_new_limit_is_applied(
    kafka_broker: object,
) -> None:
    settings = Settings(kafka_topic_prefix=f"r{uuid4().hex[:10]}.")
    provision(settings, [AGENCY])
    limits = _retention(settings)
    for topic in (f"referrals.{AGENCY}", f"replies.{AGENCY}", f"deadletter.{AGENCY}"):
        assert limits[topic] == str(30 * DAY_MS), topic
    assert limits["deadletter.replies"] == str(30 * DAY_MS)
    for topic in ("audit.consent", "analytics.events"):
        assert limits[topic] == "-1", topic

    shorter = settings.model_copy(update={"personal_topic_retention_days": 7})
    provision(shorter, [AGENCY])  # the topics exist: the new limit is set on them
    assert _retention(shorter)[f"referrals.{AGENCY}"] == str(7 * DAY_MS)
