"""What the fault tests share: copies of a store, the relay's topics, records deduplicated."""

from __future__ import annotations

import contextlib
import random
import socket
import sqlite3
from pathlib import Path
from typing import Any

from consumers.agency import AgencyConsumer
from consumers.inbox import Inbox
from consumers.kafka_io import KafkaDeadLetters, KafkaSource, KafkaWriter, fixed_topics
from consumers.sql import SqliteDatabase
from hub import topics
from hub.application import HubApplication
from hub.kafka_clients import credentials
from hub.settings import Settings
from tests.faults.history import AGENCIES
from tests.integration.streams import Received

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def private_port() -> int:
    """A free loopback port below the kernel's ephemeral range, for a private broker that
    goes away and comes back: while it is away no outgoing connection can be given its port
    (one of our own clients reconnecting to it would otherwise self-connect and hold it, and
    the broker then exits while starting)."""
    return private_ports(1)


def private_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports below the ephemeral range (a
    private cluster's nodes take consecutive ports), for the reason ``private_port`` gives."""
    low = int(EPHEMERAL_RANGE.read_text().split()[0])
    for _ in range(500):
        first = random.randrange(max(1024, low - 10_000), low - count)
        with contextlib.ExitStack() as held:
            try:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return first
    raise RuntimeError(f"no {count} free consecutive ports below {low}")


def copy_store(source: Path, target: Path, *, forget_relay: bool = False) -> None:
    """A consistent copy of a SQLite log (the online backup API), optionally without the
    relay's position and ledger, as if the relay had never run on it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        if forget_relay:
            tables = [
                r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                if table == "disclosures" or table.endswith("tracking"):
                    dst.execute(f'DELETE FROM "{table}"')


def last_position(app: HubApplication) -> int:
    return app.recorder.max_notification_id() or 0


def events(app: HubApplication, after: int = 0) -> list[Any]:
    found = app.recorder.select_notifications(start=after + 1, limit=1_000_000)
    return [app.mapper.to_domain_event(n) for n in found]


def relay_topics(settings: Settings) -> dict[str, str]:
    """The relay's topics by their name without the prefix."""
    names = [topics.referrals(settings, a) for a in AGENCIES]
    names += [topics.audit(settings), topics.analytics(settings)]
    return {n.removeprefix(settings.kafka_topic_prefix): n for n in names}


RecordKey = tuple[str, str, str]


def deduplicated(records: list[Received]) -> list[tuple[RecordKey, bytes, dict[str, str]]]:
    """First occurrence of each record by its event id (a Disclosure also by its id), after
    checking that every repeat is byte for byte the record it repeats."""
    first: dict[RecordKey, Received] = {}
    order: list[RecordKey] = []
    for r in records:
        if r.headers["event_type"] == "ChainHead":
            continue  # the relay's witness of the chain: one per batch, and batches differ
        key = (r.headers["event_id"], r.headers["event_type"], r.headers.get("disclosure_id", ""))
        if key in first:
            assert (r.raw, r.headers) == (first[key].raw, first[key].headers), f"{key} differs"
            continue
        first[key] = r
        order.append(key)
    return [(k, first[k].raw, first[k].headers) for k in order]


def inbox_progress(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT (SELECT COUNT(*) FROM inbox_events) + (SELECT COUNT(*) FROM inbox_parked)"
            ).fetchone()
            return int(row[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def agency_consumer(
    settings: Settings,
    agency: str,
    inbox: Path,
    group: str,
    *,
    poll_ms: int = 200,
    max_records: int = 5,
) -> AgencyConsumer:
    """An agency client on a SQLite inbox and a group of the test's, started as
    ``ops.wiring.open_agency_consumer`` starts one: from its inbox's own offsets."""
    user, password = credentials(settings, agency)
    store = Inbox(SqliteDatabase(inbox))
    source = KafkaSource(
        settings,
        user,
        password,
        group,
        fixed_topics(topics.referrals(settings, agency)),
        poll_ms=poll_ms,
        max_records=max_records,
        starts=store.resume_offsets(),
    )
    deadletters = KafkaDeadLetters(
        KafkaWriter(settings, user, password), topics.deadletter(settings, agency)
    )
    return AgencyConsumer(agency, source, store, deadletters)
