"""A follower waiting for the log is woken by a commit of another process, on both stores.

The timeouts are far longer than the test: a wait that returns before its timeout was
woken by the commit (or by ``stop``), not by the clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from hub.application import HubApplication
from hub.log_waits import PostgresNotifies, SQLiteCommits, log_wait
from tests import factories as f

pytestmark = pytest.mark.integration

LONG_S = 60.0


@pytest.fixture(params=["sqlite", "pg"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    return request.getfixturevalue(f"{request.param}_env")


@pytest.fixture
def apps(env: dict[str, str]) -> Iterator[tuple[HubApplication, HubApplication]]:
    """A follower's application and a writer's, as two processes would have."""
    follower, writer = HubApplication(env=env), HubApplication(env=env)
    yield follower, writer
    follower.close()
    writer.close()


def _waited(wait: object, stop: threading.Event, timeout: float) -> float:
    started = time.monotonic()
    wait.wait(stop, timeout)  # type: ignore[attr-defined]
    return time.monotonic() - started


def test_a_commit_of_another_application_ends_the_wait(
    apps: tuple[HubApplication, HubApplication],
) -> None:
    follower, writer = apps
    waiting = log_wait(follower.recorder)
    assert isinstance(waiting, SQLiteCommits | PostgresNotifies)
    try:
        stop = threading.Event()
        assert _waited(waiting, stop, 0.2) >= 0.2  # nothing written: the clock ends it
        threading.Timer(0.3, lambda: writer.execute(f.consultation())).start()
        assert _waited(waiting, stop, LONG_S) < LONG_S / 2
        last = follower.recorder.max_notification_id()
        assert last is not None and last > 0
    finally:
        waiting.close()


def test_stop_ends_the_wait(apps: tuple[HubApplication, HubApplication]) -> None:
    follower, _writer = apps
    waiting = log_wait(follower.recorder)
    try:
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        assert _waited(waiting, stop, LONG_S) < LONG_S / 2
    finally:
        waiting.close()


def test_the_postgres_wait_listens_again_after_its_connection_is_lost(
    pg_env: dict[str, str],
) -> None:
    follower, writer = HubApplication(env=pg_env), HubApplication(env=pg_env)
    waiting = log_wait(follower.recorder)
    assert isinstance(waiting, PostgresNotifies)
    try:
        stop = threading.Event()
        waiting.wait(stop, 0.05)  # listening now
        assert waiting._connection is not None
        waiting._connection.close()  # as when PostgreSQL restarts
        assert _waited(waiting, stop, 0.2) >= 0.2  # the clock bounds the failed wait
        waiting.wait(stop, 0.05)  # listens again
        threading.Timer(0.3, lambda: writer.execute(f.consultation())).start()
        assert _waited(waiting, stop, LONG_S) < LONG_S / 2
    finally:
        waiting.close()
        follower.close()
        writer.close()
