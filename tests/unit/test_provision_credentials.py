"""Provisioning returns only once the broker lists every principal's SCRAM credentials: a
client signing in before (the relay, right after `hub demo` provisioned) was refused and
retried, and librdkafka printed an authentication error on the terminal each time."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import ServiceUnavailableError
from producers import provision


class _LaggingBroker:
    """An admin client whose broker lists a credential only after ``lag`` describes."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.calls = 0

    def describe_user_scram_credentials(self, users: list[str]) -> dict[str, Any]:
        self.calls += 1
        listed = self.calls > self.lag
        infos = [{"mechanism": "SCRAM-SHA-512", "iterations": 4096}] if listed else []
        return {
            user: {"error": None if listed else "not found", "credential_infos": infos}
            for user in users
        }


def test_provisioning_waits_until_the_broker_lists_the_credentials() -> None:
    broker = _LaggingBroker(lag=3)
    provision._await_credentials(broker, ["t.relay", "t.moji.houkatsu"])
    assert broker.calls == 4


def test_a_broker_that_never_lists_them_is_a_named_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(provision, "CREDENTIALS_WAIT_S", 0.2)
    with pytest.raises(ServiceUnavailableError, match=r"t\.relay"):
        provision._await_credentials(_LaggingBroker(lag=10**9), ["t.relay"])
