"""Bad records on an agency's referral topic and on reply topics: random bytes, truncated
Avro, unknown fingerprints, valid Avro with invalid content, records of the wrong kind and
replays. Each bad record is parked on the consumer's dead-letter topic with a reason; the
consumer stays alive (it applies the good record written after them); the inbox and the log
of record change only by that good record; a replay changes nothing at all.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from consumers.agency import AgencyConsumer, reply_record
from consumers.kafka_io import (
    KafkaDeadLetters,
    KafkaSource,
    KafkaWriter,
    matching_topics,
)
from consumers.replies import ReplyIngester
from consumers.stopping import StopFlag
from hub import codec, topics
from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.kafka_clients import credentials
from hub.settings import Settings
from ops.wiring import open_relay
from producers.provision import provision
from tests import factories as f
from tests.factories import SYNTHETIC_STRINGS
from tests.faults import history, support
from tests.faults.history import AGENCIES
from tests.integration.streams import Received, read_topic
from tests.kafka_read import RawRecord, read_raw

pytestmark = pytest.mark.integration

SEED = 20261128
AGENCY, OTHER = AGENCIES[0], AGENCIES[1]
Headers = list[tuple[str, bytes]]


@dataclass
class Stream:
    settings: Settings
    app: HubApplication
    root: Path

    def relay(self) -> None:
        relay = open_relay(self.settings, batch_size=200)
        try:
            relay.drain()
        finally:
            relay.producer.close()
            relay.app.close()

    def write(self, topic: str, records: Sequence[tuple[bytes | None, Headers]]) -> None:
        """As the admin (a super user): the records a broken or hostile writer could send."""
        writer = KafkaWriter(
            self.settings,
            self.settings.kafka_user,
            self.settings.kafka_password.get_secret_value(),
        )
        try:
            for value, headers in records:
                writer.send(topic, value, key=b"k", headers=headers)
        finally:
            writer.close()

    def events(self, after: int = 0) -> list[Any]:
        found = self.app.recorder.select_notifications(start=after + 1, limit=100_000)
        return [self.app.mapper.to_domain_event(n) for n in found]

    def position(self) -> int:
        return self.app.recorder.max_notification_id() or 0


@pytest.fixture
def stream(kafka_broker: object, tmp_path: Path) -> Iterator[Stream]:
    settings = Settings(
        store="sqlite",
        sqlite_path=tmp_path / "hub.sqlite",
        kafka_topic_prefix=f"b{uuid4().hex[:10]}.",
    )
    provision(settings, AGENCIES)
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(SEED, 8))
    app.execute(f.referral(app_case(app), AGENCY))
    result = Stream(settings, app, tmp_path)
    result.relay()
    yield result
    app.close()


def app_case(app: HubApplication) -> Any:
    opened = f.consultation()
    app.execute(opened)
    return c.derived_id(opened.command_id, "case_id")


def bad_variants(
    rng: random.Random, good: Received, other_schema: bytes
) -> list[tuple[str, bytes | None, Headers]]:
    """(what is wrong, value, headers) for every kind of bad record, from one good one."""
    headers = [(k, v.encode()) for k, v in good.headers.items() if k != "event_id"]

    def fresh() -> Headers:
        return [("event_id", str(uuid4()).encode()), *headers]

    body = good.raw[10:]
    variants: list[tuple[str, bytes | None, Headers]] = [
        ("empty value", None, fresh()),
        ("empty bytes", b"", fresh()),
        ("only the marker", b"\xc3\x01", fresh()),
        ("unknown fingerprint", b"\xc3\x01" + rng.randbytes(8) + body, fresh()),
        ("not single-object encoded", body, fresh()),
        ("a record of the wrong kind", other_schema, fresh()),
    ]
    for n in range(6):
        variants.append((f"random bytes {n}", rng.randbytes(rng.randint(1, 300)), fresh()))
    for _ in range(6):
        cut = rng.randint(10, len(good.raw) - 1)
        variants.append((f"truncated at {cut}", good.raw[:cut], fresh()))
    return variants


def parked_by_offset(settings: Settings, topic: str) -> dict[int, RawRecord]:
    return {int(r.headers["dlq_offset"]): r for r in read_raw(settings, topic)}


def end_offset(settings: Settings, topic: str) -> int:
    return len(read_raw(settings, topic))


def assert_parked_with_reasons(
    parked: dict[int, RawRecord], sent: dict[int, tuple[str, bytes | None]], topic: str
) -> None:
    missed = [sent[o][0] for o in sorted(set(sent) - set(parked))]
    assert missed == [], f"bad records not parked: {missed}"
    assert set(parked) == set(sent), "parked records are exactly the bad ones"
    for offset, (what, value) in sent.items():
        record = parked[offset]
        assert record.headers["dlq_source_topic"] == topic
        assert record.headers["dlq_reason"].strip(), f"{what}: parked without a reason"
        assert not any(s in record.headers["dlq_reason"] for s in SYNTHETIC_STRINGS)
        assert (record.value or None) == (value or None), f"{what}: not the original bytes"


# ------------------------------------------------------------------ the agency's consumer


def agency_consumer(stream: Stream, inbox: Path) -> AgencyConsumer:
    group = topics.agency_group(stream.settings, AGENCY, "faults")
    return support.agency_consumer(
        stream.settings, AGENCY, inbox, group, poll_ms=500, max_records=200
    )


def run_once(consumer: AgencyConsumer) -> dict[str, Any]:
    try:
        consumer.run(StopFlag(), once=True)
        return consumer.inbox.snapshot()
    finally:
        consumer.source.close()
        consumer.deadletters.close()
        consumer.inbox.close()


def test_bad_records_on_an_agency_topic_are_parked_and_the_inbox_keeps_only_good_ones(
    stream: Stream,
) -> None:
    rng = random.Random(SEED)
    settings = stream.settings
    topic = topics.referrals(settings, AGENCY)
    inbox = stream.root / "inbox.sqlite"
    before = run_once(agency_consumer(stream, inbox))
    good = read_topic(settings, topic)
    made = next(r for r in good if r.schema == "ReferralMade")
    reply = reply_record(AGENCY, made.record, "received", None)
    variants = bad_variants(rng, made, codec.encode("ReferralReply", reply))

    # Valid Avro, content that must not be applied (each with its own consistent event id).
    def changed(what: str, *extra: tuple[str, bytes], **fields: Any) -> tuple[str, bytes, Headers]:
        event_id = str(uuid4())
        value = codec.encode("ReferralMade", {**made.record, "event_id": event_id, **fields})
        return (
            what,
            value,
            [("event_id", event_id.encode()), ("event_type", b"ReferralMade"), *extra],
        )

    variants += [
        changed("a case id that is no uuid", case_id="試験"),
        changed("an unknown urgency", urgency="whenever"),
        changed("a time that is no time", occurred_at="昨日"),
        changed("an unknown basis", ("basis", b"gossip")),
        ("no event id header", made.raw, [("event_type", b"ReferralMade")]),
        (
            "event id header disagreeing with the record",
            made.raw,
            [("event_id", str(uuid4()).encode()), ("event_type", b"ReferralMade")],
        ),
    ]
    start = end_offset(settings, topic)
    stream.write(topic, [(value, headers) for _, value, headers in variants])
    replays = [(r.raw, [(k, v.encode()) for k, v in r.headers.items()]) for r in good[:5]]
    stream.write(topic, replays)
    stream.app.execute(f.referral(app_case(stream.app), AGENCY))
    stream.relay()

    consumer = agency_consumer(stream, inbox)
    after = run_once(consumer)
    sent = {start + n: (what, value) for n, (what, value, _) in enumerate(variants)}
    assert_parked_with_reasons(
        parked_by_offset(settings, topics.deadletter(settings, AGENCY)), sent, topic
    )
    assert consumer.report.parked == len(variants), consumer.report
    assert consumer.report.duplicates == len(replays), "a replay was applied or parked"
    new_events = {row[0] for row in after["events"]} - {row[0] for row in before["events"]}
    latest = {r.headers.get("event_id") for r in read_raw(settings, topic)[start + len(variants) :]}
    assert new_events and new_events <= latest, "only the good record after them is new"
    old_referrals = {row[0]: row for row in before["referrals"]}
    assert [row for row in after["referrals"] if row[0] in old_referrals] == before["referrals"]


# ------------------------------------------------------------------ the hub's reply ingester


def reply_ingester(stream: Stream) -> ReplyIngester:
    settings = stream.settings
    user, password = credentials(settings, "hub")
    pattern = topics.replies_pattern(settings)
    source = KafkaSource(
        settings,
        user,
        password,
        topics.hub_group(settings, "faults"),
        matching_topics(lambda t: bool(pattern.match(t))),
    )
    deadletters = KafkaDeadLetters(
        KafkaWriter(settings, user, password),
        topics.deadletter(settings, topics.REPLIES_DEADLETTER),
    )
    return ReplyIngester(
        stream.app,
        source,
        deadletters,
        lambda t: topics.agency_of_reply_topic(settings, t),
    )


def ingest_once(stream: Stream) -> ReplyIngester:
    ingester = reply_ingester(stream)
    try:
        ingester.run(StopFlag(), once=True)
    finally:
        ingester.source.close()
        ingester.deadletters.close()
    return ingester


def reply_value(referral: ev.ReferralMade, given: str, **fields: Any) -> bytes:
    record = reply_record(
        referral.agency_id,
        {"referral_id": str(referral.referral_id), "case_id": str(referral.case_id)},
        given,
        "受け入れ枠なし" if given == "declined" else None,
        answered_at=referral.occurred_at,
    )
    return codec.encode("ReferralReply", {**record, **fields})


def test_bad_replies_are_parked_and_the_log_gains_only_the_good_answer(stream: Stream) -> None:
    rng = random.Random(SEED + 1)
    settings = stream.settings
    topic = topics.replies(settings, AGENCY)
    referrals = [e.payload for e in stream.events() if isinstance(e.payload, ev.ReferralMade)]
    ours = [r for r in referrals if r.agency_id == AGENCY]
    theirs = next(r for r in referrals if r.agency_id != AGENCY)
    assert len(ours) >= 3
    first, second, last = ours[0], ours[1], ours[-1]

    received = reply_value(first, "received")
    stream.write(topic, [(received, [("event_type", b"ReferralReply")])])
    ingest_once(stream)
    position = stream.position()

    good = read_topic(settings, topic)[0]
    variants = bad_variants(
        rng, good, read_topic(settings, topics.referrals(settings, AGENCY))[0].raw
    )
    headers: Headers = [("event_type", b"ReferralReply")]
    variants += [
        (
            "an answer signed as another agency",
            reply_value(first, "accepted", agency_id=OTHER),
            headers,
        ),
        (
            "an answer to another agency's referral",
            reply_value(theirs, "accepted", agency_id=AGENCY),
            headers,
        ),
        ("an unknown referral", reply_value(first, "accepted", referral_id=str(uuid4())), headers),
        ("an unknown case", reply_value(first, "accepted", case_id=str(uuid4())), headers),
        ("an answer out of turn", reply_value(second, "completed"), headers),
        (
            "a referral id that is no uuid",
            reply_value(first, "accepted", referral_id="試験"),
            headers,
        ),
        ("an unknown answer", reply_value(first, "accepted", answer="maybe"), headers),
        ("a date that is no date", reply_value(first, "accepted", answered_at="昨日"), headers),
        ("a decline without a reason", reply_value(first, "declined", reason=None), headers),
    ]
    start = end_offset(settings, topic)
    stream.write(topic, [(value, h) for _, value, h in variants])
    stream.write(topic, [(received, headers)] * 3)  # the same reply, replayed
    accepted = reply_value(last, "accepted")
    stream.write(topic, [(accepted, headers)])

    ingester = ingest_once(stream)
    assert ingester.report.rejected == len(variants), ingester.report
    assert ingester.report.duplicates == 3 and ingester.report.applied == 1
    sent = {start + n: (what, value) for n, (what, value, _) in enumerate(variants)}
    dead = topics.deadletter(settings, topics.REPLIES_DEADLETTER)
    assert_parked_with_reasons(parked_by_offset(settings, dead), sent, topic)
    new = [e.payload for e in stream.events(position)]
    answered = [p for p in new if isinstance(p, ev.ReferralAnswered)]
    assert [(a.referral_id, a.answer) for a in answered] == [(last.referral_id, "accepted")]
    assert len(new) == 2, f"only the good answer and its receipt: {[type(p).__name__ for p in new]}"
