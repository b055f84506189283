"""The agency client against in-memory fakes of the broker and a real SQLite inbox."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from consumers.agency import AgencyConsumer, check_answer, find_referral, reply_record
from consumers.inbox import Inbox
from consumers.ports import InRecord
from consumers.sql import SqliteDatabase
from consumers.stopping import StopFlag, stop_on_signals
from hub import codec
from hub import events as ev
from hub.errors import (
    BeforeReferralError,
    IllegalTransitionError,
    InvalidCommandError,
    NotFoundError,
)
from hub.fiscal import JST
from hub.labels import label
from hub.plausible import CLOCK_SKEW
from tests import agency_support
from tests.agency_support import (
    AGENCY,
    OTHER_AGENCY,
    PERSON,
    T0,
    WARD,
    FakeDeadLetters,
    FakeSource,
    Stream,
)


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return Inbox(SqliteDatabase(tmp_path / "inbox.sqlite"))


def consume(stream: Stream, inbox: Inbox, batch: int = 3) -> tuple[AgencyConsumer, FakeSource]:
    source = FakeSource(stream.records, batch=batch)
    consumer = AgencyConsumer(AGENCY, source, inbox, FakeDeadLetters())
    consumer.run(StopFlag(), once=True)
    return consumer, source


def test_a_referral_with_consent_shows_what_was_disclosed_and_on_which_basis(inbox: Inbox) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral(
        urgency="life_at_risk", note="試験のメモ", basis="consent", basis_ref="c-1"
    )
    stream.event(
        ev.PersonDetailsRecorded(occurred_at=T0, case_id=case_id, person=PERSON),
        basis="consent",
        basis_ref="c-1",
    )
    consume(stream, inbox)

    (referral,) = inbox.referrals()
    assert referral["referral_id"] == str(referral_id)
    assert referral["case_id"] == str(case_id)
    assert (referral["urgency"], referral["ward"], referral["purpose"]) == (
        "life_at_risk",
        "moji",
        "assessment",
    )
    assert datetime.fromisoformat(referral["referred_at"]) == T0
    assert (referral["basis"], referral["basis_ref"], referral["status"]) == (
        "consent",
        "c-1",
        "sent",
    )
    disclosed = {}
    for disclosure in referral["disclosures"]:
        assert disclosure["basis"] == "consent"
        disclosed.update(disclosure["disclosed"])
    assert disclosed == {
        "note": "試験のメモ",
        "person.name": "試験 花子",
        "person.kana": "シケン ハナコ",
        "person.address": "北九州市架空町1-2-3",
    }


def test_a_referral_without_a_basis_is_a_de_identified_notice_naming_the_missing_basis(
    inbox: Inbox,
) -> None:
    stream = Stream()
    stream.referral(basis="none", missing_basis="consent", withheld="note")
    consume(stream, inbox)

    (referral,) = inbox.referrals()
    assert referral["basis"] == "none"
    assert referral["missing_basis"] == "consent"
    (notice,) = referral["disclosures"]
    assert notice["disclosed"] == {}
    assert notice["withheld"] == ["note"]


def test_answers_and_escalations_on_the_topic_update_the_referral_status(inbox: Inbox) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral()
    stream.event(
        ev.ReferralEscalated(
            occurred_at=T0,
            case_id=case_id,
            referral_id=referral_id,
            agency_id=AGENCY,
            coordinator="moji.coordinator",
            overdue_minutes=5,
        ),
        basis="none",
    )
    stream.answered(case_id, referral_id, "accepted")
    consume(stream, inbox)

    referral = inbox.referral(str(referral_id))
    assert referral is not None
    assert referral["status"] == "accepted"
    assert referral["escalated"] is True


def test_the_coordinators_inbox_lists_the_referrals_escalated_to_it(inbox: Inbox) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral()
    stream.escalation(case_id, referral_id)
    consume(stream, inbox)
    (escalation,) = inbox.escalations("moji.coordinator")
    assert escalation["referral_id"] == str(referral_id)
    assert (escalation["agency_id"], escalation["overdue_minutes"]) == (AGENCY, 95)
    assert inbox.escalations("tobata.coordinator") == []


def test_each_event_id_is_applied_once_even_when_redelivered(inbox: Inbox) -> None:
    stream = Stream()
    stream.referral()
    case_id, referral_id = stream.referral()
    stream.answered(case_id, referral_id, "received")
    consume(stream, inbox)
    before = inbox.snapshot()

    again, _ = consume(stream, inbox)

    assert again.report.applied == 0
    assert again.report.duplicates == 3
    assert inbox.snapshot() == before


def test_offsets_are_committed_only_once_the_records_are_in_the_inbox(inbox: Inbox) -> None:
    stream = Stream()
    for _ in range(7):
        stream.referral()

    def check(offsets: dict[tuple[str, int], int]) -> None:
        assert inbox.applied_count() >= offsets[(stream.topic, 0)]

    source = FakeSource(stream.records, batch=2, on_commit=check)
    AgencyConsumer(AGENCY, source, inbox, FakeDeadLetters()).run(StopFlag(), once=True)

    assert source.committed == {(stream.topic, 0): 7}
    assert len(source.commits) == 4


def test_bad_records_are_parked_with_a_reason_and_the_consumer_keeps_going(inbox: Inbox) -> None:
    stream = Stream()
    stream.referral()
    referral_bytes = stream.records[0].value or b""
    stream.raw(os.urandom(40), event_id="x")
    stream.raw(referral_bytes[: len(referral_bytes) // 2], event_id="x")
    stream.raw(b"\xc3\x01" + b"\x00" * 8 + b"body")
    stream.raw(referral_bytes)  # no event_id header
    stream.raw(referral_bytes, event_id=stream.records[0].header("event_id") or "", basis="gossip")
    stream.raw(None)
    stream.referral()
    deadletters = FakeDeadLetters()
    source = FakeSource(stream.records)
    consumer = AgencyConsumer(AGENCY, source, inbox, deadletters)

    report = consumer.run(StopFlag(), once=True)

    assert (report.applied, report.parked) == (2, 6)
    assert inbox.parked_count() == 6
    reasons = [reason for _, reason in deadletters.parked]
    assert reasons[0].startswith("undecodable")
    assert reasons[1].startswith("undecodable: truncated or corrupt ReferralMade")
    assert reasons[2] == "unknown schema fingerprint"
    assert reasons[3] == "missing or malformed event_id header"
    assert reasons[4] == "unknown basis header"
    assert reasons[5] == "empty record value"
    assert [r.offset for r, _ in deadletters.parked] == [1, 2, 3, 4, 5, 6]
    assert source.committed == {(stream.topic, 0): 8}


def test_another_agencys_referral_on_the_case_is_context_not_a_referral_of_ours(
    inbox: Inbox,
) -> None:
    stream = Stream()
    case_id, ours = stream.referral(basis="consent,statute", basis_ref="c-1,s-1")
    stream.referral(case_id=case_id, agency_id=OTHER_AGENCY)
    consume(stream, inbox)

    (referral,) = inbox.referrals()
    assert referral["referral_id"] == str(ours)
    assert referral["basis"] == "consent,statute"
    assert [d["event_type"] for d in referral["disclosures"]] == ["ReferralMade", "ReferralMade"]


def test_a_record_that_fails_validation_is_parked_naming_the_field_not_its_value(
    inbox: Inbox,
) -> None:
    stream = Stream()
    stream.referral()
    body = codec.decode(stream.records[0].value or b"")[1]
    body["referral_id"] = "not-a-uuid-試験"
    stream.records.clear()
    stream.raw(codec.encode("ReferralMade", body), event_id=body["event_id"])
    deadletters = FakeDeadLetters()

    AgencyConsumer(AGENCY, FakeSource(stream.records), inbox, deadletters).run(
        StopFlag(), once=True
    )

    ((_, reason),) = deadletters.parked
    assert reason == "failed validation as ReferralMade: referral_id"


def test_a_record_parked_before_a_crash_is_not_parked_twice(inbox: Inbox) -> None:
    stream = Stream()
    stream.raw(b"garbage")
    deadletters = FakeDeadLetters()
    for _ in range(2):  # the second run sees the record again: its offset was never committed
        consumer = AgencyConsumer(AGENCY, FakeSource(stream.records), inbox, deadletters)
        consumer.handle(stream.records[0])

    assert len(deadletters.parked) == 1
    assert inbox.parked_count() == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_finishes_the_record_in_hand_commits_it_and_returns(
    inbox: Inbox, signum: int
) -> None:
    stream = Stream()
    for _ in range(5):
        stream.referral()
    source = FakeSource(stream.records, batch=5)
    consumer = AgencyConsumer(AGENCY, source, inbox, FakeDeadLetters())
    handle = consumer.handle

    def handle_then_signal(record: InRecord) -> str:
        result = handle(record)
        if record.offset == 1:
            os.kill(os.getpid(), signum)
        return result

    consumer.handle = handle_then_signal  # type: ignore[method-assign]
    stop = StopFlag()
    with stop_on_signals(stop):
        report = consumer.run(stop)

    assert stop.signal == signum
    assert report.applied == 2
    assert source.committed == {(stream.topic, 0): 2}


def test_an_answer_is_a_reply_record_the_hub_can_decode(inbox: Inbox) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral()
    consume(stream, inbox)

    record = reply_record(AGENCY, find_referral(inbox, str(referral_id)[:8]), "accepted", None)

    name, decoded = codec.decode(codec.encode("ReferralReply", record))
    assert name == "ReferralReply"
    assert decoded["referral_id"] == str(referral_id)
    assert decoded["case_id"] == str(case_id)
    assert (decoded["agency_id"], decoded["answer"]) == (AGENCY, "accepted")


def test_declining_needs_a_reason_and_unknown_referrals_are_refused(inbox: Inbox) -> None:
    stream = Stream()
    _, referral_id = stream.referral()
    consume(stream, inbox)
    referral = find_referral(inbox, str(referral_id))

    with pytest.raises(InvalidCommandError):
        reply_record(AGENCY, referral, "declined", "  ")
    with pytest.raises(InvalidCommandError):
        reply_record(AGENCY, referral, "maybe", None)
    with pytest.raises(NotFoundError):
        find_referral(inbox, "00000000")


def test_a_prefix_of_several_referrals_is_invalid_input_not_not_found(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a case prefix: an ambiguous one is exit 2 and names each referral it matches, so
    one can be typed back; text that cannot start an id is exit 2 too."""
    made = iter(UUID(f"5e1c0c1e-0000-4000-8000-{n:012x}") for n in range(1, 10))
    monkeypatch.setattr(agency_support, "uuid4", lambda: next(made))
    stream = Stream()
    _, first = stream.referral()
    _, second = stream.referral()
    consume(stream, inbox)
    with pytest.raises(InvalidCommandError, match="ambiguous") as ambiguous:
        find_referral(inbox, "5e1c0c1e")
    assert str(first) in str(ambiguous.value) and str(second) in str(ambiguous.value)
    for text in ("", "zzzz", "試験"):
        with pytest.raises(InvalidCommandError, match=r"not .*a referral id"):
            find_referral(inbox, text)
    assert find_referral(inbox, str(second))["referral_id"] == str(second)


