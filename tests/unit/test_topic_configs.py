"""What `hub kafka provision` creates each topic with (docs/STREAMS.md, Retention): a limit on
the topics that may carry a person's details; the audit and analytics streams kept whole."""

from __future__ import annotations

from hub import topics
from hub.settings import Settings

AGENCY = "moji.houkatsu"
DAY_MS = 24 * 60 * 60 * 1000


def test_personal_topics_are_limited_and_the_audit_and_analytics_streams_kept_whole() -> None:
    settings = Settings(kafka_topic_prefix="t1.", personal_topic_retention_days=30)
    configs = {
        t.removeprefix("t1."): topics.topic_configs(settings, t)
        for t in topics.all_topics(settings, [AGENCY])
    }
    for topic in (f"referrals.{AGENCY}", f"replies.{AGENCY}", f"deadletter.{AGENCY}"):
        assert configs[topic] == {"retention.ms": str(30 * DAY_MS)}, topic
    assert configs["deadletter.replies"] == {"retention.ms": str(30 * DAY_MS)}
    # Left out, the broker's log.retention.hours (168 by default) deleted them after a week:
    # the consent history `hub audit replay --source kafka` reads, the year of records
    # `hub analytics rebuild` counts table ④ from.
    for topic in ("audit.consent", "analytics.events"):
        assert configs[topic] == {"retention.ms": "-1"}, topic
