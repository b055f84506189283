"""A follower waiting for the log is woken by a commit of another process, on both stores.

The timeouts are far longer than the test: a wait that returns before its timeout was
woken by the commit (or by ``stop``), not by the clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from hub.application import HubApplication
from hub.log_waits import PostgresNotifies, SQLiteCommits, log_wait
from hub.settings import Settings
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


def test_a_commit_before_the_first_wait_is_not_lost(
    apps: tuple[HubApplication, HubApplication],
) -> None:
    # A follower builds its wait, reads the log, then waits: what is committed in between
    # must end that wait (PostgreSQL listens from the wait's construction).
    follower, writer = apps
    waiting = log_wait(follower.recorder)
    try:
        writer.execute(f.consultation())
        assert _waited(waiting, threading.Event(), LONG_S) < LONG_S / 2
    finally:
        waiting.close()


def test_the_postgres_wait_listens_again_after_the_server_dropped_it(
    pg_env: dict[str, str], settings: Settings
) -> None:
    follower, writer = HubApplication(env=pg_env), HubApplication(env=pg_env)
    waiting = log_wait(follower.recorder)
    assert isinstance(waiting, PostgresNotifies)
    try:
        stop = threading.Event()
        assert waiting._connection is not None
        listener = waiting._connection.info.backend_pid
        with psycopg.connect(**settings.postgres_connection(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (listener,))
        # The lost connection fails this wait, which the clock then bounds...
        assert _waited(waiting, stop, 0.3) >= 0.3
        # ...and the next one listens anew and returns at once: the caller reads again.
        assert _waited(waiting, stop, LONG_S) < LONG_S / 2
        assert waiting._connection is not None
        assert waiting._connection.info.backend_pid != listener
        threading.Timer(0.3, lambda: writer.execute(f.consultation())).start()
        assert _waited(waiting, stop, LONG_S) < LONG_S / 2
    finally:
        waiting.close()
        follower.close()
        writer.close()
