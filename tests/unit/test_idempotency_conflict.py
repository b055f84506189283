"""A reused command id: the same command is a duplicate, a different one is refused.

A caller who reused an id for a ``life_at_risk`` referral to another agency must not be told
"already applied": the receipt keeps a digest of the command it accepted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner

from hub import commands as c
from hub.application import HubApplication, keyed_digest
from hub.commands import command_digest
from hub.domain.others import CommandReceipt, receipt_id
from hub.errors import IdempotencyConflictError
from hub.settings import get_settings
from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()


@pytest.fixture
def app(sqlite_env: dict[str, str]) -> Iterator[HubApplication]:
    application = HubApplication(env=sqlite_env)
    yield application
    application.close()


def _opened(app: HubApplication) -> object:
    return app.execute(f.consultation()).aggregate_ids[0]


def test_the_same_command_again_is_a_duplicate(app: HubApplication) -> None:
    case_id = _opened(app)
    command = f.referral(case_id, urgency="life_at_risk")
    assert not app.execute(command).duplicate
    end = app.recorder.max_notification_id()
    assert app.execute(command).duplicate
    assert app.recorder.max_notification_id() == end


def test_the_same_command_spelled_otherwise_is_a_duplicate(app: HubApplication) -> None:
    case_id = _opened(app)
    command = f.referral(case_id)
    app.execute(command)
    in_utc = command.model_copy(update={"occurred_at": command.occurred_at.astimezone(UTC)})
    assert command_digest(in_utc) == command_digest(command)
    assert app.execute(in_utc).duplicate


def test_a_reused_id_with_other_content_is_refused_and_writes_nothing(
    app: HubApplication,
) -> None:
    case_id = _opened(app)
    first = f.referral(case_id, agency_id="kokurakita.hogo", urgency="life_at_risk")
    app.execute(first)
    end = app.recorder.max_notification_id()
    other = f.referral(
        case_id, agency_id="moji.houkatsu", urgency="life_at_risk", command_id=first.command_id
    )
    with pytest.raises(IdempotencyConflictError, match=str(first.command_id)):
        app.execute(other)
    assert app.recorder.max_notification_id() == end
    referrals = app.get_case(case_id).referrals  # type: ignore[arg-type]
    assert [r.agency_id for r in referrals.values()] == ["kokurakita.hogo"]


def test_a_reused_id_on_another_case_is_refused(app: HubApplication) -> None:
    first = f.referral(_opened(app))
    app.execute(first)
    other_case = _opened(app)
    end = app.recorder.max_notification_id()
    with pytest.raises(IdempotencyConflictError):
        app.execute(f.referral(other_case, command_id=first.command_id))
    assert app.recorder.max_notification_id() == end
    assert app.get_case(other_case).referrals == {}  # type: ignore[arg-type]


def test_a_reused_id_names_the_command_it_was_first_used_for(app: HubApplication) -> None:
    """Reused for another type, the refusal said 'a different ReportDiscovery' of an id
    given to a CancelReferral: the type it was used for, and the one sent, are named."""
    first = f.discovery()
    app.execute(first)
    with pytest.raises(IdempotencyConflictError) as same_type:
        app.execute(f.discovery(command_id=first.command_id, ward="moji"))
    assert "already used for a different ReportDiscovery;" in str(same_type.value)
    with pytest.raises(IdempotencyConflictError) as other_type:
        app.execute(f.open_case(command_id=first.command_id))
    assert "already used for ReportDiscovery (this is OpenCase);" in str(other_type.value)


def _stored_digest(app: HubApplication, command_id: UUID) -> str | None:
    receipt = app.repository.get(receipt_id(command_id))
    assert isinstance(receipt, CommandReceipt)
    return receipt.command_digest


def test_the_receipt_keeps_the_digest_keyed_by_the_persons_data_key(
    app: HubApplication, sqlite_env: dict[str, str]
) -> None:
    """A plain SHA-256 of a command holding a person's details confirmed a guess of them by
    trying every birth date, from a copy of the store, and after the person was erased."""
    command = f.consultation()
    outcome = app.execute(command)
    case_id = str(outcome.aggregate_ids[0])
    stored = _stored_digest(app, command.command_id)
    key = app.data_keys.digest_key(case_id)
    assert key is not None
    assert stored == keyed_digest(case_id, key, command_digest(command))
    with sqlite3.connect(sqlite_env["SQLITE_DBNAME"]) as db:
        states = b"".join(row[0] for row in db.execute("SELECT state FROM stored_events"))
    assert command_digest(command).encode() not in states


def test_after_an_erasure_the_persons_receipts_confirm_nothing(app: HubApplication) -> None:
    """Its key destroyed, no digest of the person's commands can be checked any more: the
    same id again counts as the command accepted, whatever it holds, and writes nothing."""
    command = f.consultation()
    case_id = app.execute(command).aggregate_ids[0]
    app.erase_person(case_id, decided_by="試験課", reason="保存期間満了")
    assert app.data_keys.digest_key(str(case_id)) is None
    end = app.recorder.max_notification_id()
    other = f.consultation(command_id=command.command_id, person=f.person(name="架空 次郎"))
    assert app.execute(command).duplicate and app.execute(other).duplicate
    assert app.recorder.max_notification_id() == end


def test_a_command_of_no_person_keeps_its_digest_plain(app: HubApplication) -> None:
    target = c.SetTarget(
        command_id=uuid4(),
        occurred_at=f.at(0),
        fiscal_year=2026,
        indicator="plans_made",
        value=700,
    )
    app.execute(target)
    assert _stored_digest(app, target.command_id) == command_digest(target)
    with pytest.raises(IdempotencyConflictError):
        app.execute(target.model_copy(update={"value": 701}))


def _recorded_by_an_earlier_release(
    env: dict[str, str], command: c.Command, fields: dict[str, str | None]
) -> HubApplication:
    """A hub reopened over ``command`` recorded, its receipt as an earlier release wrote it:
    ``fields`` set in the receipt's payload (None: the field left out), below the hub."""
    app = HubApplication(env=env)
    app.execute(command)
    app.close()
    with sqlite3.connect(env["SQLITE_DBNAME"]) as db:
        originator = receipt_id(command.command_id).hex
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE originator_id = ?", (originator,)
        ).fetchone()
        data = json.loads(state)
        for name, value in fields.items():
            if value is None:
                data["payload"]["_data_"].pop(name, None)
            else:
                data["payload"]["_data_"][name] = value
        db.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ?",
            (json.dumps(data, ensure_ascii=False).encode(), originator),
        )
    return HubApplication(env=env)


