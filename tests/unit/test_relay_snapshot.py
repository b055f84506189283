"""The relay's stored governance state: restored only when it is the fold it claims to be."""

from __future__ import annotations

import pickle
import random
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import replace
from itertools import zip_longest
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import PersonErasedError, RelayStateOutOfStepError
from hub.identity import Actor, Role
from hub.reference import load_network
from hub.reference.directory import Directory
from hub.settings import Settings
from ops.wiring import ledger_disclosures, open_ledger
from producers import governance, snapshot
from producers import relay as relay_module
from producers.governance import CaseGovernance, GovernanceState
from producers.ledger import RelayLedger
from producers.relay import Relay
from projections.audit.history import replay
from projections.audit.source import log_entries
from projections.audit.verify import verify
from tests import factories as f
from tests.faults import history
from tests.unit.test_access_log import FakeProducer, Sent

KEY = b"test-pseudonym-key"
CASE_OPENED = "hub.domain.case:Case.CaseOpened"
ADMIN = Actor("shiken.kanri@city.example", Role.administrator)


@pytest.fixture
def relayed(tmp_path: Path) -> tuple[Settings, HubApplication]:
    """A store whose log a relay (fake producer) has published, in batches of 9."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(7300, 12))
    Relay(settings, app, open_ledger(settings), FakeProducer(), batch_size=9).drain()
    return settings, app


def _restarted_and_folded(settings: Settings, app: HubApplication) -> tuple[Relay, Relay]:
    """A relay rebuilt from the state stored, and one rebuilt by folding the log from its start."""
    ledger = open_ledger(settings)
    restarted = Relay(settings, app, ledger, FakeProducer())
    from_scratch = Relay(settings, app, _NoState(ledger), FakeProducer())
    restarted.rebuild()
    from_scratch.rebuild()
    return restarted, from_scratch


def test_a_restart_reads_the_stored_state_and_it_is_the_state_the_fold_gives(
    relayed: tuple[Settings, HubApplication],
) -> None:
    settings, app = relayed
    ledger = open_ledger(settings)
    header = ledger.state_header()
    assert header is not None and header.position == ledger.position()

    restarted, from_scratch = _restarted_and_folded(settings, app)
    assert (restarted.restored_from, restarted.folded_from) == ("used", header.position)
    assert (from_scratch.restored_from, from_scratch.folded_from) == ("none", 0)
    assert dict.__len__(restarted.state.cases) == 0  # nothing loaded before it is needed
    cases = from_scratch.state.cases
    assert len(cases) >= 12
    assert {c: restarted.state.cases.get(c) for c in cases} == cases
    assert restarted.state.network.network == from_scratch.state.network.network
    assert restarted.state.network.retired == from_scratch.state.network.retired
    assert restarted.state.position == from_scratch.state.position


def test_a_stored_state_is_refused_when_changed_stale_ahead_or_not_a_state() -> None:
    state = GovernanceState(position=40)
    case_id = uuid4()
    state.case(case_id).ward = "moji"
    written = snapshot.write(state, KEY, {case_id})
    header, (row,) = written.header, written.cases
    rows = {row.case_id: row}

    def restore(h: snapshot.Header, key: bytes = KEY, at: int = 40) -> Any:
        return snapshot.restore(h, key, at, rows.get)

    restored, how = restore(header)
    assert how == "used" and restored is not None and restored.cases[case_id].ward == "moji"
    assert restore(header, at=39) == (None, "ahead")
    assert restore(header, key=b"another key") == (None, "corrupt")
    flipped = bytes([header.network[0] ^ 1]) + header.network[1:]
    assert restore(replace(header, network=flipped)) == (None, "corrupt")
    assert restore(replace(header, position=30), at=40) == (None, "corrupt")
    assert restore(replace(header, code="0" * 16)) == (None, "stale")
    assert snapshot.restore(None, KEY, 40, rows.get) == (None, "none")
    # Signed, but not a network: refused all the same.
    other = pickle.dumps({"position": 40})
    forged = snapshot.Header(
        40, header.code, snapshot._mac(KEY, header.code, "network@40", other), other
    )
    assert restore(forged) == (None, "corrupt")
    # A case row changed, or another case's row put under its id: refused when loaded.
    other_id = uuid4()
    state.case(other_id).ward = "tobata"
    (other,) = snapshot.write(state, KEY, {other_id}).cases
    for bad in (replace(row, state=row.state[:-1]), replace(other, case_id=row.case_id)):
        rows = {row.case_id: bad}
        restored, how = restore(header)
        assert how == "used" and restored is not None
        with pytest.raises(snapshot.StoredStateRefused):
            restored.cases.get(case_id)


class _NoState:
    """The ledger as a relay without a stored state sees it."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger

    def state_header(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def test_the_stored_state_holds_nothing_personal_in_clear(
    relayed: tuple[Settings, HubApplication],
) -> None:
    settings, _ = relayed
    with sqlite3.connect(settings.sqlite_file) as db:
        stored = b"".join(bytes(r[0]) for r in db.execute("SELECT state FROM relay_state_cases"))
        stored += b"".join(bytes(r[0]) for r in db.execute("SELECT network FROM relay_state"))
    assert len(stored) > 1000
    # The same state, unsealed, names the synthetic people: the check can fail.
    key = settings.secret("pseudonym_key").encode()
    with sqlite3.connect(settings.sqlite_file) as db:
        plain = b"".join(
            snapshot._unseal(key, bytes(r[0]))
            for r in db.execute("SELECT state FROM relay_state_cases")
        )
    for text in (f.SYNTHETIC_NAME, f.SYNTHETIC_ADDRESS):
        assert text.encode() in plain
        assert text.encode() not in stored


def test_a_relay_keeping_one_case_in_memory_publishes_what_one_keeping_all_does(
    tmp_path: Path,
) -> None:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    rng = random.Random(7301)
    cases = [history.case_history(rng, day=n / 4) for n in range(12)]
    # Each case's commands in turn with the others', so a case comes back batches later.
    history.apply(app, [x for turn in zip_longest(*cases) for x in turn if x is not None])
    bounded_settings = settings.model_copy(update={"kafka_topic_prefix": "bounded."})
    whole, bounded = FakeProducer(), FakeProducer()
    Relay(settings, app, open_ledger(settings), whole, batch_size=9).drain()
    ledger = open_ledger(bounded_settings)
    read_back: list[str] = []  # cases read from their rows one by one
    read_ahead: list[list[str]] = []  # each batch's cases read together

    def state_case(case_id: str) -> Any:
        row = type(ledger).state_case(ledger, case_id)
        if row is not None:
            read_back.append(case_id)
        return row

    def state_cases(case_ids: Sequence[str]) -> Any:
        rows = type(ledger).state_cases(ledger, case_ids)
        read_ahead.append([row.case_id for row in rows])
        return rows

    ledger.state_case = state_case  # type: ignore[method-assign]
    ledger.state_cases = state_cases  # type: ignore[method-assign]
    relay = Relay(bounded_settings, app, ledger, bounded, batch_size=9)
    relay.cached_cases = 1
    relay.drain()

    assert dict.__len__(relay.state.cases) <= 1
    found_ahead = [case_id for read in read_ahead for case_id in read]
    # Forgotten cases were needed again, and read from their rows: a batch's in one read.
    assert len(found_ahead) > 10 and any(len(read) > 1 for read in read_ahead)
    assert read_back == []
    assert len(whole.sent) > 100
    unprefixed = [(t.removeprefix("bounded."), v) for t, v in bounded.sent]
    assert unprefixed == [(t.removeprefix(settings.kafka_topic_prefix), v) for t, v in whole.sent]


def test_the_network_is_sealed_again_when_it_changed_and_only_then() -> None:
    from datetime import UTC, datetime

    from hub import events as ev
    from hub.reference.directory import changes, fold

    state = GovernanceState(position=5)
    shipped = load_network()
    state.network = fold(changes(Directory(), shipped, datetime(2025, 4, 1, tzinfo=UTC)))
    agency = shipped.agencies[0].id
    seal = snapshot.NetworkSeal()
    first = snapshot.write(state, KEY, set(), network_seal=seal).header
    assert snapshot.write(state, KEY, set(), network_seal=seal).header.network is first.network

    renamed = ev.AgencyRenamed(
        occurred_at=datetime(2025, 5, 1, tzinfo=UTC), agency_id=agency, name="試験改称センター"
    )
    assert state.network.apply(renamed)
    state.position = 6
    header = snapshot.write(state, KEY, set(), network_seal=seal).header
    restored, how = snapshot.restore(header, KEY, 6, {}.get)
    assert how == "used" and restored is not None
    assert restored.network.network.agency(agency).name == "試験改称センター"

    # Another directory (a rebuild's, a restored one) is sealed anew, even at the same revision.
    state.network = fold(changes(Directory(), shipped, datetime(2025, 4, 1, tzinfo=UTC)))
    assert state.network.apply(renamed.model_copy(update={"name": "試験別名センター"}))
    again = snapshot.write(state, KEY, set(), network_seal=seal).header
    restored, how = snapshot.restore(again, KEY, 6, {}.get)
    assert restored is not None
    assert restored.network.network.agency(agency).name == "試験別名センター"


def test_cases_read_ahead_are_the_ones_asking_would_load_and_a_moved_row_is_refused() -> None:
    state = GovernanceState(position=3)
    kept, other, never = uuid4(), uuid4(), uuid4()
    for case_id in (kept, other):
        state.case(case_id)
    write = snapshot.write(state, KEY, {kept, other})
    rows = {row.case_id: row for row in write.cases}
    one_by_one: list[str] = []
    together: list[list[str]] = []

    def row(case_id: str) -> Any:
        one_by_one.append(case_id)
        return rows.get(case_id)

    def many(case_ids: Sequence[str]) -> Any:
        together.append(case_ids)
        return [rows[c] for c in case_ids if c in rows]

    restored, how = snapshot.restore(write.header, KEY, 3, row, many)
    assert how == "used" and restored is not None
    cases = restored.cases
    assert isinstance(cases, snapshot.LazyCases)
    assert cases.prefetch([kept, never, kept]) == 1
    assert together == [[str(kept), str(never)]]
    assert cases.prefetch([kept, never]) == 0 and len(together) == 1  # held, known absent
    assert kept in cases and cases.get(never) is None and one_by_one == []
    assert cases[kept] == state.cases[kept]
    assert other in cases and one_by_one == [str(other)]  # not read ahead: read when asked

    # Another case's row under this id: refused as when it is asked for alone.
    rows[str(never)] = replace(rows[str(kept)], case_id=str(never))
    moved, _ = snapshot.restore(write.header, KEY, 3, row, many)
    assert moved is not None and isinstance(moved.cases, snapshot.LazyCases)
    with pytest.raises(snapshot.StoredStateRefused):
        moved.cases.prefetch([never])


def test_the_ledger_reads_many_cases_as_it_reads_each_of_them(
    relayed: tuple[Settings, HubApplication],
) -> None:
    settings, _ = relayed
    ledger = open_ledger(settings)
    with sqlite3.connect(settings.sqlite_path) as db:
        stored = [row[0] for row in db.execute("SELECT case_id FROM relay_state_cases")]
    assert len(stored) >= 12
    asked = [*stored, *(str(uuid4()) for _ in range(1_200))]  # more than one statement's ids
    random.Random(7302).shuffle(asked)
    found = sorted(ledger.state_cases(asked), key=lambda row: row.case_id)
    assert found == sorted((ledger.state_case(c) for c in stored), key=lambda row: row.case_id)
    assert ledger.state_cases([]) == []


def test_ids_known_to_have_no_stored_case_are_let_go_at_every_forget() -> None:
    cases = snapshot.LazyCases(lambda case_id: None, lambda case_ids: {})
    for _ in range(3):
        cases.prefetch(uuid4() for _ in range(500))
        assert len(cases._absent) == 500
        assert cases.forget(1_024) == 0
        assert not cases._absent


def test_the_cases_a_batch_asks_for_are_the_last_to_be_forgotten() -> None:
    cases = snapshot.LazyCases(lambda case_id: None, lambda case_ids: {})
    first, second, third = uuid4(), uuid4(), uuid4()
    for case_id in (first, second, third):
        cases.setdefault(case_id, CaseGovernance())
    assert cases.prefetch([first]) == 0  # held: nothing read, asked for last
    assert cases.forget(2) == 1
    assert list(dict.keys(cases)) == [third, first]


def test_a_case_read_back_is_the_folded_case_and_shares_what_cases_hold_alike(
    relayed: tuple[Settings, HubApplication],
) -> None:
    """A relay holds thousands of cases: the names and sets many of them hold alike (agencies,
    purposes, categories, a meeting's members) are one object each, in the fold and in a
    case read back from its row, so that a case's state stays small."""
    settings, app = relayed
    relay = Relay(settings, app, _NoState(open_ledger(settings)), FakeProducer())
    relay.rebuild()
    folded = list(dict.values(relay.state.cases))
    read_back = [pickle.loads(pickle.dumps(case)) for case in folded]
    assert read_back == folded
    held = [*folded, *read_back]
    names = [a for c in held for a in c.involved]
    names += [r.agency_id for c in held for r in c.referrals.values()]
    sets = [x.agencies for c in held for x in c.consents.values()]
    sets += [x.purposes for c in held for x in c.consents.values()]
    assert len(names) > 2 * len(set(names)) and len(sets) > 2 * len(set(sets))
    assert len({id(name) for name in names}) == len(set(names))
    assert len({id(held_set) for held_set in sets}) == len(set(sets))


def test_values_held_once_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(governance, "_shared_values", {})
    monkeypatch.setattr(governance, "SHARED_MAX", 2)
    first, second = governance._shared("試験-1"), governance._shared(frozenset({"試験-2"}))
    assert governance._shared("".join(["試験", "-1"])) is first
    assert governance._shared(frozenset({"試験-2"})) is second
    beyond = "".join(["試験", "-3"])
    assert governance._shared(beyond) is beyond
    assert governance._shared("".join(["試験", "-3"])) is not beyond  # past the bound: as it is
    assert len(governance._shared_values) == 2


def test_a_case_stored_as_it_is_is_not_written_again() -> None:
    state = GovernanceState(position=3)
    same, other = uuid4(), uuid4()
    for case_id in (same, other):
        state.case(case_id)
    first = snapshot.write(state, KEY, {same, other})
    assert sorted(row.case_id for row in first.cases) == sorted([str(same), str(other)])
    stored = first.digests
    state.case(other).ward = "moji"
    again = snapshot.write(state, KEY, {same, other}, unchanged=stored)
    assert [row.case_id for row in again.cases] == [str(other)]
    whole = snapshot.write(state, KEY, set(), replace_all=True, unchanged=stored)
    assert len(whole.cases) == 2  # every row deleted first: each is written


def test_a_relay_storing_every_batch_writes_only_the_cases_it_changed_and_each_row_is_the_fold(
    tmp_path: Path,
) -> None:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(7305, 12))
    ledger = open_ledger(settings)
    relay = Relay(settings, app, ledger, FakeProducer(), batch_size=9)
    relay.state_every = 1  # stored with every batch
    touched: list[int] = []  # cases with events since the last store, at each store
    written: list[str] = []  # the rows written

    def record(position: int, disclosures: Any, quarantined: Any = (), state: Any = None) -> None:
        if state is not None:
            touched.append(len(relay.changed))
            written.extend(row.case_id for row in state.cases)
        type(ledger).record(ledger, position, disclosures, quarantined, state)

    ledger.record = record  # type: ignore[method-assign]
    relay.drain()
    assert len(touched) > 20 and sum(touched) > len(written) >= 12  # some left as they were

    restarted, from_scratch = _restarted_and_folded(settings, app)
    assert restarted.restored_from == "used" and restarted.folded_from == ledger.position()
    cases = from_scratch.state.cases
    assert len(cases) >= 12
    assert {c: restarted.state.cases.get(c) for c in cases} == cases


