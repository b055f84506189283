"""A refused password is named for the client the broker refused, never for another client
of the process whose broker was simply away (a first version counted kafka-python's logged
refusals process-wide). Real broker; the "away" one is a closed loopback port."""

from __future__ import annotations

import threading

import pytest

from hub import kafka_clients
from hub.errors import ServiceUnavailableError
from hub.settings import Settings

pytestmark = pytest.mark.integration


def test_a_broker_away_is_not_reported_as_a_refused_password_while_another_client_is_refused(
    kafka_broker, settings: Settings
) -> None:
    away = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:9"})  # nothing listens
    errors: dict[str, str] = {}

    def refused() -> None:  # the real broker, a wrong password: refused, retried until 6 s
        try:
            kafka_clients.consumer(
                settings,
                settings.kafka_user,
                password="not-the-password",
                bootstrap_timeout_ms=6000,
            )
        except ServiceUnavailableError as error:
            errors["refused"] = str(error)

    thread = threading.Thread(target=refused)
    thread.start()
    try:
        with pytest.raises(ServiceUnavailableError) as nothing_answered:
            kafka_clients.consumer(away, settings.kafka_user, bootstrap_timeout_ms=3000)
    finally:
        thread.join()
    assert "the broker refused" in errors["refused"]
    # Nothing listens on 127.0.0.1:9: no broker refused anything there.
    assert "refused" not in str(nothing_answered.value), str(nothing_answered.value)
