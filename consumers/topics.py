"""Topic and group names of the streams the consumers read and write (docs/STREAMS.md).

``HUB_KAFKA_TOPIC_PREFIX`` is put in front of every topic name, so that several installs
(or tests) can share one broker.
"""

from __future__ import annotations

import re

from hub.settings import Settings

REPLIES_DEADLETTER = "replies"


def referrals(settings: Settings, agency_id: str) -> str:
    return f"{settings.kafka_topic_prefix}referrals.{agency_id}"


def replies(settings: Settings, agency_id: str) -> str:
    return f"{settings.kafka_topic_prefix}replies.{agency_id}"


def deadletter(settings: Settings, consumer: str) -> str:
    return f"{settings.kafka_topic_prefix}deadletter.{consumer}"


def replies_pattern(settings: Settings) -> re.Pattern[str]:
    """Matches every agency's reply topic; group 1 is the agency id."""
    return re.compile(rf"^{re.escape(settings.kafka_topic_prefix)}replies\.([a-z0-9][a-z0-9._-]*)$")


def agency_of_reply_topic(settings: Settings, topic: str) -> str | None:
    """The agency whose reply topic ``topic`` is (only that principal may write there)."""
    match = replies_pattern(settings).match(topic)
    return match.group(1) if match else None


def agency_group(agency_id: str, purpose: str = "inbox") -> str:
    return f"{agency_id}.{purpose}"


def hub_group(purpose: str = "replies") -> str:
    return f"hub.{purpose}"