ErasedLog = tuple[Settings, HubApplication, UUID, int]


@pytest.fixture
def erased_log(tmp_path: Path) -> ErasedLog:
    """A log with a person erased in its middle: the store, the case, the erasure's position."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(7303, 12))
    first = app.recorder.select_notifications(1, 1, topics=[CASE_OPENED])[0].originator_id
    app.erase_person(first, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    erased_at = app.recorder.max_notification_id() or 0
    history.apply(app, history.generate(7304, 6))
    assert erased_at > 200 and (app.recorder.max_notification_id() or 0) > erased_at + 30
    return settings, app, UUID(str(first)), erased_at


def _person_kept(settings: Settings, ledger: RelayLedger, case_id: UUID) -> bool:
    """Whether the relay's stored row of the case still holds the person's details."""
    row = ledger.state_case(str(case_id))
    key = settings.secret("pseudonym_key").encode()
    return row is not None and bool(pickle.loads(snapshot._unseal(key, row.state)).person)


def test_a_relay_catching_up_stores_its_state_every_so_often_and_a_restart_folds_the_rest(
    erased_log: ErasedLog,
) -> None:
    settings, app, first, erased_at = erased_log
    whole = FakeProducer()
    Relay(settings, app, open_ledger(settings), whole, batch_size=9).drain()

    cadence = settings.model_copy(update={"kafka_topic_prefix": "cadence."})
    ledger = open_ledger(cadence)
    stored_at: list[int] = []  # the positions the state was stored at
    person_kept: list[bool] = []  # the erased person still in the stored row, at each store

    def kept() -> bool:
        return _person_kept(settings, ledger, first)

    def record(position: int, disclosures: Any, quarantined: Any = (), state: Any = None) -> None:
        type(ledger).record(ledger, position, disclosures, quarantined, state)
        if state is not None:
            stored_at.append(state.header.position)
            person_kept.append(kept())

    def store_state(state: Any) -> None:
        type(ledger).store_state(ledger, state)
        stored_at.append(state.header.position)
        person_kept.append(kept())

    ledger.record = record  # type: ignore[method-assign]
    ledger.store_state = store_state  # type: ignore[method-assign]
    sent = FakeProducer()
    relay = Relay(cadence, app, ledger, sent, batch_size=9)
    relay.state_every = 40  # full batches of 9: stored every fifth
    crash_at = 9 * ((erased_at - 10) // 9)  # the end of a batch before the erasure's
    crash_at -= 9 if crash_at % 45 == 0 else 0
    for _ in range(crash_at // 9):
        relay.step()
    assert ledger.position() == crash_at
    assert stored_at == list(range(45, crash_at, 45)) and person_kept[-1]

    # A crash: the new relay starts from the state last stored and folds the rest again.
    restarted = Relay(cadence, app, ledger, sent, batch_size=9)
    restarted.state_every = 10_000
    restarted.drain()
    last = stored_at[-3]
    assert (restarted.restored_from, restarted.folded_from) == ("used", last)
    erasure_batch = crash_at + 9 * ((erased_at - crash_at + 8) // 9)  # its batch's end
    end = ledger.position()
    # Stored with the erasure's batch (the person gone from the row), then once caught up.
    assert stored_at[-2:] == [erasure_batch, end] and person_kept[-2:] == [False, False]
    header = ledger.state_header()
    assert header is not None and header.position == end
    assert len(whole.sent) > 100
    unprefixed = [(t.removeprefix("cadence."), v) for t, v in sent.sent]
    assert unprefixed == [(t.removeprefix(settings.kafka_topic_prefix), v) for t, v in whole.sent]


class _StopAfter(threading.Event):
    """Set once it has been asked ``times`` times."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.left = times

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0