@pytest.mark.parametrize(
    "answered_at",
    [
        datetime(2099, 4, 1, 10, tzinfo=JST),  # decades ahead: beyond HUB_FUTURE_MARGIN_DAYS
        datetime(1999, 12, 31, 10, tzinfo=JST),
        datetime(2025, 5, 31, 17),  # no zone
    ],
)
def test_a_late_entry_at_a_time_the_hub_refuses_is_refused_before_it_is_sent(
    inbox: Inbox, answered_at: datetime
) -> None:
    # `hub agency ack … --at T`: the hub would park such an answer on deadletter.replies,
    # which the agency never sees, while its inbox counted the answer as sent.
    stream = Stream()
    _, referral_id = stream.referral()
    consume(stream, inbox)
    referral = find_referral(inbox, str(referral_id))
    with pytest.raises(InvalidCommandError, match=r"^answered_at: "):
        reply_record(AGENCY, referral, "accepted", None, answered_at=answered_at)
    on_time = reply_record(
        AGENCY, referral, "accepted", None, answered_at=datetime(2026, 4, 2, 17, tzinfo=JST)
    )
    assert on_time["answered_at"] == "2026-04-02T17:00:00+09:00"


def test_a_late_entry_dated_before_its_referral_is_refused_before_it_is_sent(
    inbox: Inbox,
) -> None:
    # The hub refuses it (BeforeReferralError) onto deadletter.replies, unseen by the agency.
    stream = Stream()
    _, referral_id = stream.referral()
    consume(stream, inbox)
    referral = find_referral(inbox, str(referral_id))
    made = datetime.fromisoformat(referral["referred_at"])
    early = made - CLOCK_SKEW - timedelta(seconds=1)
    with pytest.raises(BeforeReferralError, match="before it"):
        reply_record(AGENCY, referral, "accepted", None, answered_at=early)
    lagging = reply_record(AGENCY, referral, "received", None, answered_at=made - CLOCK_SKEW)
    assert datetime.fromisoformat(lagging["answered_at"]) == made - CLOCK_SKEW


