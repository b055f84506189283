"""Topic and group names of docs/STREAMS.md, under the optional ``Settings.kafka_topic_prefix``.

Shared by the relay (producers) and the agency side (consumers), so both name topics alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hub.reference import load_network
from hub.settings import Settings

AUDIT = "audit.consent"
ANALYTICS = "analytics.events"
REPLIES_DEADLETTER = "replies"  # the reply ingester's dead letters: deadletter.replies


def name(settings: Settings, topic: str) -> str:
    return f"{settings.kafka_topic_prefix}{topic}"


def referrals(settings: Settings, agency_id: str) -> str:
    return name(settings, f"referrals.{agency_id}")


def replies(settings: Settings, agency_id: str) -> str:
    return name(settings, f"replies.{agency_id}")


def deadletter(settings: Settings, consumer: str) -> str:
    return name(settings, f"deadletter.{consumer}")


def audit(settings: Settings) -> str:
    return name(settings, AUDIT)


def analytics(settings: Settings) -> str:
    return name(settings, ANALYTICS)


def all_topics(settings: Settings, agencies: Iterable[str] | None = None) -> list[str]:
    """Every topic of the contract, for all agencies of the network unless given."""
    ids = list(agencies) if agencies is not None else [a.id for a in load_network().agencies]
    found = [audit(settings), analytics(settings), deadletter(settings, REPLIES_DEADLETTER)]
    for agency_id in ids:
        found += [
            referrals(settings, agency_id),
            replies(settings, agency_id),
            deadletter(settings, agency_id),
        ]
    return found


def replies_pattern(settings: Settings) -> re.Pattern[str]:
    """Matches every agency's reply topic; group 1 is the agency id."""
    prefix = re.escape(settings.kafka_topic_prefix)
    return re.compile(rf"^{prefix}replies\.([a-z0-9][a-z0-9._-]*)$")


def agency_of_reply_topic(settings: Settings, topic: str) -> str | None:
    """The agency whose reply topic ``topic`` is (only that principal may write there)."""
    match = replies_pattern(settings).match(topic)
    return match.group(1) if match else None


def agency_group(agency_id: str, purpose: str = "inbox") -> str:
    return f"{agency_id}.{purpose}"


def hub_group(purpose: str = "replies") -> str:
    return f"hub.{purpose}"