def test_a_relay_stopped_while_catching_up_stores_its_state_as_it_ends(tmp_path: Path) -> None:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(7306, 6))
    ledger = open_ledger(settings)
    relay = Relay(settings, app, ledger, FakeProducer(), batch_size=9)
    relay.state_every = 10_000
    relay.drain(_StopAfter(3))
    assert ledger.position() == 27 and (app.recorder.max_notification_id() or 0) > 27
    header = ledger.state_header()
    assert header is not None and header.position == 27
    restarted = Relay(settings, app, ledger, FakeProducer(), batch_size=9)
    restarted.rebuild()
    assert (restarted.restored_from, restarted.folded_from) == ("used", 27)


@pytest.mark.parametrize("failing", [0, 1], ids=["the erasure", "the event after it"])
def test_an_erasure_leaves_the_stored_state_at_once_even_beside_a_quarantined_event(
    erased_log: ErasedLog, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    settings, app, first, erased_at = erased_log
    ledger = open_ledger(settings)
    relay = Relay(settings, app, ledger, FakeProducer(), batch_size=erased_at - 1)
    relay.state_every = 1
    relay.step()  # up to the event before the erasure, the state stored with the person
    assert ledger.position() == erased_at - 1 and _person_kept(settings, ledger, first)
    relay.state_every, relay.batch_size = 10_000, 9

    def decide(state: GovernanceState, event: Any) -> Any:
        if event.position == erased_at + failing:
            raise RuntimeError("a governance failure (test)")
        return real_decide(state, event)

    real_decide = relay_module.decide
    monkeypatch.setattr(relay_module, "decide", decide)
    relay.step()  # the erasure's batch, cut short by the event quarantined half folded
    assert ledger.position() == erased_at + failing
    assert [row["position"] for row in ledger.quarantined()] == [erased_at + failing]
    relay.step()  # folds what the quarantine left, then goes on
    header = ledger.state_header()
    assert header is not None and header.position >= erased_at
    assert not _person_kept(settings, ledger, first)


def test_the_state_is_stored_alone_only_at_the_stored_position(
    relayed: tuple[Settings, HubApplication],
) -> None:
    settings, _ = relayed
    ledger = open_ledger(settings)
    stored = ledger.position()
    before = ledger.state_header()
    for position in (stored - 1, stored + 1, 0):  # another relay moved it, or none stored
        with pytest.raises(RelayStateOutOfStepError):
            ledger.store_state(snapshot.write(GovernanceState(position=position), KEY, set()))
    assert ledger.state_header() == before
    ledger.store_state(snapshot.write(GovernanceState(position=stored), KEY, set()))
    header = ledger.state_header()
    assert header is not None and header.position == stored and header != before


AFTERWARDS = "afterwards."  # the topics' prefix of a relay started after everything


class _Recorded:
    """A producer that keeps each record with the position it carries (its topic as the
    relay with no prefix of its own names it)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Any) -> Sent:
        position = int(dict(headers)["position"])
        self.sent.append((position, topic.removeprefix(AFTERWARDS), key, value))
        return Sent()

    def flush(self) -> None:
        pass

    def after(self, position: int) -> list[tuple[int, str, bytes, bytes]]:
        return [record for record in self.sent if record[0] > position]


def _erasable(tmp_path: Path) -> tuple[Settings, HubApplication, UUID]:
    """A store with a case whose person's details an agency holds on a statute."""
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    office = HubApplication(env=settings.eventsourcing_env())  # the CLI's or the API's process
    case_id = uuid4()
    office.execute(
        f.open_case(case_id=case_id, ward="moji", person=f.person(), occurred_at=f.at(0))
    )
    statute = "児童虐待防止法 第6条"
    office.execute(f.referral(case_id, "moji.houkatsu", statute=statute, occurred_at=f.at(1)))
    return settings, office, case_id


def _started_afterwards(settings: Settings, after: int) -> list[tuple[int, str, bytes, bytes]]:
    """What a relay started from the log's start once everything is recorded publishes after
    ``after`` (a position name, and topics, of its own)."""
    own = settings.model_copy(update={"kafka_topic_prefix": AFTERWARDS})
    producer = _Recorded()
    app = HubApplication(env=own.eventsourcing_env())
    Relay(own, app, open_ledger(own), producer, batch_size=50).drain()  # type: ignore[arg-type]
    return producer.after(after)


def _personal(records: list[tuple[int, str, bytes, bytes]]) -> list[int]:
    return [
        position
        for position, _, _, value in records
        for text in (f.SYNTHETIC_NAME, f.SYNTHETIC_ADDRESS, "新住所")
        if text.encode() in value
    ]


def test_a_relay_running_since_before_an_erasure_elsewhere_publishes_what_one_started_after_does(
    tmp_path: Path,
) -> None:
    settings, office, case_id = _erasable(tmp_path)
    producer = _Recorded()
    relays = HubApplication(env=settings.eventsourcing_env())  # the relay's own process
    relay = Relay(settings, relays, open_ledger(settings), producer, batch_size=50)  # type: ignore[arg-type]
    relay.drain()  # the relay has read the person's key and holds their details
    before = relay.state.position
    new = f.person(address="北九州市門司区新住所9-9（架空）")
    office.execute(f.build(c.RecordPersonDetails, case_id=case_id, person=new, occurred_at=f.at(2)))
    office.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    relay.drain()

    published = producer.after(before)
    assert "referrals.moji.houkatsu" in {record[1] for record in published}
    assert _personal(published) == []
    assert published == _started_afterwards(settings, before)


def test_a_relay_restarted_from_its_state_after_an_erasure_publishes_what_one_started_after_does(
    tmp_path: Path,
) -> None:
    settings, office, case_id = _erasable(tmp_path)
    first = HubApplication(env=settings.eventsourcing_env())
    stored = Relay(settings, first, open_ledger(settings), _Recorded(), batch_size=50)  # type: ignore[arg-type]
    stored.drain()  # its stored state holds the person's details
    before = stored.state.position
    scope = {"scope": ["moji.houkatsu"], "data_categories": ["identity", "contact"]}
    office.execute(f.consent(case_id, purposes=["consultation"], occurred_at=f.at(2), **scope))
    office.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)

    producer = _Recorded()
    again = HubApplication(env=settings.eventsourcing_env())
    restarted = Relay(settings, again, open_ledger(settings), producer, batch_size=50)  # type: ignore[arg-type]
    restarted.drain()

    assert restarted.restored_from == "used"
    published = producer.after(before)
    assert "referrals.moji.houkatsu" in {record[1] for record in published}
    assert _personal(published) == []
    assert published == _started_afterwards(settings, before)


