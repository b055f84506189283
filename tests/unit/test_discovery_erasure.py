"""Erasure of a discovery never linked to a case (docs/PRIVACY.md): its own event, then its
key; a discovery a case was opened from is erased with that case instead."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from click.testing import Result
from rich.cells import cell_len
from typer.testing import CliRunner

from hub import events as ev
from hub.application import HubApplication
from hub.errors import (
    DiscoveryOfACaseError,
    InvalidCommandError,
    NotFoundError,
    PermissionDeniedError,
)
from hub.fiscal import JST
from hub.identity import Actor, Role
from hub.retention import RetentionSchedule, due_discoveries
from hub.sealing import ERASED
from hub.settings import get_settings
from ops.cli.main import app as cli
from projections.discoveries import DiscoveryRecord
from tests import factories as f

ADMIN = Actor("shiken.kanri@city.example", Role.administrator)


@pytest.fixture
def app(cli_store: Path) -> Iterator[HubApplication]:
    application = HubApplication(env=get_settings().eventsourcing_env())
    yield application
    application.close()


def _reported(app: HubApplication) -> UUID:
    return app.execute(f.discovery(ward="tobata", person=f.person())).aggregate_ids[0]


def _payloads(app: HubApplication, aggregate_id: UUID) -> list[ev.Event]:
    return [e.payload for e in app.events.get(aggregate_id)]  # type: ignore[attr-defined]


def _wrapped_keys(cli_store: Path) -> dict[str, bytes | None]:
    with sqlite3.connect(cli_store / "hub.sqlite") as db:
        return dict(db.execute("SELECT subject, wrapped_key FROM stored_events_keys"))


def test_erasing_a_discovery_records_who_and_why_then_its_details_read_erased(
    cli_store: Path, app: HubApplication
) -> None:
    discovery_id = _reported(app)
    other = _reported(app)
    events_before = app.recorder.max_notification_id()

    subject = app.erase_discovery(
        discovery_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN
    )

    assert subject == str(discovery_id)
    reported, erased = _payloads(app, discovery_id)
    assert isinstance(erased, ev.DiscoveryErased)
    assert (erased.decided_by, erased.reason) == ("試験 保健福祉局", "保存期間満了")
    assert erased.ward == "tobata"
    assert erased.actor is not None and erased.actor.role == "administrator"
    assert reported.person.name == ERASED and reported.note == ERASED
    assert {"person.name", "note"} <= set(ev.erased_fields(reported))
    assert _payloads(app, other)[0].person.name == f.SYNTHETIC_NAME  # someone else: untouched
    assert app.recorder.max_notification_id() == events_before + 1
    keys = _wrapped_keys(cli_store)
    assert keys[str(discovery_id)] is None and keys[str(other)] is not None
    stored = b"".join(p.read_bytes() for p in cli_store.glob("hub.sqlite*"))
    assert f.SYNTHETIC_NAME.encode() not in stored


def test_a_process_that_reads_the_erasure_forgets_the_key_it_held(cli_store: Path) -> None:
    office = HubApplication(env=get_settings().eventsourcing_env())
    reader = HubApplication(env=get_settings().eventsourcing_env())
    try:
        discovery_id = _reported(office)
        assert _payloads(reader, discovery_id)[0].person.name == f.SYNTHETIC_NAME  # key held
        office.erase_discovery(discovery_id, decided_by="試験課", reason="満了", actor=ADMIN)
        _payloads(reader, discovery_id)  # reads the erasure after the report it held
        assert _payloads(reader, discovery_id)[0].person.name == ERASED
    finally:
        office.close()
        reader.close()


def test_erasing_a_discovery_again_writes_nothing_and_destroys_the_key_again(
    cli_store: Path, app: HubApplication
) -> None:
    discovery_id = _reported(app)
    app.erase_discovery(discovery_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
    size = app.recorder.max_notification_id()
    destroyed: list[str] = []
    real = app.data_keys.destroy
    app.data_keys.destroy = lambda s: destroyed.append(s) or real(s)  # type: ignore[method-assign]

    app.erase_discovery(discovery_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    assert app.recorder.max_notification_id() == size
    assert destroyed == [str(discovery_id)]


def test_a_discovery_a_case_was_opened_from_is_erased_with_its_case(
    cli_store: Path, app: HubApplication
) -> None:
    discovery_id = _reported(app)
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id, ward="tobata"))
    size = app.recorder.max_notification_id()

    with pytest.raises(DiscoveryOfACaseError, match=f"erase the case.*--case {case_id}"):
        app.erase_discovery(discovery_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    assert app.recorder.max_notification_id() == size
    assert _wrapped_keys(cli_store)[str(discovery_id)] is not None
    assert _payloads(app, discovery_id)[0].person.name == f.SYNTHETIC_NAME


@pytest.mark.parametrize("role", [Role.ward_officer, Role.coordinator, Role.auditor])
def test_only_an_administrator_erases_a_discovery(
    cli_store: Path, app: HubApplication, role: Role
) -> None:
    discovery_id = _reported(app)
    size = app.recorder.max_notification_id()
    with pytest.raises(PermissionDeniedError):
        app.erase_discovery(
            discovery_id, decided_by="試験課", reason="保存期間満了", actor=Actor("試験.x", role)
        )
    assert app.recorder.max_notification_id() == size
    assert _payloads(app, discovery_id)[0].person.name == f.SYNTHETIC_NAME


def test_a_discovery_erasure_needs_a_discovery_a_decider_and_a_reason(
    cli_store: Path, app: HubApplication
) -> None:
    discovery_id = _reported(app)
    case_id = app.execute(f.consultation(person=f.person())).aggregate_ids[0]
    for missing in (uuid4(), case_id):  # nothing, or a case: no discovery by that id
        with pytest.raises(NotFoundError, match="no discovery"):
            app.erase_discovery(missing, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
    with pytest.raises(InvalidCommandError, match="who decided"):
        app.erase_discovery(discovery_id, decided_by=" ", reason="保存期間満了", actor=ADMIN)
    with pytest.raises(InvalidCommandError, match="who decided"):
        app.erase_discovery(discovery_id, decided_by="試験課", reason="", actor=ADMIN)
    assert _payloads(app, discovery_id)[0].person.name == f.SYNTHETIC_NAME


# The command line ---------------------------------------------------------------------------

runner = CliRunner()
DECISION = ("--decided-by", "試験 保健福祉局", "--reason", "保存期間満了")


def _erase(*args: str) -> Result:
    return runner.invoke(cli, ["privacy", "erase", *args, *DECISION])


def _recorded(cli_store: Path) -> tuple[UUID, UUID, UUID]:
    """A discovery no case was opened from, one a case was, and that case."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        alone, linked = _reported(app), _reported(app)
        case_id = uuid4()
        app.execute(f.open_case(case_id=case_id, discovery_id=linked, ward="tobata"))
    finally:
        app.close()
    return alone, linked, case_id