def test_an_answer_the_hub_would_refuse_is_refused_at_the_agency_before_it_is_sent(
    inbox: Inbox,
) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral()
    stream.answered(case_id, referral_id, "received")
    consume(stream, inbox)
    check_answer(find_referral(inbox, str(referral_id)), "accepted")
    inbox.record_reply(str(uuid4()), str(referral_id), "declined", T0.isoformat())

    referral = find_referral(inbox, str(referral_id))
    with pytest.raises(IllegalTransitionError, match="is declined"):
        check_answer(referral, "accepted")


def test_an_erasure_notice_removes_the_persons_fields_from_the_inbox(inbox: Inbox) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral(note="試験のメモ", basis="consent", basis_ref="c-1")
    other_case, _ = stream.referral(note="別の試験メモ", basis="consent", basis_ref="c-2")
    stream.event(
        ev.PersonDetailsRecorded(occurred_at=T0, case_id=case_id, person=PERSON),
        basis="consent",
        basis_ref="c-1",
    )
    stream.erasure(case_id)
    consume(stream, inbox)

    erased = inbox.referral(str(referral_id))
    assert erased is not None
    assert [d["disclosed"] for d in erased["disclosures"]] == [{}] * len(erased["disclosures"])
    assert len(erased["disclosures"]) == 3  # the records stay: only their fields go
    (kept,) = [r for r in inbox.referrals() if r["case_id"] == str(other_case)]
    assert kept["disclosures"][0]["disclosed"] == {"note": "別の試験メモ"}


