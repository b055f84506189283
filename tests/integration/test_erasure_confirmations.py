"""Erasure confirmations end to end (real broker): the relay sends the erasure notice, each
agency client clears its inbox and confirms on its reply topic, the ingester records
ErasureConfirmed, and `hub privacy erasures` lists the agency whose client was not running as
pending until it runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from consumers.config import ConsumerSettings
from consumers.stopping import StopFlag
from hub import events as ev
from hub.application import HubApplication
from hub.identity import Actor, Role
from hub.settings import get_settings
from ops.cli.main import app as cli
from ops.wiring import open_agency_consumer, open_reply_ingester
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, store_settings
from tests.unit.test_agency_retry import older_client

pytestmark = pytest.mark.integration

RUNNING, AWAY = "moji.houkatsu", "yahatahigashi.koureisha-shougaisha"
AGENCIES = [RUNNING, AWAY, "moji.coordinator"]
ADMIN = Actor("shiken.kanri@city.example", Role.administrator)
PERSONAL = (f.SYNTHETIC_NAME, f.SYNTHETIC_KANA, f.SYNTHETIC_ADDRESS)


def _client(settings, agency: str, tmp_path: Path) -> list[dict]:  # type: ignore[no-untyped-def]
    """Run the agency's client until caught up; its inbox's referrals."""
    consumer = open_agency_consumer(
        settings, agency, ConsumerSettings(agency_inbox_path=tmp_path / f"{agency}.sqlite")
    )
    try:
        consumer.run(StopFlag(), once=True)
        return consumer.inbox.referrals()
    finally:
        consumer.close()


def _ingest(settings, app: HubApplication) -> int:  # type: ignore[no-untyped-def]
    ingester = open_reply_ingester(settings, app)
    try:
        ingester.run(StopFlag(), once=True)
    finally:
        ingester.close()
    return ingester.report.rejected


def _erasures(*args: str) -> str:
    result = CliRunner().invoke(cli, ["privacy", "erasures", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _hub(sqlite_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The hub's settings on a fresh SQLite store and topic prefix, the agencies provisioned,
    and the CLI pointed at them."""
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, AGENCIES)
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_SQLITE_PATH", str(settings.sqlite_path))
    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", settings.kafka_topic_prefix)
    get_settings.cache_clear()
    return settings


def _confirmations(app: HubApplication, case_id: UUID) -> list[ev.ErasureConfirmed]:
    payloads = [e.payload for e in app.events.get(case_id)]  # type: ignore[attr-defined]
    return [p for p in payloads if isinstance(p, ev.ErasureConfirmed)]


def test_agencies_confirm_the_erasure_and_the_one_not_running_is_pending(
    kafka_broker: object,
    sqlite_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _hub(sqlite_env, tmp_path, monkeypatch)
    app = HubApplication(env=settings.eventsourcing_env())
    case_id, other = uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person(), occurred_at=f.at(0)))
    app.execute(f.open_case(case_id=other, ward="moji", person=f.person(), occurred_at=f.at(0)))
    for agency in (RUNNING, AWAY):
        app.execute(f.referral(case_id, agency, referral_id=uuid4(), occurred_at=f.at(1)))
    app.execute(f.referral(other, RUNNING, referral_id=uuid4(), occurred_at=f.at(1)))
    app.erase_person(case_id, decided_by="試験 保健福祉局", reason="本人の求め", actor=ADMIN)
    relay = new_relay(settings, app)
    relay.drain()
    relay.producer.close()

    _client(settings, RUNNING, tmp_path)
    assert _ingest(settings, app) == 0
    (confirmed,) = _confirmations(app, case_id)
    assert confirmed.agency_id == RUNNING
    assert not any(s in confirmed.model_dump_json() for s in PERSONAL)
    pending = _erasures("--pending")
    assert f"事例 {case_id}" in pending and str(other) not in pending
    assert "  未確認   pending\n    " in pending and f"（{AWAY}）" in pending
    assert RUNNING not in pending

    _client(settings, AWAY, tmp_path)
    _client(settings, RUNNING, tmp_path)  # nothing new: no second confirmation
    assert _ingest(settings, app) == 0
    assert sorted(c.agency_id for c in _confirmations(app, case_id)) == [RUNNING, AWAY]
    assert str(case_id) not in _erasures("--pending")
    listed = _erasures()
    assert f"事例 {case_id}" in listed and "JST" in listed and "未確認 0 機関" in listed
    for agency in (RUNNING, AWAY):
        told = f"確認済み confirmed  [0-9: -]+ JST\n    [^\n]*（{re.escape(agency)}）"
        assert re.search(told, listed), listed
    assert max(cell_len(line) for line in listed.splitlines()) <= 80, listed
    get_settings.cache_clear()


def test_an_erasure_notice_an_older_client_parked_is_applied_and_confirmed_by_retry(
    kafka_broker: object,
    sqlite_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(tmp_path / "{agency}.sqlite"))
    settings = _hub(sqlite_env, tmp_path, monkeypatch)
    app = HubApplication(env=settings.eventsourcing_env())
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person(), occurred_at=f.at(0)))
    app.execute(f.referral(case_id, RUNNING, referral_id=uuid4(), occurred_at=f.at(1)))
    app.execute(f.consent(case_id, scope=[RUNNING], purposes=["consultation"], occurred_at=f.at(2)))
    relay = new_relay(settings, app)
    relay.drain()  # the name and address go to the agency on the consent
    app.erase_person(case_id, decided_by="試験 保健福祉局", reason="本人の求め", actor=ADMIN)
    relay.drain()
    relay.producer.close()

    with older_client(monkeypatch, "PersonErased"):
        _client(settings, RUNNING, tmp_path)
    assert _ingest(settings, app) == 0
    assert _confirmations(app, case_id) == []
    inbox = CliRunner().invoke(cli, ["agency", "inbox", "--agency", RUNNING])
    assert f"hub agency retry --agency {RUNNING}" in inbox.output
    held = b"".join(p.read_bytes() for p in tmp_path.glob(f"{RUNNING}.sqlite*"))
    assert f.SYNTHETIC_NAME.encode() in held

    retried = CliRunner().invoke(cli, ["agency", "retry", "--agency", RUNNING])

    assert retried.exit_code == 0, retried.output
    assert "再適用 1 件、" in retried.output and "0 still parked" in retried.output
    stored = b"".join(p.read_bytes() for p in tmp_path.glob(f"{RUNNING}.sqlite*"))
    assert f.SYNTHETIC_NAME.encode() not in stored
    assert _ingest(settings, app) == 0
    (confirmed,) = _confirmations(app, case_id)
    assert confirmed.agency_id == RUNNING
    listed = CliRunner().invoke(cli, ["quarantine", "list", "--agency", RUNNING, "--json"])
    assert listed.exit_code == 0 and f"agency:{RUNNING}" not in listed.output
    again = CliRunner().invoke(cli, ["agency", "retry", "--agency", RUNNING])
    assert "再適用 0 件、" in again.output
    get_settings.cache_clear()
