"""Erasure (issue 19): `hub privacy erase` records who decided and why, destroys the
person's data keys, every later read shows the fields as erased, and the views, the audit
and the chain still work with the same counts."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import (
    CaseNotFoundError,
    InvalidCommandError,
    PermissionDeniedError,
    PersonErasedError,
)
from hub.identity import Actor, Role
from hub.retention import RetentionSchedule, due_cases
from hub.sealing import ERASED
from hub.settings import get_settings
from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()
ADMIN = Actor("shiken.kanri@city.example", Role.administrator)


def _open() -> HubApplication:
    return HubApplication(env=get_settings().eventsourcing_env())


def _people(app: HubApplication) -> tuple[UUID, UUID, UUID]:
    """A case opened from a discovery (both hold the person) and another case."""
    discovery = app.execute(f.discovery(ward="tobata", person=f.person()))
    discovery_id = discovery.aggregate_ids[0]
    case_id = uuid4()
    app.execute(
        f.open_case(case_id=case_id, discovery_id=discovery_id, person=f.person(), ward="tobata")
    )
    app.execute(f.referral(case_id, "tobata.houkatsu", referral_id=uuid4(), occurred_at=f.at(1)))
    app.execute(f.plan(case_id, occurred_at=f.at(2)))
    other = app.execute(f.consultation(person=f.person(name="試験 次郎"))).aggregate_ids[0]
    return case_id, discovery_id, other


def _payloads(app: HubApplication, aggregate_id: UUID) -> list[ev.Event]:
    return [e.payload for e in app.events.get(aggregate_id)]  # type: ignore[attr-defined]


def _cli(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_erase_destroys_the_keys_and_every_read_shows_the_fields_erased(cli_store: Path) -> None:
    app = _open()
    case_id, discovery_id, other = _people(app)
    events_before = app.recorder.max_notification_id()
    app.close()
    _cli("rebuild")
    views_before = _cli("case", "list", "--json")
    indicators_before = _cli("report", "indicators", "--fy", "R7")

    said = _cli(
        "privacy", "erase", "--case", str(case_id),
        "--decided-by", "北九州市 保健福祉局 試験課", "--reason", "保存期間満了",
    )  # fmt: skip
    assert "2 data key(s) destroyed" in said

    app = _open()
    try:
        opened, *rest, erased = _payloads(app, case_id)
        assert isinstance(erased, ev.PersonErased)
        assert (erased.decided_by, erased.reason) == ("北九州市 保健福祉局 試験課", "保存期間満了")
        assert set(erased.subjects) == {str(case_id), str(discovery_id)}
        assert erased.actor is not None and erased.actor.role == "administrator"
        assert opened.person.name == ERASED and opened.person.health == ERASED
        assert "person.name" in ev.erased_fields(opened)
        referral = next(p for p in rest if isinstance(p, ev.ReferralMade))
        assert referral.person.name == ERASED
        reported = _payloads(app, discovery_id)[0]
        assert reported.person.name == ERASED and reported.note == ERASED
        assert _payloads(app, other)[0].person.name == "試験 次郎"  # someone else: untouched
        assert app.recorder.max_notification_id() == events_before + 1
    finally:
        app.close()
    with sqlite3.connect(cli_store / "hub.sqlite") as db:
        keys = dict(db.execute("SELECT subject, wrapped_key FROM stored_events_keys"))
    assert keys[str(case_id)] is None and keys[str(discovery_id)] is None
    assert keys[str(other)] is not None

    _cli("rebuild")
    assert _cli("case", "list", "--json") == views_before
    assert _cli("report", "indicators", "--fy", "R7") == indicators_before
    assert "INTACT" in _cli("audit", "verify-log", "--no-witness").upper()


def test_an_erased_case_takes_no_personal_data_any_more(cli_store: Path) -> None:
    app = _open()
    try:
        case_id, _, _ = _people(app)
        app.erase_person(case_id, decided_by="試験課", reason="本人の求め", actor=ADMIN)
        size = app.recorder.max_notification_id()
        # Refused, not "recorded" into nothing (the API said 201, the CLI "recorded").
        with pytest.raises(PersonErasedError, match="a new case"):
            app.execute(
                f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(name="試験 新名"))
            )
        assert app.recorder.max_notification_id() == size
    finally:
        app.close()
    stored = b"".join(p.read_bytes() for p in cli_store.glob("hub.sqlite*"))
    assert "試験 新名".encode() not in stored


def test_erasing_again_writes_nothing(cli_store: Path) -> None:
    app = _open()
    try:
        case_id, _, _ = _people(app)
        app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
        size = app.recorder.max_notification_id()
        app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
        assert app.recorder.max_notification_id() == size
    finally:
        app.close()


@pytest.mark.parametrize("role", [Role.ward_officer, Role.coordinator, Role.auditor])
def test_only_an_administrator_erases(cli_store: Path, role: Role) -> None:
    app = _open()
    try:
        case_id, _, _ = _people(app)
        size = app.recorder.max_notification_id()
        with pytest.raises(PermissionDeniedError):
            app.erase_person(
                case_id, decided_by="試験課", reason="保存期間満了", actor=Actor("試験.x", role)
            )
        assert app.recorder.max_notification_id() == size
        assert _payloads(app, case_id)[0].person.name == f.SYNTHETIC_NAME
    finally:
        app.close()


def test_an_erasure_needs_a_case_a_decider_and_a_reason(cli_store: Path) -> None:
    app = _open()
    try:
        case_id, _, _ = _people(app)
        with pytest.raises(CaseNotFoundError):
            app.erase_person(uuid4(), decided_by="試験課", reason="保存期間満了", actor=ADMIN)
        with pytest.raises(InvalidCommandError, match="who decided"):
            app.erase_person(case_id, decided_by="  ", reason="保存期間満了", actor=ADMIN)
        with pytest.raises(InvalidCommandError, match="who decided"):
            app.erase_person(case_id, decided_by="試験課", reason="", actor=ADMIN)
        assert _payloads(app, case_id)[0].person.name == f.SYNTHETIC_NAME
    finally:
        app.close()
    result = runner.invoke(
        cli, ["privacy", "erase", "--case", "nope", "--decided-by", "x", "--reason", "y"]
    )
    assert result.exit_code == 2  # invalid input
    refusal = "Error: --case: no case id is or starts with 'nope'"
    assert result.stderr.strip().splitlines() == [refusal]


def test_retention_lists_closed_cases_past_their_years_until_erased(cli_store: Path) -> None:
    app = _open()
    try:
        closed, _, still_open = _people(app)
        app.execute(f.build(c.CloseCase, case_id=closed, reason="支援終結", occurred_at=f.at(10)))
    finally:
        app.close()
    last = f.at(10).date()  # 2025-04-20 in JST
    due_day = last.replace(year=last.year + 5)
    before = _cli("privacy", "retention", "--as-of", (due_day - timedelta(days=1)).isoformat())
    assert "due on" in before and str(closed) not in before
    assert "details kept 5 years after" in before
    listed = _cli("privacy", "retention", "--as-of", due_day.isoformat())
    assert str(closed) in listed and str(still_open) not in listed
    assert f"期限 {due_day}" in listed
    assert max(cell_len(line) for line in listed.splitlines()) <= 80, listed
    _cli(
        "privacy",
        "erase",
        "--case",
        str(closed),
        "--decided-by",
        "試験課",
        "--reason",
        "保存期間満了",
    )
    assert str(closed) not in _cli("privacy", "retention", "--as-of", due_day.isoformat())


def test_one_year_of_retention_is_said_so(cli_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_RETENTION_CLOSED_CASE_YEARS", "1")
    get_settings.cache_clear()
    try:
        assert "details kept 1 year after the last" in _cli("privacy", "retention")
    finally:
        get_settings.cache_clear()


def test_a_back_dated_record_after_closing_does_not_bring_the_retention_forward(
    cli_store: Path,
) -> None:
    # The period runs from the closed case's last record (docs/PRIVACY.md): a 利用停止 request
    # recorded after the closure but dated before it does not make the erasure due earlier,
    # whether the case view caught up event by event or was rebuilt in one pass.
    app = _open()
    try:
        closed, _, _ = _people(app)
        app.execute(f.build(c.CloseCase, case_id=closed, reason="支援終結", occurred_at=f.at(10)))
        app.execute(f.build(c.RequestUseStop, case_id=closed, occurred_at=f.at(5)))
    finally:
        app.close()
    last = f.at(10).date()
    due_day = last.replace(year=last.year + 5)
    for rebuilt in (False, True):
        if rebuilt:
            _cli("rebuild", "--projection", "case_state")
        early = _cli("privacy", "retention", "--as-of", (due_day - timedelta(days=1)).isoformat())
        assert str(closed) not in early, rebuilt
        listed = _cli("privacy", "retention", "--as-of", due_day.isoformat())
        assert f"{closed}" in listed and f"最終記録 {last}" in listed, rebuilt


@pytest.mark.parametrize(
    "record", ["RecordPersonDetails", "ClearPersonDetails", "ReviewBreakGlass"]
)
def test_a_record_a_closed_case_takes_restarts_its_retention(cli_store: Path, record: str) -> None:
    """docs/PRIVACY.md: the period runs from the closed case's last record. A correction of
    the person's details (訂正, allowed on a closed case: docs/RIGHTS.md), its clearing or a
    break-glass verdict is such a record, yet the case view did not move the case's last
    record for them: the list named the case as due five years after the closure, while it
    held details recorded later (an erasure then disposes of them before their time)."""
    app = _open()
    try:
        closed, _, _ = _people(app)
        declaration = uuid4()
        app.execute(
            f.build(
                c.DeclareEmergency,
                case_id=closed,
                declaration_id=declaration,
                agencies=["tobata.houkatsu"],
                data_categories=["identity"],
                reason="安否不明（試験）",
                expires_at=f.at(4),
                sensitive_categories=["health"],
                sensitive_reason="持病の確認（試験）",
                occurred_at=f.at(3),
            )
        )
        app.execute(f.build(c.CloseCase, case_id=closed, reason="支援終結", occurred_at=f.at(10)))
        later = f.at(10) + timedelta(days=400)
        command = {
            "RecordPersonDetails": lambda: f.build(
                c.RecordPersonDetails,
                case_id=closed,
                person={"address": "北九州市架空区試験町9-9"},
                occurred_at=later,
            ),
            "ClearPersonDetails": lambda: f.build(
                c.ClearPersonDetails, case_id=closed, fields=["phone"], occurred_at=later
            ),
            "ReviewBreakGlass": lambda: f.build(
                c.ReviewBreakGlass,
                case_id=closed,
                declaration_id=declaration,
                reviewer="auditor",
                verdict="justified",
                occurred_at=later,
            ),
        }[record]()
        app.execute(command)
    finally:
        app.close()
    closing_due = f.at(10).date().replace(year=f.at(10).year + 5)
    last = later.date()
    for rebuilt in (False, True):
        if rebuilt:
            _cli("rebuild", "--projection", "case_state")
        assert str(closed) not in _cli("privacy", "retention", "--as-of", closing_due.isoformat())
        due_day = last.replace(year=last.year + 5)
        listed = _cli("privacy", "retention", "--as-of", due_day.isoformat())
        assert f"{closed}" in listed and f"最終記録 {last}" in listed, rebuilt


def test_the_retention_years_are_configurable() -> None:
    cases = [
        {"case_id": "a", "status": "closed", "updated_at": "2024-02-29T03:00:00+00:00"},
        {"case_id": "b", "status": "open", "updated_at": "2000-01-01T00:00:00+00:00"},
    ]
    assert [d.case_id for d in due_cases(cases, RetentionSchedule(1), date(2025, 2, 28))] == ["a"]
    assert due_cases(cases, RetentionSchedule(1), date(2025, 2, 27)) == []
    assert due_cases(cases, RetentionSchedule(5), date(2028, 12, 31)) == []


def test_an_erasure_a_reader_keeps_from_the_disk_says_so_and_completes_again(
    cli_store: Path,
) -> None:
    """The key's old bytes stay in the database file until the write-ahead log is copied
    over them; a reader on an older snapshot holds that back. The erasure then says so,
    and erasing again once the reader is done leaves the bytes nowhere in the files."""
    from hub.errors import ErasureIncompleteError

    app = HubApplication(env={**get_settings().eventsourcing_env(), "SQLITE_LOCK_TIMEOUT": "1"})
    try:
        case_id, _, _ = _people(app)
        with sqlite3.connect(cli_store / "hub.sqlite") as db:
            wrapped = db.execute(
                "SELECT wrapped_key FROM stored_events_keys WHERE subject = ?", (str(case_id),)
            ).fetchone()[0]
        with sqlite3.connect(cli_store / "hub.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the key now in the database
        reader = sqlite3.connect(cli_store / "hub.sqlite", isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM stored_events").fetchone()  # a snapshot held
        try:
            with pytest.raises(ErasureIncompleteError, match="erase again"):
                app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
            stored = b"".join(p.read_bytes() for p in cli_store.glob("hub.sqlite*"))
            assert wrapped in stored  # what the error is about
        finally:
            reader.execute("COMMIT")
            reader.close()
        app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
    finally:
        app.close()
    stored = b"".join(p.read_bytes() for p in cli_store.glob("hub.sqlite*"))
    assert wrapped not in stored


def test_a_read_of_an_erased_persons_details_shows_the_fields_erased(cli_store: Path) -> None:
    """README: after an erasure every later read shows the personal fields as ［消去済み］,
    `hub case show --person` too (it showed nothing at all)."""
    app = _open()
    try:
        case_id, _, _ = _people(app)
        app.erase_person(case_id, decided_by="試験課", reason="本人の求め", actor=ADMIN)
        person = app.read_person(case_id, None, "official_duty", "consultation")
        assert person is not None and person.name == ERASED and person.address == ERASED
        assert person.birth_date is None
    finally:
        app.close()
    shown = _cli("case", "show", str(case_id), "--person", "--purpose", "consultation")
    assert "本人情報" in shown and ERASED in shown


def test_case_show_refuses_an_unknown_purpose_even_with_no_details_to_show(
    cli_store: Path,
) -> None:
    """README: exit 2 for a bad value, nothing done; an erased case (nothing to record) let
    `--purpose bogus` through with exit 0."""
    app = _open()
    try:
        case_id, _, _ = _people(app)
        app.erase_person(case_id, decided_by="試験課", reason="本人の求め", actor=ADMIN)
    finally:
        app.close()
    for option in (("--purpose", "bogus"), ("--purpose", "consultation", "--basis", "bogus")):
        result = runner.invoke(cli, ["case", "show", str(case_id), "--person", *option])
        assert result.exit_code == 2, result.output
        assert "unknown value 'bogus'" in result.stderr


def test_an_erasure_in_an_unsealed_store_says_the_details_stay_in_its_events(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Development's HUB_SEAL_PERSONAL=false writes the details in plain: destroying a key
    disposes of nothing there, and the command said only that the fields read as erased."""
    monkeypatch.setenv("HUB_SEAL_PERSONAL", "false")
    get_settings.cache_clear()
    app = _open()
    case_id, _, _ = _people(app)
    app.close()
    result = runner.invoke(
        cli,
        [
            *("privacy", "erase", "--case", str(case_id)),
            *("--decided-by", "試験課", "--reason", "保存期間満了"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "HUB_SEAL_PERSONAL=false" in result.stderr and "stay in its" in result.stderr


def test_an_erasure_names_its_case_by_the_id_or_a_prefix_as_long_as_tables_print(
    cli_store: Path,
) -> None:
    app = _open()
    try:
        case_id, _, other = _people(app)
    finally:
        app.close()
    decision = ("--decided-by", "試験課", "--reason", "保存期間満了")
    # Unique today, but a few characters name a person by chance: an erasure is not undone.
    seven = str(case_id)[:7]
    short = runner.invoke(cli, ["privacy", "erase", "--case", seven, *decision])
    assert short.exit_code == 2
    refusal = f"Error: --case: give the case id or a prefix of 8 or more characters: {seven!r}"
    assert short.stderr.strip().splitlines() == [refusal]
    app = _open()
    try:
        assert _payloads(app, case_id)[0].person.name == f.SYNTHETIC_NAME
    finally:
        app.close()
    assert "消去 erased" in _cli("privacy", "erase", "--case", str(case_id)[:8], *decision)
    assert "消去 erased" in _cli("privacy", "erase", "--case", str(other).upper(), *decision)


def test_an_erasure_of_details_stored_before_sealing_says_they_stay_in_its_events(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written by a release before sealing holds the details in plain (as an unsealed
    store writes them): once the hub seals, an erasure there said only that a key was
    destroyed and the fields read as erased, though the events keep the name and address."""
    monkeypatch.setenv("HUB_SEAL_PERSONAL", "false")
    get_settings.cache_clear()
    app = _open()
    case_id, _, _ = _people(app)
    app.close()
    monkeypatch.setenv("HUB_SEAL_PERSONAL", "true")
    get_settings.cache_clear()
    decision = ("--decided-by", "試験課", "--reason", "保存期間満了")
    result = runner.invoke(cli, ["privacy", "erase", "--case", str(case_id), *decision])
    assert result.exit_code == 0, result.output
    assert "events stored before sealing hold these details in plain" in result.stderr
    # A person the hub sealed from the first event: nothing to say.
    app = _open()
    sealed = app.execute(f.consultation(person=f.person(name="試験 三郎"))).aggregate_ids[0]
    app.close()
    result = runner.invoke(cli, ["privacy", "erase", "--case", str(sealed), *decision])
    assert result.exit_code == 0, result.output
    assert "Note" not in result.stderr
