"""The agency client as its own process: killed at random points, or stopped by a signal."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from uuid import uuid4

import pytest
from kafka import KafkaConsumer, TopicPartition

from consumers.config import ConsumerSettings
from consumers.inbox import Inbox
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag
from hub import topics
from hub.kafka_config import client_config
from ops.wiring import open_agency_consumer
from tests.agency_support import (
    AGENCY,
    OTHER_AGENCY,
    Stream,
    cli_env,
    hub_cli,
    inbox_progress,
    provisioned,
    publish_like_relay,
)

pytestmark = pytest.mark.e2e

SEED = 20260401
RECORDS = 600


def busy_stream(rng: random.Random) -> Stream:
    """Referrals, answers, escalations and bad records, interleaved at random."""
    stream = Stream()
    open_referrals = []
    while len(stream.records) < RECORDS:
        roll = rng.random()
        if roll < 0.45 or not open_referrals:
            open_referrals.append(
                stream.referral(
                    urgency=rng.choice(["routine", "soon", "urgent", "life_at_risk"]),
                    note="試験のメモ",
                    basis="consent",
                    basis_ref=str(uuid4()),
                )
            )
        elif roll < 0.85:
            case_id, referral_id = open_referrals.pop(rng.randrange(len(open_referrals)))
            stream.answered(case_id, referral_id, rng.choice(["received", "accepted"]))
        elif roll < 0.93:
            stream.raw(rng.randbytes(rng.randint(1, 80)), event_id=str(uuid4()))
        else:
            stream.referral(agency_id=OTHER_AGENCY)  # misrouted: parked
    return stream


@pytest.fixture
def broker(kafka_broker, settings):  # type: ignore[no-untyped-def]
    return provisioned(settings)


def start(broker, inbox: Path, group: str, log: Path, *extra: str) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        hub_cli("agency", "run", "--agency", AGENCY, "--group", group, *extra),
        env=cli_env(broker, HUB_AGENCY_INBOX_PATH=str(inbox)),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_for_progress(process: subprocess.Popen, inbox: Path, at_least: int) -> None:  # type: ignore[type-arg]
    while inbox_progress(inbox) < at_least and process.poll() is None:
        time.sleep(0.02)


def test_a_consumer_killed_at_random_points_ends_with_the_inbox_of_one_that_never_stopped(
    broker, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(SEED)
    stream = busy_stream(rng)
    publish_like_relay(None, broker, stream.records)

    reference = open_agency_consumer(
        broker,
        AGENCY,
        ConsumerSettings(agency_inbox_path=tmp_path / "reference.sqlite"),
        group=topics.agency_group(broker, AGENCY, "reference"),
    )
    reference.run(StopFlag(), once=True)
    reference.source.close()
    reference.deadletters.close()
    expected = reference.inbox.snapshot()
    reference.inbox.close()
    assert len(expected["events"]) > 300 and len(expected["parked"]) > 30

    inbox = tmp_path / "crashing.sqlite"
    log = tmp_path / "consumer.log"
    group = topics.agency_group(broker, AGENCY, "crashing")
    kills = sorted(rng.sample(range(1, RECORDS), 3))
    for at in kills:
        process = start(broker, inbox, group, log)
        wait_for_progress(process, inbox, at)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    final = start(broker, inbox, group, log, "--once")
    assert final.wait() == 0, log.read_text()

    survivor = Inbox(SqliteDatabase(inbox))
    assert survivor.snapshot() == expected
    survivor.close()


def committed(broker, group: str) -> int:  # type: ignore[no-untyped-def]
    consumer = KafkaConsumer(group_id=group, enable_auto_commit=False, **client_config(broker))
    try:
        return consumer.committed(TopicPartition(topics.referrals(broker, AGENCY), 0)) or 0
    finally:
        consumer.close()


def test_sigterm_stops_the_consumer_process_after_committing_what_it_applied(
    broker, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    stream = busy_stream(random.Random(SEED + 1))
    publish_like_relay(None, broker, stream.records)
    inbox, log = tmp_path / "inbox.sqlite", tmp_path / "consumer.log"
    group = topics.agency_group(broker, AGENCY, "graceful")

    process = start(broker, inbox, group, log)
    wait_for_progress(process, inbox, RECORDS // 3)
    process.send_signal(signal.SIGTERM)

    assert process.wait() == 0, log.read_text()
    assert "stopped by signal" in log.read_text()
    assert committed(broker, group) == inbox_progress(inbox)
    assert os.path.exists(inbox)
