"""``hub agency retry``: records an older client parked, applied once it is upgraded.

The older client is the same code with a schema registry that lacks a schema (as a release
before that schema's would), over in-memory fakes of the broker and a real SQLite inbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from consumers.agency import AgencyConsumer, retry_parked
from consumers.inbox import Inbox
from consumers.ports import InRecord, Place
from consumers.records import read_referral_record
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag
from hub import codec
from tests.agency_support import AGENCY, PERSON, FakeDeadLetters, FakeSource, Stream

NOTE = "試験の再適用メモ"


class FakeConfirmations:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def confirm(self, record: dict[str, Any]) -> None:
        self.sent.append(record)


@contextmanager
def older_client(monkeypatch: pytest.MonkeyPatch, unknown: str) -> Iterator[None]:
    """The client as a release that does not know the schema ``unknown`` reads records."""
    current = codec.registry()
    older = codec.Registry(
        {n: s for n, s in current.by_name.items() if n != unknown},
        {f: s for f, s in current.by_fingerprint.items() if s.name != unknown},
    )
    with monkeypatch.context() as patched:
        patched.setattr(codec, "registry", lambda: older)
        yield


def consume(stream: Stream, inbox: Inbox) -> tuple[FakeDeadLetters, FakeConfirmations]:
    deadletters, confirmations = FakeDeadLetters(), FakeConfirmations()
    consumer = AgencyConsumer(AGENCY, FakeSource(stream.records), inbox, deadletters, confirmations)
    consumer.run(StopFlag(), once=True)
    return deadletters, confirmations


def from_topic(stream: Stream) -> Any:
    """The fetch of the records at their places, as the broker still holds them."""
    held = {(r.topic, r.partition, r.offset): r for r in stream.records}

    def fetch(places: list[Place]) -> dict[Place, InRecord]:
        return {place: held[place] for place in places if place in held}

    return fetch


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Inbox]:
    opened = Inbox(SqliteDatabase(tmp_path / "inbox.sqlite"), AGENCY)
    yield opened
    opened.close()


def stored(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("inbox.sqlite*")))


def a_case_erased(stream: Stream) -> tuple[UUID, UUID]:
    case_id, referral_id = stream.referral(note=NOTE, basis="consent", basis_ref="c-1")
    stream.erasure(case_id)
    return case_id, referral_id


def test_an_erasure_notice_parked_by_an_older_client_clears_the_inbox_once_retried(
    inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = Stream()
    case_id, referral_id = a_case_erased(stream)
    with older_client(monkeypatch, "PersonErased"):
        deadletters, confirmations = consume(stream, inbox)
    assert [reason for _, reason in deadletters.parked] == ["unknown schema fingerprint"]
    assert confirmations.sent == []
    assert NOTE.encode() in stored(tmp_path)  # what the older client could not clear

    confirmations = FakeConfirmations()
    report = retry_parked(AGENCY, inbox, from_topic(stream), confirmations)

    assert (report.applied, report.still_parked, report.expired) == (1, [], [])
    referral = inbox.referral(str(referral_id))
    assert referral is not None
    assert [d["disclosed"] for d in referral["disclosures"]] == [{}, {}]
    assert NOTE.encode() not in stored(tmp_path)
    (confirmed,) = confirmations.sent
    assert (confirmed["case_id"], confirmed["agency_id"]) == (str(case_id), AGENCY)
    assert inbox.still_parked() == []
    assert inbox.parked_count() == 1  # the dead-letter count is a counter: it stays

    again = retry_parked(AGENCY, inbox, from_topic(stream), confirmations)
    assert (again.applied, again.duplicates, len(confirmations.sent)) == (0, 0, 1)
    # The upgraded client reading the topic again finds it applied, and parks nothing.
    deadletters, _ = consume(stream, inbox)
    assert deadletters.parked == []


def test_a_parked_record_of_a_person_erased_meanwhile_is_applied_without_their_details(
    inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = Stream()
    _, referral_id = a_case_erased(stream)
    with older_client(monkeypatch, "ReferralMade"):
        consume(stream, inbox)
    assert inbox.referral(str(referral_id)) is None

    report = retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations())

    assert report.applied == 1
    referral = inbox.referral(str(referral_id))
    assert referral is not None and referral["purpose"] == "assessment"
    assert [d["disclosed"] for d in referral["disclosures"]] == [{}, {}]
    assert NOTE.encode() not in stored(tmp_path)


def test_a_parked_record_the_upgraded_client_reads_again_is_applied_late_too(
    inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = Stream()
    _, referral_id = a_case_erased(stream)
    with older_client(monkeypatch, "ReferralMade"):  # it knows the erasure notice
        deadletters, confirmations = consume(stream, inbox)
    assert len(deadletters.parked) == 1 and len(confirmations.sent) == 1

    # Killed before its offsets were committed, the client is upgraded and reads both again:
    # the referral, before the erasure on the topic, comes after it into the inbox.
    consume(stream, inbox)

    referral = inbox.referral(str(referral_id))
    assert referral is not None
    assert [d["disclosed"] for d in referral["disclosures"]] == [{}, {}]
    assert NOTE.encode() not in stored(tmp_path)


def test_a_parked_discovery_erased_meanwhile_is_applied_without_the_person(
    inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_agency_inbox import reported

    stream, discovery_id = Stream(), uuid4()
    reported(stream, discovery_id)
    stream.erasure(uuid4(), discovery_id)  # with the case opened from it
    with older_client(monkeypatch, "DiscoveryReported"):
        consume(stream, inbox)

    assert retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations()).applied == 1
    (discovery,) = inbox.discoveries()
    assert discovery["erased"] and discovery["discovery_id"] == str(discovery_id)
    assert PERSON["name"].encode() not in stored(tmp_path)


def test_a_parked_answer_older_than_an_applied_one_does_not_set_the_status_back(
    inbox: Inbox,
) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral()
    made = stream.records[-1]
    accepted = stream.answered(case_id, referral_id, "accepted")
    completed = stream.answered(case_id, referral_id, "completed")
    # The older client parked the acceptance (a fault of its own) and applied the rest.
    inbox.apply(read_referral_record(made, AGENCY))
    inbox.park(accepted.topic, accepted.partition, accepted.offset, "inbox: OperationalError")
    inbox.apply(read_referral_record(completed, AGENCY))

    assert retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations()).applied == 1
    referral = inbox.referral(str(referral_id))
    assert referral is not None and referral["status"] == "completed"
    assert len(referral["disclosures"]) == 3  # the acceptance is in the inbox all the same


def test_a_record_still_unread_stays_parked_once_and_one_the_broker_dropped_is_named(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = Stream()
    case_id, _ = a_case_erased(stream)
    stream.erasure(uuid4())
    with older_client(monkeypatch, "PersonErased"):
        deadletters, _ = consume(stream, inbox)
        dropped = stream.records[2]
        fetch = from_topic(stream)

        report = retry_parked(
            AGENCY, inbox, lambda places: {p: r for p, r in fetch(places).items() if p[2] != 2}
        )

    assert report.applied == 0
    assert report.still_parked == [(stream.topic, 0, 1, "unknown schema fingerprint")]
    assert report.expired == [(dropped.topic, 0, 2)]
    assert len(deadletters.parked) == 2  # parked by the run; the retry parks nothing again
    # The dropped one is noted: listed as lost, no longer as waiting for a retry.
    assert [place[2] for place in inbox.still_parked()] == [1]
    assert [place[2] for place in inbox.expired_parked()] == [2]
    with older_client(monkeypatch, "PersonErased"):
        again = retry_parked(AGENCY, inbox, lambda places: {})
    assert (again.still_parked, again.expired) == ([], [(stream.topic, 0, 1)])
    assert inbox.still_parked() == []
    assert case_id


def test_another_record_at_a_parked_records_place_is_not_applied_in_its_stead(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The topic was deleted and made again: its offsets started anew, and the place of the
    parked erasure notice now holds another case's. That one is not applied, nor confirmed,
    in the parked one's stead; the parked one is named as lost."""
    stream = Stream()
    _, referral_id = a_case_erased(stream)
    with older_client(monkeypatch, "PersonErased"):
        consume(stream, inbox)
    (parked,) = inbox.still_parked()
    made_again = Stream()
    a_case_erased(made_again)
    assert made_again.records[parked[2]].value != stream.records[parked[2]].value

    confirmations, applied = FakeConfirmations(), inbox.applied_count()
    report = retry_parked(AGENCY, inbox, from_topic(made_again), confirmations)

    assert (report.applied, report.expired) == (0, [parked[:3]])
    assert inbox.applied_count() == applied
    assert confirmations.sent == [] and inbox.still_parked() == []
    referral = inbox.referral(str(referral_id))
    assert referral is not None and referral["disclosures"][0]["disclosed"] != {}


