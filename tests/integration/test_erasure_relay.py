"""A relay running since before an erasure forgets the person (issue 19): real broker. What it
publishes from the erasure on carries no name or address, is byte for byte what a relay
started from scratch after the erasure publishes, the auditor's own check proves every
disclosure, and the relay's stored case state no longer holds the details."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.identity import Actor, Role
from hub.settings import Settings
from ops.wiring import open_ledger
from producers import snapshot, witness
from projections.audit.history import replay
from projections.audit.source import log_entries
from projections.audit.verify import Disclosure, verify
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, store_settings
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

EARLY, LATE = "moji.houkatsu", "moji.kodomo"
AGENCIES = [EARLY, LATE, "moji.coordinator"]
STATUTE = "児童虐待防止法 第6条"
ADMIN = Actor("shiken.kanri@city.example", Role.administrator)
PERSONAL = [s.encode() for s in (f.SYNTHETIC_NAME, f.SYNTHETIC_KANA, f.SYNTHETIC_ADDRESS)]


def _prefixed(settings: Settings) -> Settings:
    prefixed = settings.model_copy(update={"kafka_topic_prefix": f"t{uuid4().hex[:10]}."})
    provisioned(prefixed, AGENCIES)
    return prefixed


def _topics(settings: Settings) -> list[str]:
    return [topics.referrals(settings, a) for a in AGENCIES] + [
        topics.audit(settings),
        topics.analytics(settings),
    ]


def _from(settings: Settings, position: int) -> dict[str, list[tuple[Any, ...]]]:
    """Each topic's records of the events at ``position`` and later (the witness's chain
    heads, published with each batch, depend on how the log was batched: left out)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for topic in _topics(settings):
        name = topic.removeprefix(settings.kafka_topic_prefix)
        found[name] = [
            (r.key, r.value, tuple(sorted(r.headers.items())))
            for r in read_raw(settings, topic)
            if int(r.headers.get("position", "-1")) >= position and r.key != witness.KEY.encode()
        ]
    return found


def _drained(settings: Settings, app: HubApplication) -> Any:
    relay = new_relay(settings, app, batch_size=5)
    relay.drain()
    return relay


def test_after_an_erasure_the_live_relay_sends_and_keeps_nothing_of_the_person(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    live, scratch = _prefixed(settings), _prefixed(settings)
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person(), occurred_at=f.at(0)))
    app.execute(
        f.referral(case_id, EARLY, referral_id=uuid4(), statute=STATUTE, occurred_at=f.at(1))
    )
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(2))
    )
    relay = _drained(live, app)  # has read the details while the keys existed
    assert any(p in r.value for r in read_raw(live, _topics(live)[0]) for p in PERSONAL)

    app.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    erased_at = app.recorder.max_notification_id()
    app.execute(f.referral(case_id, LATE, referral_id=uuid4(), occurred_at=f.at(4)))
    app.execute(
        f.consent(
            case_id,
            scope=[EARLY, LATE],
            data_categories=["identity", "contact"],
            purposes=["consultation"],
            occurred_at=f.at(5),
        )
    )
    relay.drain()
    relay.producer.close()
    _drained(scratch, app).producer.close()

    got, expected = _from(live, erased_at), _from(scratch, erased_at)
    sent = [value for records in got.values() for _, value, _ in records]
    early, late = (
        topics.referrals(live, a).removeprefix(live.kafka_topic_prefix) for a in AGENCIES[:2]
    )
    assert len(got[early]) >= 2 and got[late], got  # the notice, the consent; the referral
    for value in sent:
        for personal in PERSONAL:
            assert personal not in value, "a record after the erasure names the person"
    for name, records in expected.items():
        assert got[name] == records, f"{name}: the live relay differs from one from scratch"

    # The auditor's own check agrees: every disclosure of the case was before the erasure.
    ledger = open_ledger(live)
    rows = ledger.disclosures(case_id=str(case_id))
    verdict = verify(replay(log_entries(app)), [Disclosure.from_record(r) for r in rows])
    assert verdict.checked >= 1 and verdict.valid, verdict.refuted
    assert all(r["position"] < erased_at for r in rows)

    row = ledger.state_case(str(case_id))
    assert row is not None
    stored = snapshot._unseal(relay.key, row.state)
    assert b"kodomo" in stored  # the row was written after the later referral
    for personal in PERSONAL:
        assert personal not in stored, "the relay's stored case state keeps the person"
