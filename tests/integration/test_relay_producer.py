"""The relay's librdkafka producer against the real broker: what it sends arrives in order,
and what the broker refuses, or a broker that is not there, fails as one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.errors import KafkaError
from pydantic import SecretStr

from hub import kafka_clients, topics
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from producers.relay import make_producer
from tests.faults.support import private_ports
from tests.integration.streams import provisioned, store_settings
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

A = "yahatanishi.houkatsu"
B = "yahatanishi.hogo"


@pytest.fixture
def tenant(kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path) -> Settings:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [A, B])
    return settings


def test_records_sent_then_flushed_arrive_in_order_with_their_headers(tenant: Settings) -> None:
    producer = make_producer(tenant)
    topic = topics.referrals(tenant, A)
    try:
        for n in range(300):
            producer.send(
                topic, key=b"case", value=f"試験-{n}".encode(), headers=[("n", b"%d" % n)]
            )
        producer.flush()
    finally:
        producer.close()
    got = read_raw(tenant, topic, None)
    assert [(r.value or b"").decode() for r in got] == [f"試験-{n}" for n in range(300)]
    assert [r.headers["n"] for r in got] == [str(n) for n in range(300)]


def test_a_topic_the_principal_may_not_write_fails_the_flush(tenant: Settings) -> None:
    # An agency's principal writes only its replies and dead letters, never a referral topic.
    producer = kafka_clients.fast_producer(tenant, A, client_id="test-refused")
    try:
        producer.send(topics.referrals(tenant, B), key=b"case", value=b"forged")
        with pytest.raises(KafkaError, match="not acknowledged"):
            producer.flush(30)
        producer.flush(5)  # the failure was reported once; nothing is left waiting
    finally:
        producer.close(5)
    assert read_raw(tenant, topics.referrals(tenant, B), None) == []


def test_no_broker_is_one_clear_error_at_once(tenant: Settings) -> None:
    nowhere = tenant.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{private_ports(1)}"})
    with pytest.raises(
        ServiceUnavailableError, match=r"connecting to 127\.0\.0\.1:\d+ as .* failed"
    ):
        make_producer(nowhere)


def test_the_wrong_password_is_refused_at_once(tenant: Settings) -> None:
    wrong = tenant.model_copy(
        update={"provisioning_secret": SecretStr("試験-wrong-secret-" + "x" * 32)}
    )
    with pytest.raises(ServiceUnavailableError, match="failed"):
        make_producer(wrong)
