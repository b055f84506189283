"""A process keeps at most ``CACHED_KEYS`` unwrapped data keys (hub/keys.py): one reading a
whole log does not hold every subject's key; a key dropped is read again from the key
table, and a destroyed subject's mark is never dropped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from consumers.escalation import OpenReferrals
from hub import keys
from hub.application import HubApplication
from hub.commands import derived_id
from hub.errors import DataKeyUnavailableError, HubError
from hub.keys import DataKeys, LocalKeyWrapper, MemoryKeyTable
from hub.sealing import ERASED, sealed_subject
from hub.settings import Settings
from ops.bench.logs import LogSpec, generated
from ops.bench.relay import RecordingProducer
from ops.privacy import leak
from ops.wiring import open_ledger
from producers.relay import Relay
from projections.audit.source import log_entries
from projections.case_history import case_history
from projections.discoveries import discoveries
from projections.runner import catch_up_all, following, open_projection
from tests import factories as f

NONCE = b"\x00" * keys.NONCE_SIZE


def _live(data_keys: DataKeys) -> int:
    return sum(1 for cipher in data_keys._cache.values() if cipher is not None)


def test_at_most_the_bound_is_kept_and_a_dropped_key_is_the_same_key_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keys, "CACHED_KEYS", 3)
    data_keys = DataKeys(MemoryKeyTable(), LocalKeyWrapper(b"test kek"))
    sealed = {}
    for n in range(10):
        cipher = data_keys.for_writing(f"subject-{n}")
        assert cipher is not None
        sealed[n] = cipher.encrypt(NONCE, f"試験 {n}".encode(), None)
        assert _live(data_keys) <= 3
    for n in range(10):  # the first seven were dropped: read and unwrapped again
        cipher = data_keys.for_reading(f"subject-{n}")
        assert cipher is not None
        assert cipher.decrypt(NONCE, sealed[n], None) == f"試験 {n}".encode()
    assert _live(data_keys) == 3


def test_a_key_read_before_an_erasure_on_another_thread_is_not_kept_after_it() -> None:
    """A reader missed the cache and read the key's row; an erasure destroyed the key
    before the reader kept it. The mark stands: the process reads the subject as erased."""
    import threading

    table = MemoryKeyTable()
    data_keys = DataKeys(table, LocalKeyWrapper(b"test kek"))
    assert data_keys.for_writing("erased") is not None
    data_keys._cache.clear()  # as in another process: the key not held yet
    data_keys._live.clear()
    row_read, erased = threading.Event(), threading.Event()
    original_get = table.get

    def slow_get(subject: str) -> tuple[bytes | None, bool]:
        found = original_get(subject)
        if threading.current_thread() is not threading.main_thread():
            row_read.set()
            erased.wait(10)
        return found

    table.get = slow_get  # type: ignore[method-assign]
    read: list[object] = []
    reader = threading.Thread(target=lambda: read.append(data_keys.for_reading("erased")))
    reader.start()
    assert row_read.wait(10)
    assert data_keys.destroy("erased")
    erased.set()
    reader.join(10)
    assert read == [None]
    assert data_keys.for_reading("erased") is None


def test_a_destroyed_subjects_mark_outlives_any_number_of_other_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keys, "CACHED_KEYS", 2)
    data_keys = DataKeys(MemoryKeyTable(), LocalKeyWrapper(b"test kek"))
    assert data_keys.for_writing("erased") is not None
    # Another process recorded the erasure; its key row is not destroyed yet.
    data_keys.forget("erased")
    for n in range(20):
        data_keys.for_writing(f"other-{n}")
    assert data_keys.for_reading("erased") is None
    assert data_keys.for_writing("erased") is None


def test_a_log_sealed_and_read_under_a_tiny_bound_reads_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keys, "CACHED_KEYS", 2)
    app = generated(LogSpec(1, date(2025, 4, 8)))
    try:
        named = [
            e.payload
            for e in log_entries(app)
            if getattr(getattr(e.payload, "person", None), "name", None)
        ]
    except HubError as error:  # pragma: no cover - the assertion below says why
        pytest.fail(f"the log did not read back: {error}")
    assert len(named) > 10
    assert all(p.person.name != ERASED for p in named)  # type: ignore[attr-defined]
    assert _live(app.data_keys) <= 2


def test_keys_read_ahead_for_a_batch_are_those_its_decoding_unseals_with(
    sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader of a long log reads a batch's keys in one query (``read_keys_ahead``), not
    one a subject; a subject whose key was destroyed is read ahead as destroyed."""
    app = HubApplication(env=sqlite_env)
    cases = [app.execute(f.consultation()).aggregate_ids[0] for _ in range(5)]
    app.close()
    erased = str(cases[0])
    app = HubApplication(env=sqlite_env)  # another process: nothing cached
    assert app.data_keys.table.destroy(erased)
    app.close()

    app = HubApplication(env=sqlite_env)
    batch = app.recorder.select_notifications(start=None, limit=1_000)
    assert {sealed_subject(n.state) for n in batch} - {None} == {str(c) for c in cases}
    table = app.data_keys.table
    reads: list[str] = []
    get = table.get

    def counted(subject: str) -> tuple[bytes | None, bool]:
        reads.append(subject)
        return get(subject)

    monkeypatch.setattr(table, "get", counted)
    app.read_keys_ahead(batch)
    people = {
        str(p.case_id): p.person
        for p in (app.mapper.to_domain_event(n).payload for n in batch)  # type: ignore[attr-defined]
        if getattr(p, "person", None) is not None
    }
    app.close()
    assert reads == []  # every key came from the read ahead
    assert people[erased].name == ERASED
    assert {people[str(c)].name for c in cases[1:]} == {f.SYNTHETIC_NAME}


