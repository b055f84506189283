"""Consumers wait through a broker outage instead of dying, within a bounded patience."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAuthorizationFailedError

from consumers.kafka_io import waiting_out_outages
from hub import kafka_clients
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from tests.ports import free_port


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


@pytest.mark.parametrize("make", [kafka_clients.consumer, kafka_clients.admin])
def test_a_client_that_cannot_connect_leaves_no_thread_behind(make: Any) -> None:
    """kafka-python starts a client's I/O thread before it bootstraps; a failed bootstrap
    must stop it, or every try made while a broker is away leaves one running for good."""
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")  # nothing listens there
    before = set(threading.enumerate())
    with pytest.raises(ServiceUnavailableError, match="Kafka: connecting to"):
        make(settings, bootstrap_timeout_ms=300)
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []


def test_a_broker_nothing_listens_for_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker away (or a mistyped HUB_KAFKA_BOOTSTRAP) said only 'failed
    (KafkaTimeoutError)'; a port that takes connections gets no such hint."""
    import socket

    def timed_out(**_: Any) -> None:
        raise KafkaTimeoutError("bootstrap")

    monkeypatch.setattr(kafka_clients, "login_refused", lambda *_, **__: False)
    away = Settings(mode="development", kafka_bootstrap=f"127.0.0.1:{free_port()}")
    with pytest.raises(ServiceUnavailableError) as error:
        kafka_clients._connect(timed_out, away, None, None, {})
    assert str(error.value).endswith(
        "failed (KafkaTimeoutError): nothing listens there (is the broker running? is "
        "HUB_KAFKA_BOOTSTRAP right?)"
    )
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        there = Settings(mode="development", kafka_bootstrap=f"127.0.0.1:{port}")
        with pytest.raises(ServiceUnavailableError) as error:
            kafka_clients._connect(timed_out, there, None, None, {})
    assert str(error.value).endswith("failed (KafkaTimeoutError)")
