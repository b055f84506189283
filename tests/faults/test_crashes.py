"""Crashes: the relay, an agency consumer, the reply ingester and every projection are
SIGKILLed at seeded random points (KILLS times each) while a generated history flows; after
a restart each ends exactly where a run that never crashed ends.

One world per module: a SQLite log of record, a topic prefix on the real broker with its
users and ACLs, and a log file catching every component's log lines (scanned for leaks in
test_leaks.py's checks at the end). Reproduce a failure with HUB_FAULT_SEED=<seed>.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from uuid import UUID, uuid4

import pytest

from consumers.agency import reply_record
from consumers.inbox import Inbox
from consumers.kafka_io import (
    KafkaDeadLetters,
    KafkaSource,
    KafkaWriter,
    matching_topics,
)
from consumers.ports import InRecord
from consumers.replies import ReplyIngester
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag
from hub import codec, topics
from hub import events as ev
from hub.application import HubApplication
from hub.domain.network import NETWORK_ID
from hub.kafka_clients import credentials
from hub.logging import configure_logging
from hub.settings import Settings
from ops.wiring import open_ledger, open_relay
from producers.provision import provision
from projections.runner import PROJECTIONS, catch_up, open_projection
from tests.factories import SYNTHETIC_STRINGS
from tests.faults import history
from tests.faults.history import AGENCIES
from tests.faults.kill import CrashLog, crash_repeatedly
from tests.faults.support import (
    agency_consumer,
    copy_store,
    deduplicated,
    events,
    inbox_progress,
    last_position,
    relay_topics,
)
from tests.integration.streams import read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = int(os.environ.get("HUB_FAULT_SEED", "20261127"))
KILLS = int(os.environ.get("HUB_FAULT_KILLS", "20"))
CASES = 36  # written before the first kill
MORE_CASES = 12  # written while a killed component is down


@dataclass
class World:
    root: Path
    settings: Settings
    app: HubApplication
    logs: Path
    stream: IO[str]
    crashes: dict[str, CrashLog] = field(default_factory=dict)

    @contextlib.contextmanager
    def logging(self) -> Iterator[None]:
        """Every log line (this process's and forked components') into ``logs``, at DEBUG,
        the most verbose; the leak scan reads them. (tests/conftest.py restores the set-up.)"""
        with contextlib.redirect_stderr(self.stream):
            configure_logging("json", "DEBUG")
            yield

    @property
    def env(self) -> dict[str, str]:
        return self.settings.eventsourcing_env()

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{SEED}/{purpose}")

    def crash_log(self, component: str) -> CrashLog:
        return self.crashes.setdefault(component, CrashLog(SEED))


@pytest.fixture(scope="module")
def world(kafka_broker: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("crash-world")
    settings = Settings(
        store="sqlite",
        sqlite_path=root / "hub.sqlite",
        kafka_topic_prefix=f"f{uuid4().hex[:10]}.",
        var_dir=root / "var",
    )
    provision(settings, AGENCIES)
    logs = root / "components.log"
    stream: IO[str] = logs.open("a", buffering=1, encoding="utf-8")
    app = HubApplication(env=settings.eventsourcing_env())
    world = World(root, settings, app, logs, stream)
    with world.logging():
        history.apply(app, history.generate(SEED, CASES))
    try:
        yield world
    finally:
        app.close()
        stream.close()


@pytest.fixture(autouse=True)
def _log_into_the_world(world: World) -> Iterator[None]:
    with world.logging():
        yield


# ------------------------------------------------------------------ helpers


# ------------------------------------------------------------------ the relay


def relay_child(settings: Settings, batch_size: int) -> Any:
    def run() -> None:
        relay = open_relay(settings, batch_size=batch_size)
        try:
            relay.drain()
        finally:  # run in the test's own process too: no client left behind to fork with
            relay.close()

    return run


@pytest.fixture(scope="module")
def relayed(world: World) -> World:
    """The relay killed KILLS times while the history grows, then run to the end."""
    rng = world.rng("relay")
    ledger = open_ledger(world.settings)

    def more_history(kills: int) -> None:
        if kills == KILLS // 2:
            history.apply(world.app, history.generate(SEED + 1, MORE_CASES))

    crash_repeatedly(
        relay_child(world.settings, batch_size=3),
        ledger.position,
        lambda: last_position(world.app),
        KILLS,
        world.crash_log("relay"),
        rng,
        between=more_history,
        stderr=world.logs,
        refill=lambda: history.apply(world.app, history.generate(SEED + 100, 4)),
    )
    relay_child(world.settings, batch_size=100)()
    return world


def test_a_relay_killed_at_random_points_publishes_what_a_relay_that_never_stopped_does(
    relayed: World,
) -> None:
    world = relayed
    reference = world.settings.model_copy(
        update={
            "sqlite_path": world.root / "reference" / "hub.sqlite",
            "kafka_topic_prefix": f"r{uuid4().hex[:10]}.",
        }
    )
    copy_store(world.settings.sqlite_file, reference.sqlite_file, forget_relay=True)
    provision(reference, AGENCIES)
    relay_child(reference, batch_size=500)()

    crashed, clean = relay_topics(world.settings), relay_topics(reference)
    for name in crashed:
        got = deduplicated(read_topic(world.settings, crashed[name]))
        expected = deduplicated(read_topic(reference, clean[name]))
        assert got == expected, f"{name} differs from a run that never crashed; {world.crashes}"
    analytics = deduplicated(read_topic(world.settings, crashed["analytics.events"]))
    assert [int(h["position"]) for _, _, h in analytics] == [
        n.id
        for n in world.app.recorder.select_notifications(start=1, limit=1_000_000)
        if n.originator_id != NETWORK_ID
    ], "analytics.events must carry every case event of the log once, in order"
    assert open_ledger(world.settings).disclosures() == open_ledger(reference).disclosures()
    assert len(world.crashes["relay"].kills) >= KILLS


# ------------------------------------------------------------------ an agency consumer


def busiest_agency(world: World) -> str:
    counts = {
        a: len(read_topic(world.settings, topics.referrals(world.settings, a))) for a in AGENCIES
    }
    return max(counts, key=lambda a: counts[a])


def test_an_agency_consumer_killed_at_random_points_ends_with_the_inbox_of_one_never_stopped(
    relayed: World,
) -> None:
    world = relayed
    agency = busiest_agency(world)
    expected_at = world.root / "inbox-reference.sqlite"
    reference_group = topics.agency_group(world.settings, agency, "ref")

    def never_stopped() -> tuple[dict[str, Any], int]:
        """The inbox of a consumer that never stopped, caught up, and its records' count."""
        reference = agency_consumer(
            world.settings, agency, expected_at, reference_group, max_records=500
        )
        try:
            reference.run(StopFlag(), once=True)
            count = reference.inbox.applied_count() + reference.inbox.parked_count()
            return reference.inbox.snapshot(), count
        finally:
            reference.source.close()
            reference.deadletters.close()
            reference.inbox.close()

    end = never_stopped()[1]
    assert end > KILLS * 2, "too few records to kill the consumer that often"

    crashing = world.root / "inbox-crashing.sqlite"
    group = topics.agency_group(world.settings, agency, "crashing")
    log = world.crash_log("agency")

    def run() -> None:
        consumer = agency_consumer(world.settings, agency, crashing, group, max_records=1)
        try:
            consumer.run(StopFlag(), once=True)
        finally:
            consumer.close()

    def refill() -> None:
        # A consumer quicker than the kills' spacing ran out of records: more cases,
        # relayed, and the reference reads them too.
        nonlocal end
        history.apply(world.app, history.generate(SEED + 200 + len(log.kills), MORE_CASES))
        relay_child(world.settings, batch_size=100)()
        end = never_stopped()[1]

    crash_repeatedly(
        run,
        lambda: inbox_progress(crashing),
        lambda: end,
        KILLS,
        log,
        world.rng("agency"),
        stderr=world.logs,
        refill=refill,
    )
    run()
    expected, _ = never_stopped()
    survivor = Inbox(SqliteDatabase(crashing))
    try:
        assert survivor.snapshot() == expected, f"inboxes differ; {log}"
    finally:
        survivor.close()


