"""A projection process killed with SIGKILL mid-run and restarted neither loses nor
double-counts: its position is stored in the same transaction as its change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.application import HubApplication
from projections import report
from projections.indicators import Cut
from projections.runner import open_projection, rebuild
from tests import factories as f
from tests.integration.test_projections import memory_fold

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VISITS = 120


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_env"
    return dict(request.getfixturevalue(name))


def hub_env(env: dict[str, str]) -> dict[str, str]:
    """The HUB_ settings a subprocess needs to open the same store."""
    result = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    result["HUB_MODE"] = "development"
    if env["PERSISTENCE_MODULE"].endswith("sqlite"):
        result.update(HUB_STORE="sqlite", HUB_SQLITE_PATH=env["SQLITE_DBNAME"])
    else:
        result.update(HUB_STORE="postgres", HUB_POSTGRES_SCHEMA=env.get("POSTGRES_SCHEMA", ""))
    return result


def hub(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ops.cli.main import run; run()", *args]


def test_a_killed_and_restarted_projection_neither_loses_nor_double_counts(
    env: dict[str, str],
) -> None:
    app = HubApplication(env=env)
    case_id = app.execute(f.consultation()).aggregate_ids[0]
    for i in range(VISITS):
        app.execute(f.visit(case_id, occurred_at=f.at(i / 10)))
    last = app.recorder.max_notification_id()
    assert last is not None
    view = open_projection("indicators", env).view

    follower = subprocess.Popen(
        hub("follow", "--projection", "indicators", "--batch-size", "1"),
        cwd=ROOT,
        env=hub_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while (view.max_tracking_id(app.name) or 0) < 30 and follower.poll() is None:
            assert time.monotonic() < deadline, "the follower never started"
            time.sleep(0.02)
        follower.send_signal(signal.SIGKILL)
    finally:
        follower.kill()
        _, stderr = follower.communicate(timeout=30)
    killed_at = view.max_tracking_id(app.name) or 0
    assert killed_at > 0, stderr.decode()
    assert killed_at < last, "the follower finished before it could be killed"

    restarted = subprocess.run(
        hub("follow", "--projection", "indicators", "--once"),
        cwd=ROOT,
        env=hub_env(env),
        capture_output=True,
        check=False,
    )
    assert restarted.returncode == 0, restarted.stderr.decode()
    assert view.max_tracking_id(app.name) == last

    cut = Cut.of(2025)
    values = {r.indicator: r.value for r in report.from_view(view, cut)}
    assert values["伴走型支援の訪問件数"] == VISITS
    assert values["包括的相談支援事業における相談受付件数"] == 1
    assert report.from_view(view, cut, "month") == report.from_memory(
        memory_fold(app), cut, "month"
    )

    restored = view.dump()
    projection = open_projection("indicators", env)
    rebuild(projection, app)
    assert projection.view.dump() == restored
