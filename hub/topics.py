"""Topic, group and principal names of docs/STREAMS.md, under ``Settings.kafka_topic_prefix``.

A prefix is a tenant: its topics, its consumer groups and its principals all carry it, so the
prefixed ACLs of one tenant reach none of another's. Shared by the relay (producers) and the
agency side (consumers), so both name things alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hub.errors import ConfigurationError
from hub.principals import SERVICE_PRINCIPALS
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


def holds_personal_data(settings: Settings, topic: str) -> bool:
    """Whether ``topic`` may carry a person's details: an agency's referrals (fields released
    on a basis), its replies (free-text reasons) and every dead-letter topic (copies of
    records). ``audit.consent`` and ``analytics.events`` never do (docs/STREAMS.md)."""
    local = topic.removeprefix(settings.kafka_topic_prefix)
    return local.startswith(("referrals.", "replies.", "deadletter."))


def topic_configs(settings: Settings, topic: str) -> dict[str, str]:
    """The configuration a topic is created with: a retention limit on personal data; the
    audit and analytics streams kept whole (left to the broker's default, 7 days, they lost
    the consent history auditors replay and the year analysts rebuild table ④ from)."""
    if not holds_personal_data(settings, topic):
        return {"retention.ms": "-1"}
    days = settings.personal_topic_retention_days
    return {"retention.ms": str(days * 24 * 60 * 60 * 1000)}


def replies_pattern(settings: Settings) -> re.Pattern[str]:
    """Matches every agency's reply topic; group 1 is the agency id."""
    prefix = re.escape(settings.kafka_topic_prefix)
    return re.compile(rf"^{prefix}replies\.([a-z0-9][a-z0-9._-]*)$")


def agency_of_reply_topic(settings: Settings, topic: str) -> str | None:
    """The agency whose reply topic ``topic`` is (only that principal may write there)."""
    match = replies_pattern(settings).match(topic)
    return match.group(1) if match else None


def principal(settings: Settings, who: str) -> str:
    """The tenant's SCRAM user for ``who`` (an agency id, relay, hub, auditor or analyst)."""
    return f"{settings.kafka_topic_prefix}{who}"


def agency_group(settings: Settings, agency_id: str, purpose: str = "inbox") -> str:
    return f"{principal(settings, agency_id)}.{purpose}"


def hub_group(settings: Settings, purpose: str = "replies") -> str:
    return f"{principal(settings, 'hub')}.{purpose}"


# Words a prefix segment must not be: the contract's topic families and service principals.
# With them (and agency ids) out of every prefix, one tenant's prefixed patterns (topics
# ``referrals.``, groups ``hub.``, ``<agency>.``) and principal names never reach another's.
RESERVED_SEGMENTS = frozenset(
    {"referrals", "replies", "deadletter", "audit", "analytics"} | set(SERVICE_PRINCIPALS)
)
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def check_prefix(settings: Settings) -> None:
    """Refuses a prefix that could overlap another tenant's names (ConfigurationError)."""
    prefix = settings.kafka_topic_prefix
    if not prefix:
        return
    if not prefix.endswith("."):
        raise ConfigurationError(f"HUB_KAFKA_TOPIC_PREFIX {prefix!r} must end with '.'")
    taken = RESERVED_SEGMENTS | {
        part for agency in load_network().agencies for part in agency.id.split(".")
    }
    for segment in prefix[:-1].split("."):
        if not _SEGMENT.match(segment) or segment in taken:
            raise ConfigurationError(
                f"HUB_KAFKA_TOPIC_PREFIX {prefix!r}: segment {segment!r} is empty, not "
                "[A-Za-z0-9_-], or a topic family, service or agency name; choose another"
            )
