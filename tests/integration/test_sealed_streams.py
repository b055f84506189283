"""Sealing is at rest only (issue 19): the relay publishes the very same bytes whether the
log's personal fields are sealed or plain."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.settings import Settings
from ops.bench.logcopy import copy_log
from tests import factories as f
from tests.integration.streams import new_relay, provisioned
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

CONSENTED, STATUTE, NOTHING = "moji.houkatsu", "moji.kodomo", "moji.inochinet"
AGENCIES = [CONSENTED, STATUTE, NOTHING, "moji.coordinator"]


def _history(app: HubApplication) -> None:
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    for agency, statute in [(CONSENTED, None), (STATUTE, "児童虐待防止法 第6条"), (NOTHING, None)]:
        app.execute(
            f.referral(case_id, agency, referral_id=uuid4(), statute=statute, occurred_at=f.at(1))
        )
    app.execute(
        f.consent(
            case_id,
            scope=[CONSENTED],
            data_categories=["identity", "contact", "health"],
            purposes=["consultation"],
            occurred_at=f.at(2),
        )
    )
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(3))
    )
    app.execute(f.plan(case_id, occurred_at=f.at(4)))
    app.execute(f.discovery(ward="moji", person=f.person(), occurred_at=f.at(5)))


def _store(tmp_path: Path, name: str, *, sealed: bool) -> Settings:
    return Settings(
        store="sqlite",
        sqlite_path=tmp_path / f"{name}.sqlite",
        kafka_topic_prefix=f"t{uuid4().hex[:10]}.",
        seal_personal=sealed,
    )


def _stored(tmp_path: Path, name: str) -> bytes:
    """The store's bytes: the database file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob(f"{name}.sqlite*")))


def _without_heads(published: dict[str, list[tuple]]) -> tuple[dict[str, list[tuple]], int]:
    kept = {
        topic: [r for r in records if ("event_type", "ChainHead") not in r[2]]
        for topic, records in published.items()
    }
    heads = sum(len(published[t]) - len(kept[t]) for t in published)
    return kept, heads


def _published(settings: Settings) -> dict[str, list[tuple]]:
    return {
        topic.removeprefix(settings.kafka_topic_prefix): [
            (r.key, r.value, sorted(r.headers.items())) for r in read_raw(settings, topic)
        ]
        for topic in topics.all_topics(settings, AGENCIES)
    }


def test_the_relay_publishes_the_same_bytes_from_a_sealed_log(
    kafka_broker: object, tmp_path: Path
) -> None:
    sealed_settings = _store(tmp_path, "sealed", sealed=True)
    plain_settings = _store(tmp_path, "plain", sealed=False)
    sealed = HubApplication(env=sealed_settings.eventsourcing_env())
    plain = HubApplication(env=plain_settings.eventsourcing_env(), seed_network=False)
    try:
        _history(sealed)
        assert copy_log(sealed, plain) > 0
        sealed_bytes, plain_bytes = _stored(tmp_path, "sealed"), _stored(tmp_path, "plain")
        assert f.SYNTHETIC_NAME.encode() in plain_bytes
        assert f.SYNTHETIC_NAME.encode() not in sealed_bytes
        assert f.SYNTHETIC_ADDRESS.encode() not in sealed_bytes
        for settings, app in ((sealed_settings, sealed), (plain_settings, plain)):
            provisioned(settings, AGENCIES)
            assert new_relay(settings, app).drain().events > 0
        from_sealed, from_plain = _published(sealed_settings), _published(plain_settings)
        assert sum(len(records) for records in from_sealed.values()) > 10
        # The chain's witnessed head hashes the stored bytes, which sealing changes by design;
        # every other record is the same byte for byte.
        heads = [_without_heads(published) for published in (from_sealed, from_plain)]
        assert heads[0][1] == heads[1][1] > 0
        assert heads[0][0] == heads[1][0]
        assert any(
            f.SYNTHETIC_NAME.encode() in value
            for _, value, _ in from_sealed[f"referrals.{CONSENTED}"]
        ), "the relay decrypts: an agency on a basis gets the name"
    finally:
        sealed.close()
        plain.close()
