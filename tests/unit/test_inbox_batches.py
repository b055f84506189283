"""The agency client commits a poll's records to its inbox in one transaction, then their
offsets: one fsync a poll, not one a record, with the same exactly-once outcome.

Another connection to the inbox file plays the observer (what a crash would leave)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from consumers.agency import AgencyConsumer
from consumers.inbox import Inbox
from consumers.ports import InRecord
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag
from tests.agency_support import AGENCY, FakeDeadLetters, FakeSource, Stream


def committed_events(path: Path) -> int:
    """How many records another connection sees committed in the inbox."""
    with sqlite3.connect(path) as other:
        return int(other.execute("SELECT count(*) FROM inbox_events").fetchone()[0])


def test_a_polls_records_are_committed_together_and_before_their_offsets(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    inbox = Inbox(SqliteDatabase(path))
    stream = Stream()
    for _ in range(8):
        stream.referral()
    seen_while_handling: list[int] = []
    seen_at_commit: list[tuple[int, int]] = []
    source = FakeSource(
        stream.records,
        batch=4,
        on_commit=lambda offsets: seen_at_commit.append(
            (committed_events(path), offsets[(stream.topic, 0)])
        ),
    )
    consumer = AgencyConsumer(AGENCY, source, inbox, FakeDeadLetters())
    handle = consumer.handle

    def observed(record: InRecord) -> str:
        done = handle(record)
        seen_while_handling.append(committed_events(path))
        return done

    consumer.handle = observed  # type: ignore[method-assign]
    consumer.run(StopFlag(), once=True)

    # Nothing of a poll is committed while it is handled; all of it before its offsets.
    assert seen_while_handling == [0, 0, 0, 0, 4, 4, 4, 4]
    assert seen_at_commit == [(4, 4), (8, 8)]
    assert inbox.applied_count() == 8


def test_a_failure_in_a_poll_leaves_none_of_it_and_the_records_come_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inbox.sqlite"
    stream = Stream()
    for _ in range(6):
        stream.referral()
    source = FakeSource(stream.records, batch=3)
    inbox = Inbox(SqliteDatabase(path))
    consumer = AgencyConsumer(AGENCY, source, inbox, FakeDeadLetters())
    apply = inbox.apply
    calls = [0]

    def failing_on_the_fifth(entry: Any, *, late: bool = False) -> bool:
        calls[0] += 1
        if calls[0] == 5:
            raise sqlite3.OperationalError("disk I/O error (a test's outage)")
        return apply(entry, late=late)

    inbox.apply = failing_on_the_fifth  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError):
        consumer.run(StopFlag(), once=True)

    # The first poll was committed with its offsets; of the second, nothing.
    assert committed_events(path) == 3
    assert source.committed == {(stream.topic, 0): 3}

    inbox.close()
    source.restart()
    again = Inbox(SqliteDatabase(path))
    AgencyConsumer(AGENCY, source, again, FakeDeadLetters()).run(StopFlag(), once=True)
    assert committed_events(path) == 6
    assert source.committed == {(stream.topic, 0): 6}


class CheckingConfirmations:
    """Looks, from another connection, at what the inbox holds when the hub is told."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[tuple[int, int]] = []

    def confirm(self, record: dict[str, Any]) -> None:
        with sqlite3.connect(self.path) as other:
            total = other.execute("SELECT count(*) FROM inbox_events").fetchone()[0]
            kept = other.execute(
                "SELECT count(*) FROM inbox_events WHERE case_id = ? AND disclosed != '{}'",
                (record["case_id"],),
            ).fetchone()[0]
        self.seen.append((int(total), int(kept)))


def test_an_erasure_in_a_poll_is_committed_before_the_hub_is_told(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    stream = Stream()
    case_id, _ = stream.referral(note="試験のメモ", basis="consent", basis_ref="c-1")
    stream.referral()
    stream.erasure(case_id)
    stream.referral()
    confirmations = CheckingConfirmations(path)
    source = FakeSource(stream.records, batch=4)
    consumer = AgencyConsumer(
        AGENCY, source, Inbox(SqliteDatabase(path)), FakeDeadLetters(), confirmations
    )
    consumer.run(StopFlag(), once=True)

    # When told: the two records before the erasure and the erasure itself are committed,
    # and nothing personal of the case is left.
    assert confirmations.seen == [(3, 0)]
    assert committed_events(path) == 4


def test_a_savepoint_inside_a_transaction_rolls_back_alone(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "t.sqlite")
    with db.transaction() as cur:
        cur.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    with db.transaction() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.IntegrityError), db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
            inner.execute("INSERT INTO t VALUES (1)")  # breaks the key: this part goes
        with db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (3)")
    with db.transaction() as cur:
        assert cur.query("SELECT n FROM t ORDER BY n") == [(1,), (3,)]