def test_the_cli_erases_a_discovery_by_its_id_or_a_prefix(cli_store: Path) -> None:
    alone, _, _ = _recorded(cli_store)
    second = _recorded(cli_store)[0]

    result = _erase("--discovery", str(alone))
    assert result.exit_code == 0, result.output
    assert f"消去 erased discovery {alone}" in result.output
    result = _erase("--discovery", str(second)[:8])
    assert result.exit_code == 0, result.output
    assert f"消去 erased discovery {second}" in result.output

    keys = _wrapped_keys(cli_store)
    assert keys[str(alone)] is None and keys[str(second)] is None
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        assert _payloads(app, second)[0].note == ERASED
    finally:
        app.close()


def test_the_cli_refuses_a_linked_discovery_and_bad_or_unknown_ids_with_their_codes(
    cli_store: Path,
) -> None:
    alone, linked, case_id = _recorded(cli_store)
    cases = [
        ((), 2, "exactly one of --case and --discovery"),
        (("--case", str(case_id), "--discovery", str(alone)), 2, "exactly one"),
        (("--discovery", "nope"), 2, "neither a discovery id nor a prefix"),
        (("--discovery", str(alone)[:7]), 2, "neither a discovery id nor a prefix"),
        (("--discovery", str(uuid4())), 3, "no discovery"),
        (("--discovery", "00000000"), 3, "no discovery"),
        (("--discovery", str(case_id)), 3, "no discovery"),
        (("--discovery", str(linked)), 1, f"erase the case (hub privacy erase --case {case_id})"),
    ]
    for args, code, said in cases:
        result = _erase(*args)
        assert result.exit_code == code, (args, result.output)
        assert said in result.stderr, (args, result.stderr)
    keys = _wrapped_keys(cli_store)
    assert keys[str(alone)] is not None and keys[str(linked)] is not None


def test_retention_lists_discoveries_never_linked_past_their_years_until_erased(
    cli_store: Path,
) -> None:
    alone, linked, case_id = _recorded(cli_store)
    last = f.at(0).astimezone(JST).date()
    due_day = last.replace(year=last.year + 5)

    def retention(day: date) -> str:
        result = runner.invoke(cli, ["privacy", "retention", "--as-of", day.isoformat()])
        assert result.exit_code == 0, result.output
        return result.output

    assert str(alone) not in retention(due_day - timedelta(days=1))
    listed = retention(due_day)
    assert f"{alone}  戸畑区" in listed and f"期限 {due_day}" in listed
    assert "0 case(s), 1 discovery(ies)" in listed
    assert max(cell_len(line) for line in listed.splitlines()) <= 80, listed
    assert str(linked) not in listed and str(case_id) not in listed  # kept with its case
    assert _erase("--discovery", str(alone)).exit_code == 0
    assert str(alone) not in retention(due_day)


def test_due_discoveries_skip_the_linked_and_the_erased_and_count_days_in_jst() -> None:
    late_utc = datetime(2024, 2, 28, 16, 0, tzinfo=UTC)  # 29 February in JST
    found = [
        DiscoveryRecord("a", "moji", late_utc),
        DiscoveryRecord("b", "moji", late_utc, case_id="c"),
        DiscoveryRecord("d", "moji", late_utc, erased=True),
    ]
    (due,) = due_discoveries(found, RetentionSchedule(1), date(2025, 2, 28))
    assert (due.discovery_id, due.last_record, due.due_on) == (
        "a",
        date(2024, 2, 29),
        date(2025, 2, 28),
    )
    assert due_discoveries(found, RetentionSchedule(1), date(2025, 2, 27)) == []


def test_the_erasures_list_names_erased_cases_only_never_a_discovery(cli_store: Path) -> None:
    # No agency confirms a discovery's erasure (ErasureConfirmed is a case's event), so
    # `hub privacy erasures` lists the erased case and not the erased discovery.
    alone, _, case_id = _recorded(cli_store)
    assert _erase("--discovery", str(alone)).exit_code == 0
    assert _erase("--case", str(case_id)).exit_code == 0

    result = runner.invoke(cli, ["privacy", "erasures"])
    assert result.exit_code == 0, result.output
    assert "消去 1 件" in result.output
    assert f"事例 {case_id}" in result.output
    assert str(alone) not in result.output
