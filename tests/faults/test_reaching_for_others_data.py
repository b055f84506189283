"""Reaching for others' data, with SCRAM and the ACLs of `hub kafka provision` on the real
broker: every one of the 76 agencies is denied reading another agency's referrals and writing
another agency's replies (each agency is tried as reader and as victim, the pairs a seeded
derangement plus a seeded random one); analysts, auditors and the hub stay in their streams.

Every denial is checked against a control: the same principal, same connection, is allowed
its own topic, so a denial cannot come from a wrong password or a missing topic.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from hub import topics
from hub.kafka_config import client_config, principal_config
from hub.reference import load_network
from hub.settings import Settings
from producers.provision import provision

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = 20261130
AGENCIES = sorted(a.id for a in load_network().agencies)
ACL_PROPAGATION_S = 60.0


@pytest.fixture(scope="module")
def network(kafka_broker: object) -> Settings:
    settings = Settings(kafka_topic_prefix=f"acl{uuid4().hex[:8]}.")
    provision(settings, AGENCIES)
    admin = KafkaProducer(**client_config(settings))
    try:  # something worth stealing on every agency's topic
        for agency in AGENCIES:
            admin.send(topics.referrals(settings, agency), b"secret")
        admin.flush()
    finally:
        admin.close()
    return settings


def victims_of(index: int, rng: random.Random) -> list[str]:
    n = len(AGENCIES)
    return [AGENCIES[(index + 1) % n], AGENCIES[(index + rng.randint(2, n - 1)) % n]]


class Principal:
    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        config = principal_config(settings, name)
        self.consumer = KafkaConsumer(**config, group_id=None, enable_auto_commit=False)
        self.producer = KafkaProducer(
            **config, acks="all", max_block_ms=10_000, enable_idempotence=False
        )

    def close(self) -> None:
        self.consumer.close()
        self.producer.close(timeout=5)

    def end_offset(self, topic: str) -> int:
        partition = TopicPartition(topic, 0)
        self.consumer.assign([partition])  # asks for the topic's metadata, as a reader would
        return int(self.consumer.end_offsets([partition])[partition])

    def can_read(self, topic: str) -> bool:
        try:
            self.end_offset(topic)
        except TopicAuthorizationFailedError:
            return False
        return True

    def can_write(self, topic: str) -> bool:
        try:
            self.producer.send(topic, b"forged").get(timeout=10)
        except TopicAuthorizationFailedError:
            return False
        return True

    def wait_allowed(self, topic: str) -> None:
        """ACLs reach the authorizer shortly after provisioning: wait for the control."""
        deadline = time.monotonic() + ACL_PROPAGATION_S
        while not self.can_read(topic):
            assert time.monotonic() < deadline, f"{self.name} never got to read {topic}"
            time.sleep(0.2)


@pytest.fixture
def principal(network: Settings) -> Iterator[Any]:
    opened: list[Principal] = []

    def open_(name: str) -> Principal:
        opened.append(Principal(network, name))
        return opened[-1]

    yield open_
    for p in opened:
        p.close()


def test_no_agency_reads_another_agencys_referrals_or_writes_its_replies(
    network: Settings, principal: Any
) -> None:
    rng = random.Random(SEED)
    settings = network
    as_reader: set[str] = set()
    as_victim: set[str] = set()
    audit, analytics = topics.audit(settings), topics.analytics(settings)
    for index, agency in enumerate(AGENCIES):
        me = principal(agency)
        me.wait_allowed(topics.referrals(settings, agency))
        assert me.can_write(topics.replies(settings, agency)), f"{agency}: control failed"
        for victim in victims_of(index, rng):
            assert not me.can_read(topics.referrals(settings, victim)), f"{agency} read {victim}"
            assert not me.can_write(topics.replies(settings, victim)), (
                f"{agency} wrote a reply as {victim}"
            )
            as_victim.add(victim)
        assert not me.can_write(topics.referrals(settings, agency)), f"{agency} forged a referral"
        assert not me.can_read(audit) and not me.can_read(analytics), agency
        as_reader.add(agency)
        me.close()
    assert as_reader == as_victim == set(AGENCIES)


def test_a_reader_denied_a_topic_gets_none_of_its_records(
    network: Settings, principal: Any
) -> None:
    rng = random.Random(SEED + 1)
    for agency in rng.sample(AGENCIES, 3):
        me = principal(agency)
        me.wait_allowed(topics.referrals(network, agency))
        victim = victims_of(AGENCIES.index(agency), rng)[0]
        partition = TopicPartition(topics.referrals(network, victim), 0)
        me.consumer.assign([partition])
        me.consumer.seek_to_beginning(partition)
        assert me.consumer.poll(timeout_ms=1500) == {}, f"{agency} got {victim}'s records"


def test_analysts_auditors_and_the_hub_stay_in_their_own_streams(
    network: Settings, principal: Any
) -> None:
    settings = network
    sample = random.Random(SEED + 2).sample(AGENCIES, 8)
    referrals = [topics.referrals(settings, a) for a in sample]
    audit, analytics = topics.audit(settings), topics.analytics(settings)

    analyst = principal("analyst")
    analyst.wait_allowed(analytics)
    assert not analyst.can_read(audit)
    assert not any(analyst.can_read(t) for t in referrals), "an analyst read an agency topic"
    assert not analyst.can_write(analytics)

    auditor = principal("auditor")
    auditor.wait_allowed(audit)
    assert not auditor.can_read(analytics)
    assert not any(auditor.can_read(t) for t in referrals), "an auditor read an agency topic"

    hub = principal("hub")
    hub.wait_allowed(topics.replies(settings, sample[0]))
    assert not any(hub.can_read(t) for t in referrals), "the hub's ingester read referrals"
    assert not hub.can_write(topics.replies(settings, sample[0])), "the hub forged a reply"