@pytest.mark.parametrize("running_since_before", [False, True])
def test_details_recorded_after_an_erasure_make_no_disclosure_on_a_later_basis(
    tmp_path: Path, running_since_before: bool
) -> None:
    """Details recorded for an erased person (by a release that took them) are kept by no
    key: they read erased, so a
    consent given afterwards delivers nothing and the ledger records no disclosure (one
    would be refuted by ``hub audit verify``, the person being erased before it)."""
    settings, office, case_id = _erasable(tmp_path)
    relay = Relay(settings, office, open_ledger(settings), _Recorded(), batch_size=50)  # type: ignore[arg-type]
    if running_since_before:
        relay.drain()  # it holds the person's details when another process erases them
    office.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    new = f.person(name="試験 次郎", address="北九州市門司区新住所9-9（架空）")
    with pytest.raises(PersonErasedError):  # refused now; a release before wrote it:
        office.execute(
            f.build(c.RecordPersonDetails, case_id=case_id, person=new, occurred_at=f.at(2))
        )
    case = office.get_case(case_id)
    case._person_details_recorded(
        ev.PersonDetailsRecorded(occurred_at=f.at(2), case_id=case_id, person=new)
    )
    office.save(case)
    assert office.recorder.select_events(case_id)[-1].topic.endswith("PersonDetailsRecorded")
    scope = {"scope": ["moji.houkatsu"], "data_categories": ["identity", "contact"]}
    office.execute(f.consent(case_id, purposes=["consultation"], occurred_at=f.at(3), **scope))
    relay.drain()

    history = replay(log_entries(office))
    erased_at = history.erasures[str(case_id)]
    disclosures = ledger_disclosures(settings)
    assert [d.position for d in disclosures if d.position > erased_at] == []
    assert verify(history, disclosures).valid


