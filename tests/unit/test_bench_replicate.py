"""The benchmark's fast log builder (ops/bench/replicate.py): a slice of the demo year written
N times with its ids remapped is a log the hub reads as real: every event decodes to the
slice's under the copy's ids, the views count N times the slice's cases, the hash chain
verifies and the relay publishes N times the slice's records, quarantining nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.domain.others import receipt_id
from hub.events import EVENTS_BY_NAME, CaseOpened, CommandAccepted, ReferralMade
from hub.settings import Settings, get_settings
from ops import wiring
from ops.bench import replicate as r
from ops.bench.logs import LogSpec, generated
from ops.cli.main import app as cli
from producers.relay import Relay, RelayCounts
from projections.runner import rebuild_all
from tests.unit.test_access_log import FakeProducer

COPIES = 3
SLICE = LogSpec(1, date(2025, 4, 20))


@pytest.fixture(scope="module")
def slice_app() -> HubApplication:
    return generated(SLICE)


def _store(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    return Settings(store="sqlite", sqlite_path=tmp_path / f"{name}.sqlite")


def _written(slice_app: HubApplication, settings: Settings, copies: int, workers: int) -> int:
    target = wiring.open_application(settings, seed_network=False)
    try:
        return r.replicate(slice_app, target, copies, workers=workers)
    finally:
        target.close()


def _events(app: HubApplication) -> list[Any]:
    found, position = [], 0
    while batch := app.recorder.select_notifications(position, 1000, inclusive_of_start=False):
        found += [app.mapper.to_domain_event(n) for n in batch]
        position = batch[-1].id
    return found


def _remapped(payload: Any, copy: int) -> dict[str, Any]:
    """The slice payload as copy ``copy`` should hold it."""
    data = payload.model_dump(mode="json", exclude_none=True)
    new_id = r.remap(copy)
    for name, many in r.id_fields(type(payload)):
        if data.get(name) is not None:
            data[name] = [new_id(v) for v in data[name]] if many else new_id(data[name])
    return data


def test_every_copy_decodes_to_the_slice_under_its_own_ids_in_business_time_order(
    slice_app: HubApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _store(tmp_path, "log", monkeypatch)
    written = _written(slice_app, settings, COPIES, workers=0)

    source = _events(slice_app)
    network = sum(1 for e in source if e.originator_id == wiring_network_id())
    assert written == network + COPIES * (len(source) - network)
    app = wiring.open_application(settings, seed_network=False)
    try:
        copied = _events(app)
    finally:
        app.close()
    assert len(copied) == written
    # Network events once, then each slice event for copies 0, 1, 2 in turn.
    expected = [(e, 0) for e in source[:network]]
    expected += [(e, c) for e in source[network:] for c in range(COPIES)]
    for (original, copy), event in zip(expected, copied, strict=True):
        assert type(event.payload) is type(original.payload)
        assert event.payload.model_dump(mode="json", exclude_none=True) == _remapped(
            original.payload, copy
        )
        assert event.originator_version == original.originator_version
        assert event.timestamp == original.timestamp
        if isinstance(event.payload, CommandAccepted):
            assert event.originator_id == receipt_id(event.payload.command_id)
        else:
            assert str(event.originator_id) == r.remap(copy)(str(original.originator_id))
    # No id of one copy is another's: N times the slice's cases, referrals and receipts.
    kinds = Counter(type(e.payload) for e in copied)
    origin = Counter(type(e.payload) for e in source)
    for kind in (CaseOpened, ReferralMade, CommandAccepted):
        assert kinds[kind] == COPIES * origin[kind] > 0
    ids = {(e.originator_id, e.originator_version) for e in copied}
    assert len(ids) == written


def wiring_network_id() -> UUID:
    from hub.domain.network import NETWORK_ID

    return NETWORK_ID


def test_views_chain_and_relay_read_the_copies_as_real(
    slice_app: HubApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _store(tmp_path, "one", monkeypatch)
    many = _store(tmp_path, "many", monkeypatch)
    _written(slice_app, one, 1, workers=0)
    _written(slice_app, many, COPIES, workers=1)  # through a worker process, as in the bench

    def cases(settings: Settings) -> list[dict[str, Any]]:
        app = wiring.open_application(settings, seed_network=False)
        try:
            projections = wiring.open_projections(settings, ["case_state", "inbox"])
            rebuild_all(projections, app)
            return projections[0].view.cases()  # type: ignore[attr-defined,no-any-return]
        finally:
            app.close()

    single, tripled = cases(one), cases(many)
    assert len(single) > 10
    assert len(tripled) == COPIES * len(single)
    assert Counter(c["status"] for c in tripled) == Counter(
        {status: COPIES * n for status, n in Counter(c["status"] for c in single).items()}
    )

    def relayed(settings: Settings) -> RelayCounts:
        app = wiring.open_application(settings, seed_network=False)
        try:
            ledger = wiring.open_ledger(settings)
            counts = Relay(settings, app, ledger, FakeProducer(), batch_size=500).drain()
            assert ledger.quarantined() == []
            assert ledger.position() == app.recorder.max_notification_id()
            return counts
        finally:
            app.close()

    base, copies = relayed(one), relayed(many)
    assert base.disclosures > 0 and base.agency_records > 0
    assert copies.quarantined == 0
    assert copies.disclosures == COPIES * base.disclosures
    assert copies.agency_records == COPIES * base.agency_records

    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_SQLITE_PATH", str(many.sqlite_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["audit", "verify-log", "--no-witness"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_ids_are_remapped_in_every_id_field_and_nowhere_else() -> None:
    assert r.id_fields(EVENTS_BY_NAME["ReferralMade"]) == (
        ("case_id", False),
        ("referral_id", False),
    )
    assert ("case_ids", True) in r.id_fields(EVENTS_BY_NAME["MeetingHeld"])
    assert ("subjects", True) in r.id_fields(EVENTS_BY_NAME["PersonErased"])
    assert r.id_fields(EVENTS_BY_NAME["AgencyRegistered"]) == ()
    for model in EVENTS_BY_NAME.values():
        r.id_fields(model)  # no event holds ids inside a nested record
    some = "74180684-34f9-5f0f-a3e1-c15086d56d46"
    assert r.remap(0)(some) == some
    assert r.remap(1)(some) == str(UUID(r.remap(1)(some))) != r.remap(2)(some) != some
    assert r.receipt_text(some) == str(receipt_id(UUID(some)))