# ------------------------------------------------------------------ the reply ingester


def send_replies(world: World) -> int:
    """Each agency answers its referrals (some twice, some out of turn), as it would."""
    rng = world.rng("replies")
    writers: dict[str, KafkaWriter] = {}
    sent: list[tuple[str, dict[str, Any]]] = []
    for event in events(world.app):
        payload = event.payload
        if not isinstance(payload, ev.ReferralMade):
            continue
        referral = {"referral_id": str(payload.referral_id), "case_id": str(payload.case_id)}
        answers = rng.choice(
            [
                ["received"],
                ["received", "accepted"],
                ["accepted", "completed"],
                ["declined"],
                ["completed"],
                [],
            ]
        )
        for answer in answers:
            reason = "受け入れ枠なし" if answer == "declined" else None
            record = reply_record(
                payload.agency_id,
                referral,
                answer,
                reason,
                answered_at=payload.occurred_at,
                reply_id=UUID(int=rng.getrandbits(128)),
            )
            sent.append((payload.agency_id, record))
    replays = rng.sample(sent, len(sent) // 10)  # delivered twice, e.g. after an agency crash
    for agency, record in sent + replays:
        if agency not in writers:
            writers[agency] = KafkaWriter(world.settings, *credentials(world.settings, agency))
        writers[agency].send(
            topics.replies(world.settings, agency),
            codec.encode("ReferralReply", record),
            key=record["case_id"].encode(),
            headers=[("event_id", record["reply_id"].encode()), ("event_type", b"ReferralReply")],
        )
    for writer in writers.values():
        writer.close()
    return len(sent) + len(replays)


class ListDeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[str, int, str]] = []

    def park(self, record: InRecord, reason: str) -> None:
        self.parked.append((record.topic, record.offset, reason))

    def close(self) -> None:
        pass


