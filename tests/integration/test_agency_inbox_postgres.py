"""The agency's inbox on the real PostgreSQL: the same inbox as on SQLite, each event once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from consumers.agency import AgencyConsumer, retry_parked
from consumers.config import ConsumerSettings
from consumers.inbox import Inbox, open_inbox
from consumers.records import read_referral_record
from consumers.stopping import StopFlag
from hub import events as ev
from hub.settings import Settings
from tests.agency_support import AGENCY, PERSON, T0, FakeDeadLetters, FakeSource, Stream
from tests.unit.test_agency_retry import (
    NOTE,
    FakeConfirmations,
    a_case_erased,
    consume,
    from_topic,
    older_client,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_inbox(postgres_service, settings: Settings) -> Iterator[Inbox]:  # type: ignore[no-untyped-def]
    schema = f"test_inbox_{uuid4().hex[:10]}"
    inbox = open_inbox(
        AGENCY,
        settings,
        ConsumerSettings(agency_inbox_store="postgres", agency_inbox_schema=schema),
    )
    try:
        yield inbox
    finally:
        inbox.close()
        with psycopg.connect(**settings.postgres_connection(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_postgresql_inbox_applies_each_event_once_and_equals_the_sqlite_one(
    pg_inbox: Inbox, settings: Settings, tmp_path: Path
) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral(note="試験のメモ", basis="consent", basis_ref="c-1")
    stream.event(
        ev.PersonDetailsRecorded(occurred_at=T0, case_id=case_id, person=PERSON),
        basis="consent",
        basis_ref="c-1",
    )
    stream.answered(case_id, referral_id, "accepted")
    stream.raw(b"not avro")
    sqlite_inbox = open_inbox(
        AGENCY, settings, ConsumerSettings(agency_inbox_path=tmp_path / "inbox.sqlite")
    )

    for inbox in (pg_inbox, pg_inbox, sqlite_inbox):
        AgencyConsumer(AGENCY, FakeSource(stream.records), inbox, FakeDeadLetters()).run(
            StopFlag(), once=True
        )

    assert pg_inbox.applied_count() == 3
    assert pg_inbox.parked_count() == 1
    assert pg_inbox.referrals() == sqlite_inbox.referrals()
    assert pg_inbox.referrals()[0]["status"] == "accepted"
    # Where each goes on reading: after the last record, the parked one included.
    last = stream.records[-1]
    ends = {(last.topic, last.partition): last.offset + 1}
    assert pg_inbox.resume_offsets() == sqlite_inbox.resume_offsets() == ends
    sqlite_inbox.close()


def test_the_postgresql_inbox_applies_parked_records_late_as_the_sqlite_one(
    pg_inbox: Inbox, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An older client parked the referral and the later answer; the erasure went through.
    stream = Stream()
    case_id, referral_id = a_case_erased(stream)
    stream.answered(case_id, referral_id, "accepted")
    sqlite_inbox = open_inbox(
        AGENCY, settings, ConsumerSettings(agency_inbox_path=tmp_path / "inbox.sqlite")
    )
    for inbox in (pg_inbox, sqlite_inbox):
        with older_client(monkeypatch, "ReferralMade"):
            consume(stream, inbox)
        assert [place[2] for place in inbox.still_parked()] == [0]
        report = retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations())
        assert (report.applied, inbox.still_parked()) == (1, [])
        inbox.park(stream.topic, 0, 99, "unknown schema fingerprint")  # then lost to retention
        assert retry_parked(AGENCY, inbox, lambda places: {}).expired == [(stream.topic, 0, 99)]
        assert (inbox.still_parked(), len(inbox.expired_parked())) == ([], 1)

    (referral,) = pg_inbox.referrals()
    assert referral == sqlite_inbox.referrals()[0]
    assert referral["status"] == "accepted"  # the answer after it stands
    assert [d["disclosed"] for d in referral["disclosures"]] == [{}, {}, {}]
    assert NOTE not in repr(pg_inbox.snapshot())
    sqlite_inbox.close()


@pytest.mark.parametrize("parked", ["PersonDetailsRecorded", "PersonDetailsCleared"])
def test_the_postgresql_inbox_empties_cleared_details_as_the_sqlite_one(
    pg_inbox: Inbox,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    parked: str,
) -> None:
    # 訂正 by deletion: the address given, then emptied, then recorded anew; an older client
    # parks the details or the notice, and applies it late.
    stream = Stream()
    case_id, _ = stream.referral(basis="consent", basis_ref="c-1")
    stream.event(
        ev.PersonDetailsRecorded(occurred_at=T0, case_id=case_id, person=PERSON),
        basis="consent",
        basis_ref="c-1",
    )
    stream.event(
        ev.PersonDetailsCleared(occurred_at=T0, case_id=case_id, fields=["address"]),
        basis="none",
    )
    stream.event(
        ev.PersonDetailsRecorded(
            occurred_at=T0, case_id=case_id, person=ev.PersonDetails(address="門司区1-1")
        ),
        basis="consent",
        basis_ref="c-1",
    )
    sqlite_inbox = open_inbox(
        AGENCY, settings, ConsumerSettings(agency_inbox_path=tmp_path / "inbox.sqlite")
    )
    for inbox in (pg_inbox, sqlite_inbox):
        with older_client(monkeypatch, parked):
            consume(stream, inbox)
        retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations())
        assert inbox.still_parked() == []

    (referral,) = pg_inbox.referrals()
    assert referral == sqlite_inbox.referrals()[0]
    addresses = [d["disclosed"].get("person.address") for d in referral["disclosures"]]
    assert len(addresses) == 4 and [a for a in addresses if a] == ["門司区1-1"]
    assert PERSON["address"] not in repr(pg_inbox.snapshot())
    sqlite_inbox.close()


@pytest.fixture
def pg_pair(postgres_service, settings: Settings) -> Iterator[tuple[Inbox, Inbox]]:  # type: ignore[no-untyped-def]
    """Two connections to one PostgreSQL inbox: the running client's and the retry's."""
    schema = f"test_inbox_{uuid4().hex[:10]}"
    chosen = ConsumerSettings(agency_inbox_store="postgres", agency_inbox_schema=schema)
    running, retrying = open_inbox(AGENCY, settings, chosen), open_inbox(AGENCY, settings, chosen)
    try:
        yield running, retrying
    finally:
        running.close()
        retrying.close()
        with psycopg.connect(**settings.postgres_connection(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_late_record_and_the_running_clients_erasure_at_once_leave_no_personal_field(
    pg_pair: tuple[Inbox, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retry applies the parked referral while the running client applies the erasure
    # notice: whichever commits first, the person's details do not stay (READ COMMITTED).
    running, retrying = pg_pair
    stream = Stream()
    a_case_erased(stream)
    made, erasure = stream.records
    retrying.park(made.topic, made.partition, made.offset, "unknown schema fingerprint")
    checked = Inbox._erased
    in_between: list[threading.Thread] = []

    def erased_meanwhile(self: Inbox, cur: Any, entry: Any) -> bool:
        found = checked(self, cur, entry)
        if self is retrying and not in_between:  # the erasure lands after the check
            thread = threading.Thread(
                target=lambda: running.apply(read_referral_record(erasure, AGENCY))
            )
            in_between.append(thread)
            thread.start()
            thread.join(timeout=2)  # or it waits for the retry's transaction
        return found

    monkeypatch.setattr(Inbox, "_erased", erased_meanwhile)
    report = retry_parked(AGENCY, retrying, from_topic(stream), FakeConfirmations())
    in_between[0].join(timeout=30)

    assert report.applied == 1 and not in_between[0].is_alive()
    (referral,) = running.referrals()
    assert [d["disclosed"] for d in referral["disclosures"]] == [{}, {}]
    assert NOTE not in repr(running.snapshot())