def reported(stream: Stream, discovery_id: UUID, person: Any = PERSON) -> None:
    """A discovery of the ward on ``stream`` (a coordinator's notice)."""
    stream.event(
        ev.DiscoveryReported(
            occurred_at=T0,
            discovery_id=discovery_id,
            reporter_kind="welfare_commissioner",
            ward=WARD,
            signs=["mailbox_full"],
            urgency="soon",
            channel="phone",
            person=person,
        ),
        basis="none",
    )


def two_discoveries() -> tuple[Stream, UUID, UUID]:
    """A stream of two discoveries of the ward (the coordinator's notices), and their ids."""
    stream = Stream()
    discovery_id, other = uuid4(), uuid4()
    for found in (discovery_id, other):
        reported(stream, found)
    return stream, discovery_id, other


def only_the_erased_discovery_cleared(
    inbox: Inbox, erased: UUID, other: UUID
) -> list[dict[str, Any]]:
    """The inbox's event rows, checked: the erased discovery's hold no name or address, the
    other's still do."""
    rows: list[dict[str, Any]] = inbox.snapshot()["events"]
    kept = repr([r for r in rows if str(other) in repr(r)])
    gone = repr([r for r in rows if str(erased) in repr(r)])
    assert PERSON["name"] in kept
    assert PERSON["name"] not in gone and PERSON["address"] not in gone
    return rows