def reply_ingester(
    world: World, app: HubApplication, group: str, batch: int, deadletters: Any
) -> ReplyIngester:
    user, password = credentials(world.settings, "hub")
    pattern = topics.replies_pattern(world.settings)
    source = KafkaSource(
        world.settings,
        user,
        password,
        group,
        matching_topics(lambda t: bool(pattern.match(t))),
        poll_ms=200,
        max_records=batch,
    )
    return ReplyIngester(
        app, source, deadletters, lambda t: topics.agency_of_reply_topic(world.settings, t)
    )


def answers(app: HubApplication, after: int) -> list[tuple[str, ...]]:
    found = []
    for event in events(app, after):
        p = event.payload
        if isinstance(p, ev.ReferralAnswered):
            found.append((str(p.referral_id), p.agency_id, p.answer, p.reason or ""))
    return sorted(found)


def test_a_reply_ingester_killed_at_random_points_applies_every_answer_exactly_once(
    relayed: World,
) -> None:
    world = relayed
    sent = send_replies(world)
    baseline = last_position(world.app)

    reference_store = world.root / "replies-reference" / "hub.sqlite"
    copy_store(world.settings.sqlite_file, reference_store)
    # A copy of the store reads with the store's own key-encryption key (docs/PRIVACY.md).
    reference_settings = world.settings.model_copy(update={"sqlite_path": reference_store})
    reference_app = HubApplication(env=reference_settings.eventsourcing_env("sqlite"))
    parked = ListDeadLetters()
    group = topics.hub_group(world.settings, "faults-reference")
    reference = reply_ingester(world, reference_app, group, 500, parked)
    reference.run(StopFlag(), once=True)
    reference.source.close()
    end = last_position(reference_app)
    expected = answers(reference_app, baseline)
    reference_app.close()
    assert reference.report.applied > KILLS and reference.report.rejected > 0
    assert (
        reference.report.applied + reference.report.duplicates + reference.report.rejected == sent
    )

    group = topics.hub_group(world.settings, "faults-crashing")
    hub_user, hub_password = credentials(world.settings, "hub")

    def run() -> None:
        app = HubApplication(env=world.env)
        deadletters = KafkaDeadLetters(
            KafkaWriter(world.settings, hub_user, hub_password),
            topics.deadletter(world.settings, topics.REPLIES_DEADLETTER),
        )
        ingester = reply_ingester(world, app, group, 2, deadletters)
        try:
            ingester.run(StopFlag(), once=True)
        finally:
            ingester.close()
            app.close()

    log = world.crash_log("replies")
    crash_repeatedly(
        run,
        lambda: last_position(world.app),
        lambda: end,
        KILLS,
        log,
        world.rng("ingester"),
        stderr=world.logs,
    )
    run()
    assert answers(world.app, baseline) == expected, f"answers differ; {log}"
    assert last_position(world.app) == end, "an answer was applied twice (or one was lost)"
    dead = read_topic(
        world.settings,
        topics.deadletter(world.settings, topics.REPLIES_DEADLETTER),
    )
    got = {
        (r.headers["dlq_source_topic"], int(r.headers["dlq_offset"]), r.headers["dlq_reason"])
        for r in dead
    }
    assert got == set(parked.parked), f"dead letters differ; {log}"


