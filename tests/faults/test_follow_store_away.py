"""A live `hub follow` on PostgreSQL rides out the database going away and coming back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from hub.application import HubApplication
from projections.runner import open_projection, rebuild
from tests import factories as f
from tests.faults.private_postgres import PrivatePostgres, private_postgres

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE_S = 120.0


@pytest.fixture
def server(postgres_service: object) -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        yield pg


def _position(env: dict[str, str]) -> int:
    return open_projection("case_state", env).view.max_tracking_id("hub") or 0


def _wait_for(predicate: object, what: str, follower: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():  # type: ignore[operator]
        if follower.poll() is not None:
            _, stderr = follower.communicate()
            pytest.fail(f"hub follow exited ({follower.returncode}): {stderr.decode()[-1500:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_a_live_follower_waits_for_the_store_and_resumes_where_it_stopped(
    server: PrivatePostgres,
) -> None:
    settings = server.settings
    env = {**settings.eventsourcing_env("postgres"), "POSTGRES_CONNECT_TIMEOUT": "1"}
    app = HubApplication(env=env)
    for _ in range(3):
        app.execute(f.consultation())
    app.close()
    child_env = {
        **os.environ,
        "HUB_STORE": "postgres",
        "HUB_POSTGRES_PORT": str(server.port),
    }
    follower = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "follow", "--projection", "case_state"],
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: _position(env) > 0, "the first catch-up", follower)
        server.stop()
        time.sleep(3)
        assert follower.poll() is None, "hub follow died with the store"
        server.start()
        app = HubApplication(env=env)
        for _ in range(3):
            app.execute(f.consultation())
        last = app.recorder.max_notification_id() or 0
        _wait_for(lambda: _position(env) >= last, "the follower to resume", follower)
        live = open_projection("case_state", env).view.dump()
        rebuild(open_projection("case_state", env), app)
        assert open_projection("case_state", env).view.dump() == live
        app.close()
    finally:
        follower.terminate()
        _, stderr = follower.communicate(timeout=60)
    assert follower.returncode == 0, stderr.decode(errors="replace")[-2000:]
