"""The agency client and the reply ingester over the real broker, as their own principals."""

from __future__ import annotations

import json
import os
import subprocess
from uuid import uuid4

import pytest

from consumers.config import ConsumerSettings
from consumers.kafka_io import (
    KafkaSource,
    KafkaWriter,
    fixed_topics,
)
from consumers.replies import ReplyIngester
from consumers.stopping import StopFlag
from hub import topics
from hub.application import HubApplication
from hub.errors import ServiceUnavailableError
from hub.kafka_clients import credentials
from ops.cli.agency import send_answer
from ops.wiring import open_agency_consumer, open_reply_ingester
from tests.agency_support import (
    AGENCY,
    OTHER_AGENCY,
    cli_env,
    hub_cli,
    provisioned,
    publish_like_relay,
    read_topic,
    refer,
    relay_records_of,
    relay_writer,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(kafka_broker, settings):  # type: ignore[no-untyped-def]
    return provisioned(settings)


def ingester(app: HubApplication, settings) -> ReplyIngester:  # type: ignore[no-untyped-def]
    return open_reply_ingester(settings, app)


def run_agency_once(settings, tmp_path, agency: str = AGENCY):  # type: ignore[no-untyped-def]
    consumer = open_agency_consumer(
        settings, agency, ConsumerSettings(agency_inbox_path=tmp_path / f"{agency}.sqlite")
    )
    try:
        consumer.run(StopFlag(), once=True)
    finally:
        consumer.source.close()
        consumer.deadletters.close()
    return consumer


def test_a_referral_reaches_the_inbox_and_the_answer_comes_back_as_a_hub_event(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    app = HubApplication(env=sqlite_env)
    case_id, referral_id = refer(app)
    publish_like_relay(app, broker, relay_records_of(app, AGENCY))

    consumer = run_agency_once(broker, tmp_path)
    (referral,) = consumer.inbox.referrals()
    assert (referral["referral_id"], referral["status"]) == (str(referral_id), "sent")
    assert (referral["urgency"], referral["basis"], referral["missing_basis"]) == (
        "urgent",
        "none",
        "consent",
    )

    send_answer(consumer.inbox, broker, AGENCY, str(referral_id)[:8], "accepted", None)
    hub_side = ingester(app, broker)
    hub_side.run(StopFlag(), once=True)
    hub_side.source.close()
    hub_side.deadletters.close()
    assert hub_side.report.applied == 1
    assert app.get_case(case_id).referrals[referral_id].status == "accepted"

    # The hub's ReferralAnswered travels back on the agency's topic and updates its inbox.
    publish_like_relay(app, broker, relay_records_of(app, AGENCY)[1:])
    consumer = run_agency_once(broker, tmp_path)
    (referral,) = consumer.inbox.referrals()
    assert referral["status"] == "accepted"
    assert [r["answer"] for r in referral["replies_sent"]] == ["accepted"]
    consumer.inbox.close()


def test_a_new_inbox_reads_the_topic_from_its_start_whatever_the_group_committed(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """An agency that moves its inbox (another file, or HUB_AGENCY_INBOX_STORE=postgres)
    keeps its consumer group: the new inbox resumed at the offsets the old one committed
    and silently held none of the referrals sent before the move."""
    app = HubApplication(env=sqlite_env)
    _case_id, referral_id = refer(app)
    publish_like_relay(app, broker, relay_records_of(app, AGENCY))
    first = run_agency_once(broker, tmp_path / "old")
    assert [r["referral_id"] for r in first.inbox.referrals()] == [str(referral_id)]
    first.inbox.close()

    moved = run_agency_once(broker, tmp_path / "new")  # the same group, an empty inbox

    assert [r["referral_id"] for r in moved.inbox.referrals()] == [str(referral_id)]
    moved.inbox.close()
    resumed = run_agency_once(broker, tmp_path / "new")  # not empty now: resumes as before
    assert (resumed.report.applied, resumed.report.duplicates) == (0, 0)
    resumed.inbox.close()


def test_a_new_inbox_stopped_after_its_first_record_resumes_from_the_start_not_the_old_offsets(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A moved inbox that applied one record and stopped (a crash) before committing its
    offset is no longer empty: it resumed at the offsets the old inbox committed, and the
    records between were never applied. Its start was committed before it applied anything,
    so it reads again from there (the record it holds, a duplicate, then the rest)."""
    app = HubApplication(env=sqlite_env)
    referrals = [refer(app)[1], refer(app)[1]]
    publish_like_relay(app, broker, relay_records_of(app, AGENCY))
    run_agency_once(broker, tmp_path / "old").inbox.close()

    store = ConsumerSettings(agency_inbox_path=tmp_path / "new" / f"{AGENCY}.sqlite")
    crashed = open_agency_consumer(broker, AGENCY, store)
    records: list = []
    for _ in range(20):  # the first poll may come back empty while the seek resolves
        records = crashed.source.poll()
        if records:
            break
    with crashed.inbox.batch():
        assert crashed.handle(records[0]) == "applied"
    crashed.close()  # no offset committed: the crash

    resumed = run_agency_once(broker, tmp_path / "new")
    held = sorted(r["referral_id"] for r in resumed.inbox.referrals())
    assert held == sorted(str(r) for r in referrals)
    resumed.inbox.close()


def test_an_inbox_moved_back_into_use_reads_what_was_sent_while_another_held_the_group(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """An agency moves its inbox to a new store, then back to the old one (a restored copy,
    a change undone): the old inbox goes on from the last record it holds, not from the
    offsets the other one committed, and misses none of the referrals sent meanwhile."""
    app = HubApplication(env=sqlite_env)
    first = refer(app)[1]
    publish_like_relay(app, broker, relay_records_of(app, AGENCY))
    run_agency_once(broker, tmp_path / "old").inbox.close()
    seen = app.recorder.max_notification_id() or 0
    second = refer(app)[1]
    publish_like_relay(app, broker, relay_records_of(app, AGENCY, after=seen))
    moved = run_agency_once(broker, tmp_path / "new")
    assert len(moved.inbox.referrals()) == 2  # the new store read the topic from its start
    moved.inbox.close()

    back = run_agency_once(broker, tmp_path / "old")

    held = sorted(r["referral_id"] for r in back.inbox.referrals())
    assert held == sorted([str(first), str(second)])
    assert back.report.duplicates == 0  # from where it stopped, not the topic's start
    back.inbox.close()
    again = run_agency_once(broker, tmp_path / "old")  # and resumes after it, as before
    assert (again.report.applied, again.report.duplicates) == (0, 0)
    again.inbox.close()


def test_wrong_agency_and_illegal_answers_are_refused_onto_the_replies_dead_letter_topic(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    app = HubApplication(env=sqlite_env)
    case_id, referral_id = refer(app)
    publish_like_relay(app, broker, relay_records_of(app, AGENCY))
    consumer = run_agency_once(broker, tmp_path)
    send_answer(consumer.inbox, broker, AGENCY, str(referral_id), "declined", "定員超過")
    send_answer(consumer.inbox, broker, AGENCY, str(referral_id), "completed", None, force=True)
    # Another agency answers on its own topic for a referral it never received.
    send_answer(
        consumer.inbox, broker, OTHER_AGENCY, str(referral_id), "accepted", None, force=True
    )
    consumer.inbox.close()

    hub_side = ingester(app, broker)
    hub_side.run(StopFlag(), once=True)
    hub_side.source.close()
    hub_side.deadletters.close()

    assert (hub_side.report.applied, hub_side.report.rejected) == (1, 2)
    assert app.get_case(case_id).referrals[referral_id].status == "declined"
    parked = read_topic(broker, topics.deadletter(broker, "replies"))
    reasons = sorted(dict(r.headers)["dlq_reason"].decode().split(":")[0] for r in parked)
    assert reasons == ["IllegalTransitionError", "NotReferredAgencyError"]
    assert {dict(r.headers)["dlq_source_topic"].decode() for r in parked} == {
        topics.replies(broker, AGENCY),
        topics.replies(broker, OTHER_AGENCY),
    }


def test_an_agency_cannot_write_on_another_agencys_reply_topic(broker) -> None:  # type: ignore[no-untyped-def]
    writer = KafkaWriter(broker, *credentials(broker, OTHER_AGENCY))
    try:
        with pytest.raises(ServiceUnavailableError, match="TopicAuthorizationFailed"):
            writer.send(topics.replies(broker, AGENCY), b"forged")
    finally:
        writer.close()


def test_an_agency_cannot_read_another_agencys_referrals(broker) -> None:  # type: ignore[no-untyped-def]
    user, password = credentials(broker, OTHER_AGENCY)
    source = KafkaSource(
        broker,
        user,
        password,
        topics.agency_group(broker, OTHER_AGENCY),
        fixed_topics(topics.referrals(broker, AGENCY)),
    )
    try:
        assert source.topics == set()
    finally:
        source.close()


def test_random_bytes_and_truncated_avro_are_parked_on_the_agency_dead_letter_topic(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    app = HubApplication(env=sqlite_env)
    refer(app)
    good = relay_records_of(app, AGENCY)[0]
    writer = relay_writer(broker)
    target = topics.referrals(broker, AGENCY)
    try:
        writer.send(target, os.urandom(64), headers=[("event_id", str(uuid4()).encode())])
        writer.send(target, (good.value or b"")[:20], headers=list(good.headers.items()))
        writer.send(target, good.value, key=good.key, headers=list(good.headers.items()))
    finally:
        writer.close()

    consumer = run_agency_once(broker, tmp_path)

    assert (consumer.report.applied, consumer.report.parked) == (1, 2)
    consumer.inbox.close()
    parked = read_topic(broker, topics.deadletter(broker, AGENCY))
    assert [dict(r.headers)["dlq_offset"] for r in parked] == [b"0", b"1"]
    assert all(dict(r.headers)["dlq_source_topic"] == target.encode() for r in parked)
    assert dict(parked[1].headers)["dlq_reason"].startswith(b"undecodable: truncated")
    assert parked[1].value == (good.value or b"")[:20]


def test_hub_quarantine_list_shows_the_replies_the_ingester_refused(
    broker, sqlite_env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    app = HubApplication(env=sqlite_env)
    _, referral_id = refer(app)
    publish_like_relay(app, broker, relay_records_of(app, AGENCY))
    consumer = run_agency_once(broker, tmp_path)
    send_answer(consumer.inbox, broker, AGENCY, str(referral_id), "completed", None, force=True)
    consumer.inbox.close()
    hub_side = ingester(app, broker)
    hub_side.run(StopFlag(), once=True)
    hub_side.close()
    assert hub_side.report.rejected == 1

    env = cli_env(broker, HUB_SQLITE_PATH=sqlite_env["SQLITE_DBNAME"], HUB_STORE="sqlite")
    for args in (["--step", "replies"], []):  # by name, and among every step by default
        listed = subprocess.run(
            hub_cli("quarantine", "list", "--json", *args),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        (refused,) = [r for r in rows if r["step"] == "replies"]
        assert refused["reason"].startswith("IllegalTransitionError")
        assert refused["where"].startswith(f"{topics.replies(broker, AGENCY)}[0]@")
        assert refused["event_type"] == "ReferralReply"