# ------------------------------------------------------------------ the projections


@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_a_projection_killed_at_random_points_equals_one_that_never_stopped(
    relayed: World, name: str
) -> None:
    world = relayed
    env = world.env
    view = open_projection(name, env).view

    def run() -> None:
        app = HubApplication(env=env)
        catch_up(open_projection(name, env), app, batch_size=2)

    def more_history(kills: int) -> None:
        if kills == KILLS // 2:
            history.apply(world.app, history.generate(SEED + 2 + len(name), 3))

    log = world.crash_log(f"projection {name}")
    crash_repeatedly(
        run,
        lambda: view.max_tracking_id(world.app.name) or 0,
        lambda: last_position(world.app),
        KILLS,
        log,
        world.rng(f"projection/{name}"),
        between=more_history,
        stderr=world.logs,
        jitter_s=0.005,
        refill=lambda: history.apply(world.app, history.generate(SEED + len(log.kills), 4)),
    )
    run()

    reference_store = world.root / f"{name}-reference" / "hub.sqlite"
    copy_store(world.settings.sqlite_file, reference_store)
    reference_env = world.settings.model_copy(
        update={"sqlite_path": reference_store}
    ).eventsourcing_env("sqlite")
    reference_app = HubApplication(env=reference_env)
    reference = open_projection(name, reference_env)
    catch_up(reference, reference_app)
    reference_app.close()
    assert view.dump() == reference.view.dump(), f"{name} differs; {log}"


# ------------------------------------------------------------------ leaks, at the end of it all


def _forms(text: str) -> list[bytes]:
    """A string as it may appear in bytes: UTF-8, or JSON-escaped (ensure_ascii)."""
    return [text.encode("utf-8"), json.dumps(text).strip('"').encode("ascii")]


def leaked(data: bytes) -> list[str]:
    return [s for s in SYNTHETIC_STRINGS if any(form in data for form in _forms(s))]


def test_no_synthetic_person_data_in_logs_analytics_audit_or_agency_records_without_a_basis(
    relayed: World,
) -> None:
    """Runs last in this module: every component has run, crashed and logged by now."""
    world = relayed
    world.stream.flush()
    logs = world.logs.read_bytes()
    assert logs.count(b"\n") > 50, "the scan must read the components' log lines"
    assert leaked(logs) == [], "personal data in a log line"

    for topic in (topics.analytics(world.settings), topics.audit(world.settings)):
        for r in read_topic(world.settings, topic):
            found = leaked(r.raw) + leaked(json.dumps(r.record, ensure_ascii=False).encode())
            assert found == [], f"{found} on {topic} ({r.headers})"

    disclosed = 0
    for agency in AGENCIES:
        for r in read_topic(world.settings, topics.referrals(world.settings, agency)):
            found = leaked(r.raw)
            if r.headers.get("basis", "none") == "none":
                assert found == [], f"{found} on {agency}'s topic without a basis ({r.headers})"
            disclosed += bool(found)
    assert disclosed > 0, "no record with a basis carried personal data: the scan proves nothing"