class _ByType:
    """A producer that keeps each record's topic and value by its event type."""

    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[str, bytes]]] = {}

    def send(self, topic: str, key: bytes, value: bytes, headers: Any) -> Sent:
        event_type = dict(headers)["event_type"].decode()
        self.sent.setdefault(event_type, []).append((topic, value))
        return Sent()

    def flush(self) -> None:
        pass


def test_a_discovery_erasure_goes_where_a_case_erasure_goes_with_nothing_personal(
    tmp_path: Path,
) -> None:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    office = HubApplication(env=settings.eventsourcing_env())
    alone = office.execute(f.discovery(ward="moji", person=f.person())).aggregate_ids[0]
    opened = office.execute(f.discovery(ward="moji", person=f.person())).aggregate_ids[0]
    case_id = uuid4()
    office.execute(
        f.open_case(case_id=case_id, discovery_id=opened, ward="moji", person=f.person())
    )
    office.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    office.erase_discovery(alone, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    producer = _ByType()

    Relay(settings, office, open_ledger(settings), producer, batch_size=50).drain()  # type: ignore[arg-type]

    def topics(event_type: str) -> set[str]:
        return {topic for topic, _ in producer.sent[event_type]}

    # The case's erasure is on audit.consent too: the auditor refutes a disclosure after it.
    assert topics("PersonErased") == topics("DiscoveryErased") | {"audit.consent"}
    assert topics("DiscoveryErased") == {"referrals.moji.coordinator", "analytics.events"}
    for _, value in producer.sent["DiscoveryErased"]:
        for text in (f.SYNTHETIC_NAME, f.SYNTHETIC_ADDRESS, f.SYNTHETIC_NOTE, ADMIN.subject):
            assert text.encode() not in value
