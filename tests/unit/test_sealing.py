"""Per-person data keys (issue 19): personal fields sealed at rest, readable with their key,
read as erased once it is destroyed, and never with another key-encryption key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import MapperDeserialisationError

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import ConfigurationError, DataKeyUnavailableError
from hub.sealing import ERASED
from hub.settings import Settings
from projections.audit.tamper import verify_log
from tests import factories as f


def _store(tmp_path: Path, **update: object) -> dict[str, str]:
    settings = Settings(sqlite_path=tmp_path / "store.sqlite", var_dir=tmp_path / "var")
    return settings.model_copy(update=update).eventsourcing_env("sqlite")


def _case(app: HubApplication) -> UUID:
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, person=f.person()))
    app.execute(f.plan(case_id))
    return case_id


def _stored(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("store.sqlite*")))


def test_personal_fields_are_sealed_at_rest_and_read_back(tmp_path: Path) -> None:
    app = HubApplication(env=_store(tmp_path))
    case_id = _case(app)
    app.close()
    stored = _stored(tmp_path)
    for text in (f.SYNTHETIC_NAME, f.SYNTHETIC_ADDRESS, f.SYNTHETIC_HEALTH, f.SYNTHETIC_PHONE):
        assert text.encode() not in stored
    assert b"tobata" in stored  # what is not personal stays readable
    again = HubApplication(env=_store(tmp_path))
    opened, plan = (e.payload for e in again.events.get(case_id))  # type: ignore[attr-defined]
    assert opened.person.name == f.SYNTHETIC_NAME
    assert opened.person.birth_date.isoformat() == "1950-01-01"
    assert plan.goals and plan.goals != [ERASED]
    assert ev.erased_fields(opened) == ()


def test_a_destroyed_key_reads_as_erased_and_the_chain_still_verifies(tmp_path: Path) -> None:
    app = HubApplication(env=_store(tmp_path))
    case_id, other = _case(app), _case(app)
    assert app.data_keys.destroy(str(case_id))
    app.close()
    again = HubApplication(env=_store(tmp_path))
    opened, plan = (e.payload for e in again.events.get(case_id))  # type: ignore[attr-defined]
    assert opened.person.name == ERASED and opened.person.address == ERASED
    assert opened.person.birth_date is None
    assert "person.name" in ev.erased_fields(opened)
    assert "person.birth_date" in ev.erased_fields(opened)
    assert plan.goals == [ERASED] and plan.issues[0].issue == ERASED
    assert plan.issues[0].area  # not personal, kept
    untouched = next(iter(again.events.get(other))).payload  # type: ignore[attr-defined]
    assert untouched.person.name == f.SYNTHETIC_NAME
    assert verify_log(again.recorder).intact  # type: ignore[arg-type]
    # A later event of an erased person keeps nothing personal at all.
    again.execute(f.build(c.CloseCase, case_id=case_id, reason=f.SYNTHETIC_NOTE))
    again.close()
    assert f.SYNTHETIC_NOTE.encode() not in _stored(tmp_path)


def test_another_key_encryption_key_reads_nothing(tmp_path: Path) -> None:
    app = HubApplication(env=_store(tmp_path))
    case_id = _case(app)
    app.close()
    thief = HubApplication(env={**_store(tmp_path), "HUB_KEK": "試験-盗んだ-store-only"})
    with pytest.raises(MapperDeserialisationError, match="does not unwrap") as refused:
        list(thief.events.get(case_id))  # type: ignore[attr-defined]
    assert isinstance(refused.value.__cause__, DataKeyUnavailableError)


def test_a_changed_ciphertext_is_refused_not_read(tmp_path: Path) -> None:
    app = HubApplication(env=_store(tmp_path))
    case_id = _case(app)
    stored = app.recorder.select_events(case_id, limit=1)[0]
    state = stored.state.replace(b'"c":"', b'"c":"AAAA', 1)
    forged = type(stored)(stored.originator_id, stored.originator_version, stored.topic, state)
    with pytest.raises(MapperDeserialisationError) as refused:
        app.mapper.to_domain_event(forged)
    assert isinstance(refused.value.__cause__, InvalidTag)


def test_a_store_without_a_key_encryption_key_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in _store(tmp_path).items() if k != "HUB_KEK"}
    with pytest.raises(ConfigurationError, match="HUB_KEK"):
        HubApplication(env=env)


def test_development_makes_one_key_file_and_reuses_it(tmp_path: Path) -> None:
    first = _store(tmp_path)["HUB_KEK"]
    assert first == _store(tmp_path)["HUB_KEK"]
    key_file = tmp_path / "var" / "keys" / "kek.dev"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 32


def _payload_of(state: dict[str, Any]) -> dict[str, Any]:
    return state["payload"]["_data_"]  # type: ignore[no-any-return]


def _forged(stored: Any, state: dict[str, Any]) -> Any:
    return type(stored)(
        stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode()
    )


def test_sealed_fields_pasted_into_another_persons_event_are_refused(tmp_path: Path) -> None:
    app = HubApplication(env=_store(tmp_path))
    victim = uuid4()
    app.execute(f.open_case(case_id=victim, person=f.person(name="試験 別人")))
    target = app.recorder.select_events(victim, limit=1)[0]
    other = app.recorder.select_events(_case(app), limit=1)[0]
    state = json.loads(target.state)
    _payload_of(state)["_sealed_"] = _payload_of(json.loads(other.state))["_sealed_"]
    # The other person's details must not read as the victim's.
    with pytest.raises(MapperDeserialisationError):
        app.mapper.to_domain_event(_forged(target, state))


def test_sealed_fields_moved_between_events_of_one_person_are_refused(tmp_path: Path) -> None:
    app = HubApplication(env=_store(tmp_path))
    case_id = _case(app)
    first = app.execute(f.referral(case_id, note="試験 一件目のメモ"))
    assert first is not None
    app.execute(f.referral(case_id, note="試験 二件目のメモ"))
    made = [
        s
        for s in app.recorder.select_events(case_id)
        if b"ReferralMade" in s.topic.encode() or b"ReferralMade" in s.state
    ]
    assert len(made) == 2
    target = made[0]
    state = json.loads(target.state)
    _payload_of(state)["_sealed_"] = _payload_of(json.loads(made[1].state))["_sealed_"]
    with pytest.raises(MapperDeserialisationError):
        app.mapper.to_domain_event(_forged(target, state))


def test_a_destroyed_key_does_not_linger_in_the_write_ahead_log(tmp_path: Path) -> None:
    # A hub process stays open (the API) while an erasure destroys a key: the key's old row
    # must not stay readable in store.sqlite-wal until some later checkpoint reuses it.
    app = HubApplication(env=_store(tmp_path))
    case_id = _case(app)
    wrapped, _ = app.data_keys.table.get(str(case_id))
    assert wrapped is not None and wrapped in _stored(tmp_path)
    assert app.data_keys.destroy(str(case_id))
    assert wrapped not in _stored(tmp_path)
    app.close()


def test_a_log_copied_in_batches_gets_each_subjects_key_once_with_its_events(
    tmp_path: Path,
) -> None:
    """Events encoded by one application and inserted by its recorder directly (as
    ``ops.bench.logcopy`` does, in batches): each new subject's key is written with the
    batch of its first events and not again with the next batch."""
    from ops.bench.logcopy import copy_log

    source = HubApplication(env=_store(tmp_path / "source"))
    cases = [_case(source) for _ in range(3)]
    target = HubApplication(env=_store(tmp_path / "target"), seed_network=False)
    try:
        copied = copy_log(source, target, batch=3)
        assert copied == source.recorder.max_notification_id()
    finally:
        source.close()
        target.close()
    again = HubApplication(env=_store(tmp_path / "target"), seed_network=False)
    try:
        for case_id in cases:
            opened = next(iter(again.events.get(case_id))).payload  # type: ignore[attr-defined]
            assert opened.person.name == f.SYNTHETIC_NAME
    finally:
        again.close()


def test_only_the_payloads_the_log_holds_carry_the_erased_paths() -> None:
    # pydantic sets a private attribute up on every instance of a class declaring one,
    # nested records too: an eighth of a decode when every record had it.
    assert set(ev.Event.__private_attributes__) == {"_erased"}
    for nested in (ev.Record, ev.PersonDetails, ev.ActedBy, ev.IssueByArea, ev.AgencyRole):
        assert not nested.__private_attributes__, nested.__name__
