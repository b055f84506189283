"""A relay process killed with SIGKILL while it publishes, then restarted, loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.domain.network import NETWORK_ID
from hub.settings import Settings
from ops.wiring import open_ledger
from tests import factories as f
from tests.integration.streams import provisioned, read_topic, store_settings

pytestmark = pytest.mark.integration

AGENCY = "tobata.houkatsu"
ROOT = Path(__file__).resolve().parents[2]


def _relay_process(settings: Settings, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUB_STORE": settings.store,
        "HUB_SQLITE_PATH": str(settings.sqlite_file),
        "HUB_POSTGRES_SCHEMA": settings.postgres_schema,
        "HUB_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from ops.cli.main import run; run()", "relay", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def stream_settings(kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path) -> Settings:
    # SQLite only: the in-process crash test in test_relay.py covers both stores, and two
    # process start-ups per store would cost CI more than they tell.
    return store_settings("sqlite", sqlite_env, tmp_path)


def test_a_relay_killed_while_publishing_resumes_without_losing_an_event(
    stream_settings: Settings,
) -> None:
    settings = stream_settings
    provisioned(settings, [AGENCY])
    app = HubApplication(env=settings.eventsourcing_env())
    for _ in range(12):
        case_id = uuid4()
        app.execute(f.open_case(case_id=case_id, ward="tobata", person=f.person()))
        app.execute(f.referral(case_id, AGENCY, referral_id=uuid4()))
        app.execute(f.build(c.RecordPersonDetails, case_id=case_id, person=f.person()))
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    last = notifications[-1].id

    ledger = open_ledger(settings)
    first = _relay_process(settings, "--batch-size", "2")
    try:
        deadline = time.monotonic() + 60
        while ledger.position() == 0 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert ledger.position() > 0

    second = _relay_process(settings, "--once", "--batch-size", "50")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output.decode(errors="replace")[-2000:]
    assert f"position={last}" in output.decode()

    analytics = read_topic(settings, topics.analytics(settings))
    assert {int(r.headers["position"]) for r in analytics} == {
        n.id for n in notifications if n.originator_id != NETWORK_ID
    }
    agency = read_topic(settings, topics.referrals(settings, AGENCY))
    details = {r.headers["event_id"] for r in agency if r.schema == "PersonDetailsRecorded"}
    assert len(details) == 12
    assert ledger.position() == last