def test_a_parked_record_the_broker_dropped_is_shown_as_lost_not_as_waiting(
    cli_store: Path,
) -> None:
    """Once a retry found a parked record gone (retention), `hub agency inbox` stops asking
    for a retry and `hub quarantine list --agency` names it as never applied."""
    from typer.testing import CliRunner

    from hub.settings import get_settings
    from ops.cli.main import app as cli
    from ops.wiring import open_inbox

    topic = f"referrals.{AGENCY}"
    inbox = open_inbox(get_settings(), AGENCY)
    try:
        inbox.park(topic, 0, 7, "unknown schema fingerprint")
        inbox.park(topic, 0, 9, "unknown schema fingerprint")
        report = retry_parked(AGENCY, inbox, lambda places: {})
    finally:
        inbox.close()
    assert report.expired == [(topic, 0, 7), (topic, 0, 9)]

    runner = CliRunner()
    shown = runner.invoke(cli, ["agency", "inbox", "--agency", AGENCY])
    assert shown.exit_code == 0, shown.output
    assert "hub agency retry" not in shown.output
    assert "未適用のまま失われた記録 2 件 / 2 parked record(s) were no longer" in shown.output
    listed = runner.invoke(cli, ["quarantine", "list", "--agency", AGENCY, "--json"])
    assert listed.exit_code == 0, listed.output
    reasons = [json.loads(line)["reason"] for line in listed.stdout.splitlines()]
    assert len(reasons) == 2 and all("never applied" in r for r in reasons)
    retried = runner.invoke(cli, ["agency", "retry", "--agency", AGENCY])
    assert "保留のまま 0 件、期限切れ 0 件 / " in retried.output  # nothing is retried again
    assert "0 still parked, 0 expired" in retried.output
