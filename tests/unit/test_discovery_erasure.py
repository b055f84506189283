"""Erasure of a discovery never linked to a case (docs/PRIVACY.md): its own event, then its
key; a discovery a case was opened from is erased with that case instead."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from hub import events as ev
from hub.application import HubApplication
from hub.errors import (
    DiscoveryOfACaseError,
    InvalidCommandError,
    NotFoundError,
    PermissionDeniedError,
)
from hub.identity import Actor, Role
from hub.sealing import ERASED
from hub.settings import get_settings
from tests import factories as f

ADMIN = Actor("shiken.kanri@city.example", Role.administrator)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def app(store: Path) -> Iterator[HubApplication]:
    application = HubApplication(env=get_settings().eventsourcing_env())
    yield application
    application.close()


def _reported(app: HubApplication) -> UUID:
    return app.execute(f.discovery(ward="tobata", person=f.person())).aggregate_ids[0]


def _payloads(app: HubApplication, aggregate_id: UUID) -> list[ev.Event]:
    return [e.payload for e in app.events.get(aggregate_id)]  # type: ignore[attr-defined]


def _wrapped_keys(store: Path) -> dict[str, bytes | None]:
    with sqlite3.connect(store / "hub.sqlite") as db:
        return dict(db.execute("SELECT subject, wrapped_key FROM stored_events_keys"))


def test_erasing_a_discovery_records_who_and_why_then_its_details_read_erased(
    store: Path, app: HubApplication
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
    keys = _wrapped_keys(store)
    assert keys[str(discovery_id)] is None and keys[str(other)] is not None
    stored = b"".join(p.read_bytes() for p in store.glob("hub.sqlite*"))
    assert f.SYNTHETIC_NAME.encode() not in stored


def test_a_process_that_reads_the_erasure_forgets_the_key_it_held(store: Path) -> None:
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
    store: Path, app: HubApplication
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
    store: Path, app: HubApplication
) -> None:
    discovery_id = _reported(app)
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id, ward="tobata"))
    size = app.recorder.max_notification_id()

    with pytest.raises(DiscoveryOfACaseError, match=f"erase the case.*--case {case_id}"):
        app.erase_discovery(discovery_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    assert app.recorder.max_notification_id() == size
    assert _wrapped_keys(store)[str(discovery_id)] is not None
    assert _payloads(app, discovery_id)[0].person.name == f.SYNTHETIC_NAME


@pytest.mark.parametrize("role", [Role.ward_officer, Role.coordinator, Role.auditor])
def test_only_an_administrator_erases_a_discovery(
    store: Path, app: HubApplication, role: Role
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
    store: Path, app: HubApplication
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