def test_a_key_that_does_not_unwrap_is_left_to_the_events_own_decode(
    sqlite_env: dict[str, str],
) -> None:
    """Attacker's (or operator's) edge: a store opened with another key-encryption key.
    Reading ahead does not raise: each event's decode refuses as it did without it."""
    app = HubApplication(env=sqlite_env)
    app.execute(f.consultation())
    app.close()
    app = HubApplication(env={**sqlite_env, "HUB_KEK": "試験 別の鍵"})
    batch = app.recorder.select_notifications(start=None, limit=1_000)
    app.read_keys_ahead(batch)  # no error here
    sealed = next(n for n in batch if sealed_subject(n.state) is not None)
    with pytest.raises(Exception, match="does not unwrap"):
        app.mapper.to_domain_event(sealed)
    app.close()


def test_a_view_read_with_another_key_stops_rather_than_quarantining(
    sqlite_env: dict[str, str],
) -> None:
    """A view fed by a store opened with another key-encryption key would quarantine every
    sealed event as if each were poison (and answer with nothing): it stops instead."""
    app = HubApplication(env=sqlite_env)
    app.execute(f.consultation())
    app.close()
    env = {**sqlite_env, "HUB_KEK": "試験 別の鍵"}
    app = HubApplication(env=env)
    projection = open_projection("case_state", env)
    with pytest.raises(DataKeyUnavailableError):
        catch_up_all([projection], app)
    assert not projection.view.dump().get("quarantine")
    app.close()


def test_every_step_and_reader_of_the_log_stops_on_keys_that_do_not_unwrap(
    tmp_path: Path,
) -> None:
    """The same edge for the relay, the live views' mapper, a case's history and the
    escalation watch: none of them passes over, or quarantines, every sealed event."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    env = settings.eventsourcing_env()
    app = HubApplication(env=env)
    opened = f.consultation(window_agency="moji.houkatsu")
    app.execute(opened)
    case_id = derived_id(opened.command_id, "case_id")
    app.execute(f.referral(case_id, "moji.hoken", urgency="life_at_risk", occurred_at=f.at(1)))
    app.close()
    other = {**env, "HUB_KEK": "試験 別の鍵"}
    app = HubApplication(env=other)
    relay = Relay(settings, app, open_ledger(settings), RecordingProducer())
    with pytest.raises(DataKeyUnavailableError):
        relay.drain()
    assert open_ledger(settings).quarantined() == []
    with pytest.raises(DataKeyUnavailableError):
        case_history(app, case_id)
    with pytest.raises(DataKeyUnavailableError):
        OpenReferrals().catch_up(app)
    follower = following(HubApplication)(env=other)
    stored = follower.recorder.select_notifications(start=None, limit=1_000)
    with pytest.raises(DataKeyUnavailableError):
        for notification in stored:
            follower.mapper.to_domain_event(notification)
    follower.close()
    app.close()


def test_the_audit_and_a_leaked_store_copy_stop_on_keys_that_do_not_unwrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The auditor's reader of the log (`hub audit replay`, `verify`, `report`, `hub privacy
    erasures`) and `hub privacy leak-impact --store` name the wrong key-encryption key, not
    an unreadable log (which sent the auditor to `hub audit verify-log`) or an unexpected
    error."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    env = settings.eventsourcing_env()
    app = HubApplication(env=env)
    app.execute(f.consultation(window_agency="moji.houkatsu"))
    app.close()
    other = {**env, "HUB_KEK": "試験 別の鍵"}
    app = HubApplication(env=other)
    try:
        with pytest.raises(DataKeyUnavailableError):
            list(log_entries(app))
    finally:
        app.close()
    monkeypatch.setenv("HUB_KEK", "試験 別の鍵")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    with pytest.raises(DataKeyUnavailableError):
        list(leak.from_store(tmp_path / "hub.sqlite"))


def test_the_discoveries_read_for_retention_and_erasure_stop_on_keys_that_do_not_unwrap(
    tmp_path: Path,
) -> None:
    """`hub privacy erase --discovery PREFIX` and `hub privacy retention` read the
    discoveries from the log: a key that does not unwrap names HUB_KEK, not an unexpected
    MapperDeserialisationError."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    env = settings.eventsourcing_env()
    app = HubApplication(env=env)
    app.execute(f.discovery(person=f.person()))
    app.close()
    app = HubApplication(env={**env, "HUB_KEK": "試験 別の鍵"})
    try:
        with pytest.raises(DataKeyUnavailableError):
            discoveries(app)
    finally:
        app.close()