def test_an_erasure_notice_removes_the_discovery_the_case_was_opened_from(inbox: Inbox) -> None:
    # The ward coordinator's inbox received the discovery (no case yet); the case opened
    # from it is erased with the discovery's key: the person's details there go too.
    stream, discovery_id, other = two_discoveries()
    case_id = uuid4()
    stream.erasure(case_id, discovery_id)
    consume(stream, inbox)
    only_the_erased_discovery_cleared(inbox, discovery_id, other)


def test_a_discovery_erasure_notice_removes_that_discovery_only(tmp_path: Path) -> None:
    # A discovery never linked to a case is erased on its own (DiscoveryErased): what the
    # coordinator's inbox was given about it goes, from the file too; another one stays.
    inbox = Inbox(SqliteDatabase(tmp_path / "inbox.sqlite"))
    stream, discovery_id, other = two_discoveries()
    stream.event(
        ev.DiscoveryErased(
            occurred_at=T0,
            discovery_id=discovery_id,
            ward=WARD,
            decided_by="試験課",
            reason="保存期間満了",
        ),
        basis="none",
    )
    consume(stream, inbox)
    rows = only_the_erased_discovery_cleared(inbox, discovery_id, other)
    assert len([r for r in rows if str(discovery_id) in repr(r)]) == 2  # the records stay
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("inbox.sqlite*")))
    assert PERSON["name"].encode() in stored  # the other discovery's
    assert stored.count(PERSON["address"].encode()) == 1


def test_an_erased_persons_fields_leave_the_inbox_file_too(tmp_path: Path) -> None:
    # The agency client keeps running: the emptied fields must not stay readable in the
    # database file's free space or its write-ahead log.
    inbox = Inbox(SqliteDatabase(tmp_path / "inbox.sqlite"))
    stream = Stream()
    case_id, _ = stream.referral(note="試験の消えるメモ", basis="consent", basis_ref="c-1")
    stream.erasure(case_id)
    consume(stream, inbox)
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("inbox.sqlite*")))
    assert "試験の消えるメモ".encode() not in stored


