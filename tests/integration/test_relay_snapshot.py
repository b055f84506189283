"""A relay restarted from its stored governance snapshot publishes, byte for byte, what a relay
that folds the whole log does: real broker, both stores; a corrupt or stale snapshot is
refused and the relay folds the log from its start instead."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from hub import commands as c
from hub.application import HubApplication
from hub.errors import RelayStateOutOfStepError
from hub.settings import Settings
from ops.bench.stores import connect
from ops.wiring import open_ledger, open_relay
from producers import snapshot
from producers.governance import GovernanceState
from producers.ledger import position_name_of
from producers.relay import Relay
from tests import factories as f
from tests.faults import history
from tests.faults.history import AGENCIES
from tests.faults.support import relay_topics
from tests.integration.streams import IMPORTED, provisioned, store_settings
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

BATCH = 7


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, kafka_broker: object, tmp_path: Path) -> tuple:
    env = request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env")
    settings = store_settings(request.param, env, tmp_path)
    return settings, HubApplication(env=settings.eventsourcing_env())


def _prefixed(settings: Settings, letter: str) -> Settings:
    prefixed = settings.model_copy(update={"kafka_topic_prefix": f"{letter}{uuid4().hex[:10]}."})
    provisioned(prefixed, list(AGENCIES))
    return prefixed


def _later_events_of_earlier_cases(commands: list[c.Command], day: float) -> list[c.Command]:
    """Details recorded and consents withdrawn for cases of an earlier part of the history:
    who receives them, with which fields, depends on the state folded before the restart."""
    rng = random.Random(day)
    later: list[c.Command] = []
    withdrawn = {x.consent_id for x in commands if isinstance(x, c.WithdrawConsent)}
    for n, command in enumerate(commands):
        if isinstance(command, c.GiveConsent):
            later.append(
                f.build(
                    c.RecordPersonDetails,
                    case_id=command.case_id,
                    occurred_at=f.at(day + n / 100),
                    person=f.person(address=f.SYNTHETIC_ADDRESS),
                )
            )
            if command.consent_id not in withdrawn and rng.random() < 0.5:
                withdrawn.add(command.consent_id)
                later.append(
                    f.withdrawal(command.case_id, command.consent_id, occurred_at=f.at(day + 1))
                )
    return later


def _relay(settings: Settings, app: HubApplication) -> Relay:
    return open_relay(settings, app, batch_size=BATCH)


def _streams(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: [
            (r.key, r.value, tuple(sorted(r.headers.items()))) for r in read_raw(settings, topic)
        ]
        for name, topic in relay_topics(settings).items()
    }


def test_a_relay_restarted_from_its_snapshot_publishes_what_one_that_folds_the_log_does(
    store: tuple[Settings, HubApplication],
) -> None:
    settings, app = store
    restarted, scratch = _prefixed(settings, "s"), _prefixed(settings, "r")
    bounded_settings = _prefixed(settings, "b")
    never_stopped = _relay(scratch, app)
    bounded = _relay(bounded_settings, app)  # never stopped, one case kept in memory
    bounded.cached_cases = 1
    started_from: list[tuple[str, int]] = []
    earlier: list[c.Command] = []
    for part in range(3):
        commands = history.generate(7100 + part, 6)
        later = _later_events_of_earlier_cases(earlier, 40.0 + part)
        history.apply(app, commands + later)
        earlier += commands + later
        relay = _relay(restarted, app)  # a new process: rebuilds on its first step
        relay.drain()
        relay.producer.close()
        started_from.append((relay.restored_from, relay.folded_from))
        never_stopped.drain()
        bounded.drain()
        assert dict.__len__(bounded.state.cases) <= 1
    never_stopped.producer.close()
    bounded.producer.close()

    assert started_from[0] == ("none", 0)
    for how, position in started_from[1:]:
        assert how == "used" and position > IMPORTED, started_from
    ledger = open_ledger(restarted)
    header = ledger.state_header()
    assert header is not None and header.position == ledger.position()
    got, expected = _streams(restarted), _streams(scratch)
    assert sum(len(records) for records in got.values()) > 100
    kept_one = _streams(bounded_settings)
    for name, records in expected.items():
        assert got[name] == records, f"{name} differs after restarts from snapshots"
        assert kept_one[name] == records, f"{name} differs with one case kept in memory"


def test_a_changed_or_stale_stored_state_is_refused_and_the_log_folded_from_its_start(
    store: tuple[Settings, HubApplication], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, app = store
    restarted, scratch = _prefixed(settings, "s"), _prefixed(settings, "r")
    earlier = history.generate(7200, 8)
    history.apply(app, earlier)
    _drained(_relay(restarted, app))
    seen: list[tuple[str, int]] = []

    # Every case's stored bytes changed: refused when the first later event loads one.
    _tamper(restarted, "relay_state_cases", "state")
    later = _later_events_of_earlier_cases(earlier, 60.0)
    history.apply(app, later)
    seen.append(_drained(_relay(restarted, app)))

    # The header's network changed: refused before anything is loaded.
    _tamper(restarted, "relay_state", "network")
    later += _later_events_of_earlier_cases(earlier + later, 70.0)
    history.apply(app, later[-3:])  # a few more events
    seen.append(_drained(_relay(restarted, app)))

    # Written by another version of the relay's code.
    with monkeypatch.context() as patched:
        patched.setattr(snapshot, "code_digest", lambda: "written-by-other-code")
        history.apply(app, history.generate(7201, 2))
        _drained(_relay(restarted, app))
    history.apply(app, history.generate(7202, 2))
    seen.append(_drained(_relay(restarted, app)))

    # After each fallback the state was stored whole again: the next restart uses it.
    history.apply(app, history.generate(7203, 2))
    seen.append(_drained(_relay(restarted, app)))
    assert [how for how, _ in seen] == ["refused", "corrupt", "stale", "used"], seen
    assert [position for _, position in seen][:3] == [0, 0, 0] and seen[3][1] > IMPORTED

    _drained(_relay(scratch, app))
    got, expected = _streams(restarted), _streams(scratch)
    for name in expected:
        # The reference ran in other batches: compare records, not the chain's witnesses.
        assert _deduplicated(got[name]) == _events(expected[name]), name


def test_the_state_is_stored_alone_only_at_the_stored_position(
    store: tuple[Settings, HubApplication],
) -> None:
    settings, _ = store
    ledger = open_ledger(settings.model_copy(update={"kafka_topic_prefix": f"p{uuid4().hex}."}))
    ledger.record(5, [], [], None)
    for position in (4, 6):  # another relay under the same name moved the position
        with pytest.raises(RelayStateOutOfStepError):
            ledger.store_state(snapshot.write(GovernanceState(position=position), b"k", set()))
    assert ledger.state_header() is None
    ledger.store_state(snapshot.write(GovernanceState(position=5), b"k", set()))
    header = ledger.state_header()
    assert header is not None and header.position == 5


def _disclosure(position: int, case_id: str | None) -> dict[str, Any]:
    return {
        "disclosure_id": f"d{position}-{uuid4().hex[:8]}",
        "event_id": str(uuid4()),
        "position": position,
        "case_id": case_id,
        "agency_id": "kokurakita.hogo",
        "fields": ["person.name"],
        "categories": ["identity"],
        "basis": "consent",
        "basis_ref": None,
        "confidentiality_duty": False,
        "occurred_at": "2025-06-01T00:00:00+00:00",
    }


def test_a_batchs_record_is_written_whole_or_not_at_all(
    store: tuple[Settings, HubApplication],
) -> None:
    """The disclosures, the state and the position of a batch commit together: a position
    not after the stored one, or a row the store refuses, leaves nothing of the batch."""
    settings, _ = store
    ledger = open_ledger(settings.model_copy(update={"kafka_topic_prefix": f"w{uuid4().hex}."}))
    case = str(uuid4())
    first = _disclosure(5, case)
    ledger.record(5, [first], [], snapshot.write(GovernanceState(position=5), b"k", set()))

    with pytest.raises(IntegrityError):  # another relay under this name stored 5 already
        ledger.record(
            5, [_disclosure(5, case)], [], snapshot.write(GovernanceState(position=5), b"k", set())
        )
    with pytest.raises(IntegrityError):  # a disclosure without its case (NOT NULL)
        ledger.record(
            6,
            [_disclosure(6, case), _disclosure(6, None)],
            [],
            snapshot.write(GovernanceState(position=6), b"k", set()),
        )
    assert [d["disclosure_id"] for d in ledger.disclosures()] == [first["disclosure_id"]]
    assert ledger.position() == 5
    header = ledger.state_header()
    assert header is not None and header.position == 5

    second = _disclosure(6, case)
    ledger.record(6, [second], [], snapshot.write(GovernanceState(position=6), b"k", set()))
    assert [d["disclosure_id"] for d in ledger.disclosures()] == [
        first["disclosure_id"],
        second["disclosure_id"],
    ]
    assert ledger.position() == 6


def _drained(relay: Relay) -> tuple[str, int]:
    relay.drain()
    relay.producer.close()
    return relay.restored_from, relay.folded_from


def _events(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [r for r in records if ("event_type", "ChainHead") not in r[2]]


def _deduplicated(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A refused case is found in the middle of a batch: the records of the batch sent
    before it are sent again by the full fold's relay, as after a crash."""
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for record in _events(records):
        if record not in seen:
            seen.add(record)
            kept.append(record)
    return kept


def _tamper(settings: Settings, table: str, column: str) -> None:
    """Flips a byte in each stored ``column`` of the relay's rows of ``table``, nothing else
    (as a torn write or someone with the store's credentials could)."""
    name = position_name_of(settings)
    if settings.store == "sqlite":
        conn: Any = sqlite3.connect(settings.sqlite_file)
        table, mark = f'"{table}"', "?"
    else:
        conn = connect(settings)
        table, mark = f'"{settings.postgres_schema}"."{table}"', "%s"
    with conn:
        key = "case_id" if "cases" in table else "name"
        rows = conn.execute(
            f"SELECT {key}, {column} FROM {table} WHERE name = {mark}", (name,)
        ).fetchall()
        assert rows
        for row_key, blob in rows:
            flipped = bytearray(blob)
            flipped[len(flipped) // 2] ^= 0xFF
            conn.execute(
                f"UPDATE {table} SET {column} = {mark} WHERE name = {mark} AND {key} = {mark}",
                (bytes(flipped), name, row_key),
            )
