"""Consumers wait through a broker outage instead of dying, within a bounded patience."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAuthorizationFailedError

from consumers.kafka_io import waiting_out_outages
from hub.errors import ServiceUnavailableError


def test_a_call_is_retried_until_the_broker_is_back() -> None:
    failures = [KafkaConnectionError(), KafkaTimeoutError()]
    slept: list[float] = []

    def call() -> str:
        if failures:
            raise failures.pop(0)
        return "records"

    assert waiting_out_outages("poll", call, sleep=slept.append) == "records"
    assert slept == [0.5, 1.0]


def test_an_outage_longer_than_the_patience_is_one_clear_error() -> None:
    def call() -> None:
        raise KafkaConnectionError()

    with pytest.raises(ServiceUnavailableError, match="Kafka: poll failed"):
        waiting_out_outages("poll", call, patience_s=0.0, sleep=lambda _: None)


def test_a_refusal_by_the_broker_is_not_waited_out() -> None:
    def call() -> None:
        raise TopicAuthorizationFailedError()

    with pytest.raises(ServiceUnavailableError, match="TopicAuthorizationFailed"):
        waiting_out_outages("poll", call, sleep=lambda _: pytest.fail("must not wait"))