def test_a_coordinators_inbox_lists_its_discovery_notices_without_the_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub agency inbox --agency <ward>.coordinator` applied the ward's discoveries (the
    coordinator's notices) but listed only referrals: they now have a table of their own,
    when, how urgent, by whom, which signs; an erased one marked; never the person."""
    from typer.testing import CliRunner

    from consumers.config import get_consumer_settings
    from hub.settings import get_settings
    from ops.cli.main import app as cli

    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(tmp_path / "{agency}.sqlite"))
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()  # an earlier test's inbox path is not this one
    coordinator = f"{WARD}.coordinator"
    stream, discovery_id, other = two_discoveries()
    stream.event(
        ev.DiscoveryErased(
            occurred_at=T0, discovery_id=other, ward=WARD, decided_by="試験課", reason="試験"
        ),
        basis="none",
    )
    third, case_id = uuid4(), uuid4()  # a discovery erased with the case opened from it
    reported(stream, third, person=None)
    stream.erasure(case_id, third)
    held = Inbox(SqliteDatabase(tmp_path / f"{coordinator}.sqlite"))
    try:
        consume(stream, held)
        listed = held.discoveries()
    finally:
        held.close()
    assert {d["discovery_id"]: d["erased"] for d in listed} == {
        str(discovery_id): False,
        str(other): True,
        str(third): True,
    }
    assert all(d["signs"] == ["mailbox_full"] and d["urgency"] == "soon" for d in listed)
    runner = CliRunner()
    table = runner.invoke(cli, ["agency", "inbox", "--agency", coordinator], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    assert "発見の通報" in table.stdout and "民生委員" in table.stdout
    assert "（消去済み）" in table.stdout and PERSON["name"] not in table.stdout
    # No referral yet: one line says so, not a header over no rows above the notices.
    assert "の受信箱\n紹介はまだありません" in table.stdout and "緊急度・目的" not in table.stdout
    shown = runner.invoke(cli, ["agency", "inbox", "--agency", coordinator, "--json"])
    (first, *_) = json.loads(shown.stdout)["discoveries"]
    assert first["signs_label"] and first["reporter_kind_label"].startswith("民生委員")
    assert first["channel"] == "phone" and first["channel_label"] == "電話"  # every coded field
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()


@pytest.fixture
def inbox_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The agency's inbox file where `hub agency inbox` reads it (development settings)."""
    from consumers.config import get_consumer_settings
    from hub.settings import get_settings

    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(tmp_path / "{agency}.sqlite"))
    for cached in (get_settings, get_consumer_settings):
        cached.cache_clear()
    yield tmp_path / f"{AGENCY}.sqlite"
    for cached in (get_settings, get_consumer_settings):
        cached.cache_clear()


def kept(stream: Stream, path: Path, then: Callable[[Inbox], object] | None = None) -> None:
    """The stream as the agency's client keeps it in the inbox file at ``path``."""
    held = Inbox(SqliteDatabase(path))
    try:
        consume(stream, held)
        if then is not None:
            then(held)
    finally:
        held.close()


def agency_inbox(*args: str) -> str:
    """What `hub agency inbox --agency AGENCY ARGS` prints."""
    from typer.testing import CliRunner

    from ops.cli.main import app as cli

    shown = CliRunner().invoke(cli, ["agency", "inbox", "--agency", AGENCY, *args])
    assert shown.exit_code == 0, shown.output
    return shown.stdout


def test_the_inbox_json_labels_the_disclosures_and_gives_the_answers_sent_in_jst(
    inbox_file: Path,
) -> None:
    """README's output conventions hold inside a referral too: each disclosure's event type
    and basis with their labels, each answer sent with its label and its time in JST (the
    inbox keeps it in UTC)."""
    stream = Stream()
    _, referral_id = stream.referral()
    reply = (str(uuid4()), str(referral_id), "accepted", "2025-05-02T01:00:00+00:00")
    kept(stream, inbox_file, lambda held: held.record_reply(*reply))
    (referral,) = json.loads(agency_inbox("--json"))["referrals"]
    (sent,) = referral["replies_sent"]
    assert sent == {
        "answer": "accepted",
        "answer_label": "受諾",
        "answered_at": "2025-05-02T10:00:00+09:00",
    }
    first = referral["disclosures"][0]
    assert first["event_type"] == "ReferralMade" and first["event_type_label"]
    assert first["basis_label"]


def test_a_cancelled_referrals_reason_code_has_its_label_in_json_and_csv(inbox_file: Path) -> None:
    """A cancellation keeps its reason as a code (`hub ref codes cancel_reason`): README's
    output conventions give every coded field `x` its `x_label`, so it is labelled there."""
    stream = Stream()
    case_id, referral_id = stream.referral()
    stream.event(
        ev.ReferralCancelled(
            occurred_at=T0 + timedelta(hours=1),
            case_id=case_id,
            referral_id=referral_id,
            agency_id=AGENCY,
            reason_code="referred_elsewhere",
        ),
        basis="none",
    )
    kept(stream, inbox_file)
    (referral,) = json.loads(agency_inbox("--json"))["referrals"]
    assert referral["status"] == "cancelled" and referral["status_label"] == "取消"
    assert referral["status_reason"] == "referred_elsewhere"
    assert referral["status_reason_label"] == label("cancel_reason", "referred_elsewhere")
    (row,) = csv.DictReader(io.StringIO(agency_inbox("--format", "csv").lstrip("\ufeff")))
    assert row["status_reason_label"] == "他機関へつないだ"


def test_the_inbox_csv_says_what_was_disclosed_and_what_withheld(inbox_file: Path) -> None:
    """README: the inbox gives per referral the data disclosed and on which basis, or the
    notice; the CSV had the basis only, neither the data nor what was withheld."""
    stream = Stream()
    case_id, _ = stream.referral(note="試験のメモ", basis="consent", basis_ref="c-1")
    stream.event(
        ev.PersonDetailsRecorded(occurred_at=T0, case_id=case_id, person=PERSON),
        basis="consent",
        basis_ref="c-1",
    )
    stream.referral()  # a notice: no basis, the note withheld
    kept(stream, inbox_file)
    shown = agency_inbox("--format", "csv").lstrip("\ufeff")
    rows = {r["case_id"]: r for r in csv.DictReader(io.StringIO(shown))}
    given = rows.pop(str(case_id))
    assert given["disclosed"] == (
        "note: 試験のメモ; person.address: 北九州市架空町1-2-3; "
        "person.kana: シケン ハナコ; person.name: 試験 花子"
    )
    (notice,) = rows.values()
    assert (notice["basis"], notice["disclosed"], notice["withheld"]) == ("none", "", "note")


def test_the_inbox_lists_oldest_first_by_the_instant_whatever_zone_it_was_written_in(
    inbox: Inbox,
) -> None:
    """Records keep the zone their command was written in (the pages write JST, the
    acknowledgement timers UTC, an API client either): 08:00 JST on 1 May is 23:00 UTC on
    30 April, before 00:30 UTC on 1 May, though its text sorts after it."""
    from datetime import UTC

    stream = Stream()
    early = datetime(2025, 5, 1, 8, 0, tzinfo=JST)  # 2025-04-30T23:00Z
    late = datetime(2025, 5, 1, 0, 30, tzinfo=UTC)  # 09:30 JST
    late_case, late_referral = stream.referral(at=late)
    early_case, early_referral = stream.referral(at=early)
    for case_id, referral_id, at in (
        (late_case, late_referral, late),
        (early_case, early_referral, early),
    ):
        stream.escalation(case_id, referral_id, at + timedelta(hours=2), overdue_minutes=5)
    consume(stream, inbox)
    assert [r["referral_id"] for r in inbox.referrals()] == [
        str(early_referral),
        str(late_referral),
    ]
    assert [e["referral_id"] for e in inbox.escalations("moji.coordinator")] == [
        str(early_referral),
        str(late_referral),
    ]


def test_the_answers_sent_are_listed_by_their_instant_a_late_entry_in_its_own_zone(
    inbox: Inbox,
) -> None:
    """`hub agency ack` stamps an answer in UTC; `--at` keeps the zone typed (a late entry
    at 09:30 JST is 00:30 UTC): the answers sent are listed as they happened."""
    from datetime import UTC

    stream = Stream()
    _, referral_id = stream.referral()
    consume(stream, inbox)
    inbox.record_reply(
        "r-now", str(referral_id), "accepted", datetime(2025, 5, 2, 1, 0, tzinfo=UTC).isoformat()
    )
    inbox.record_reply(
        "r-late", str(referral_id), "received", datetime(2025, 5, 2, 9, 30, tzinfo=JST).isoformat()
    )
    (referral,) = inbox.referrals()
    assert [r["answer"] for r in referral["replies_sent"]] == ["received", "accepted"]