def test_a_receipt_kept_plain_by_an_earlier_release_is_still_judged(
    sqlite_env: dict[str, str],
) -> None:
    """Receipts written before digests were keyed hold the plain SHA-256."""
    command = f.consultation()
    app = _recorded_by_an_earlier_release(
        sqlite_env, command, {"command_digest": command_digest(command)}
    )
    try:
        assert app.execute(command).duplicate
        with pytest.raises(IdempotencyConflictError):
            app.execute(
                f.consultation(command_id=command.command_id, window_agency="moji.houkatsu")
            )
    finally:
        app.close()


def test_a_receipt_written_before_digests_takes_any_command_with_its_id(
    sqlite_env: dict[str, str],
) -> None:
    command = f.discovery()
    app = _recorded_by_an_earlier_release(sqlite_env, command, {"command_digest": None})
    try:
        other = f.discovery(command_id=command.command_id, ward="moji")
        assert app.execute(other).duplicate
    finally:
        app.close()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_hub_command_exits_non_zero_naming_the_conflict(store: Path) -> None:
    first = f.discovery(urgency="urgent")
    assert runner.invoke(cli, ["command", first.model_dump_json()]).exit_code == 0
    again = runner.invoke(cli, ["command", first.model_dump_json()])
    assert again.exit_code == 0 and "already applied" in again.stdout
    reused = f.discovery(command_id=first.command_id, ward="moji")
    result = runner.invoke(cli, ["command", reused.model_dump_json()])
    assert result.exit_code == 1
    assert "IdempotencyConflictError" in result.stderr
    assert "already applied" not in result.output


def test_hub_submit_names_the_conflicting_line(store: Path) -> None:
    first = f.discovery()
    reused = f.discovery(command_id=first.command_id, ward="moji")
    file = store / "commands.jsonl"
    lines = [first.model_dump_json(), first.model_dump_json(), reused.model_dump_json()]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["submit", str(file)])
    assert result.exit_code == 1
    assert "3 lines: 1 written (1 events), 1 already applied, 1 rejected" in result.stdout
    said = " ".join(result.stderr.split())  # the console wraps at 80 columns
    assert f"line 3: IdempotencyConflictError: command_id {first.command_id}" in said


def test_an_erasure_by_another_process_leaves_this_ones_keys_confirming_nothing(
    sqlite_env: dict[str, str],
) -> None:
    """A serving process held the person's key from before another process erased them:
    a reused id with a guessed name was told apart from a wrong guess (a review session)."""
    serving = HubApplication(env=sqlite_env)
    try:
        command = f.consultation()
        case_id = serving.execute(command).aggregate_ids[0]
        assert serving.data_keys.digest_key(str(case_id)) is not None  # held in its cache
        other = HubApplication(env=sqlite_env)
        try:
            other.erase_person(case_id, decided_by="試験課", reason="保存期間満了")
        finally:
            other.close()
        guessed = f.consultation(command_id=command.command_id, person=f.person(name="架空 次郎"))
        assert serving.execute(command).duplicate and serving.execute(guessed).duplicate
    finally:
        serving.close()
