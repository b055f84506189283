"""Before the relay publishes: do its topics hold what its stored position says they hold?

Every batch the relay publishes begins with the chain's head on ``audit.consent``
(producers/witness.py), so a stored position above 0 with that topic missing or empty means
the broker was wiped or the prefix is new; going on from the stored position would skip every
earlier event without a word. (``analytics.events`` would not do: the network events a new
store begins with go to the auditors only.)
"""

from __future__ import annotations

from kafka import TopicPartition
from kafka.errors import KafkaError

from hub import kafka_clients, topics
from hub.errors import RelayPositionAheadError, ServiceUnavailableError
from hub.settings import Settings


def published_records(settings: Settings, principal: str = "relay") -> int | None:
    """Records ever written to the tenant's audit topic (None: no such topic)."""
    topic = topics.audit(settings)
    consumer = kafka_clients.consumer(
        settings, principal, client_id="hub-relay-check", group_id=None, enable_auto_commit=False
    )
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            return None
        partitions = [TopicPartition(topic, n) for n in numbers]
        return sum(consumer.end_offsets(partitions).values())
    except KafkaError as error:
        raise ServiceUnavailableError(
            f"cannot read the end of {topic} as {topics.principal(settings, principal)} "
            f"({type(error).__name__})"
        ) from error
    finally:
        consumer.close()


def check_streams_hold(settings: Settings, position: int, principal: str = "relay") -> None:
    """Refuses (``RelayPositionAheadError``) a stored position that the topics do not reflect."""
    if position <= 0:
        return
    found = published_records(settings, principal)
    if found:
        return
    topic = topics.audit(settings)
    state = "does not exist" if found is None else "is empty"
    prefix = settings.kafka_topic_prefix or "(none)"
    raise RelayPositionAheadError(
        f"RelayPositionAheadError: the relay's stored position for prefix {prefix} is "
        f"{position} but {topic} {state} (a wiped broker or a new prefix?); it would skip "
        "every event up to there. Point "
        "HUB_KAFKA_TOPIC_PREFIX at the prefix that holds them, or publish the whole log again "
        "under a new prefix (its position starts at 0): HUB_KAFKA_TOPIC_PREFIX=<new>. "
        "hub kafka provision && hub relay"
    )
