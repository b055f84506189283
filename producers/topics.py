"""Topic names of STREAMS.md, under the optional ``Settings.kafka_topic_prefix``."""

from __future__ import annotations

from collections.abc import Iterable

from hub.reference import load_network
from hub.settings import Settings

AUDIT = "audit.consent"
ANALYTICS = "analytics.events"
REPLIES_DEADLETTER = "deadletter.replies"


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
    found = [audit(settings), analytics(settings), name(settings, REPLIES_DEADLETTER)]
    for agency_id in ids:
        found += [
            referrals(settings, agency_id),
            replies(settings, agency_id),
            deadletter(settings, agency_id),
        ]
    return found
