"""The auditor's commands against the real relay, broker and both stores.

A synthetic history (consent, connection meeting, emergency, withdrawal, statutory
referral) is relayed; the auditor then replays, lists and verifies, and finds a forged
disclosure whether it was slipped into the ledger table or onto ``audit.consent``.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from hub import codec, topics
from hub.application import HubApplication
from hub.kafka_config import client_config
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from ops.wiring import kafka_history, log_history
from tests import audit_scenario as s
from tests.integration.streams import IMPORTED, new_relay, provisioned, store_settings

pytestmark = pytest.mark.integration

AGENCIES = [
    "kokurakita.hogo",
    "kokurakita.hoken",
    "kokurakita.kodomo",
    "kokurakita.coordinator",
    "kokurakita.houkatsu",
    "kokurakita.inochinet",
    "hoboku-shakyo",
]
TICK = timedelta(microseconds=1)


@pytest.fixture(params=["sqlite", "postgres"])
def relayed(
    request: pytest.FixtureRequest,
    kafka_broker: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Settings, s.Scenario]]:
    env = request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env")
    settings = store_settings(request.param, env, tmp_path)
    provisioned(settings, AGENCIES)
    app = HubApplication(env=settings.eventsourcing_env())
    scenario = s.build(app)
    new_relay(settings, app).drain()
    app.close()
    monkeypatch.setenv("HUB_STORE", settings.store)
    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", settings.kafka_topic_prefix)
    if settings.store == "sqlite":
        monkeypatch.setenv("HUB_SQLITE_PATH", str(settings.sqlite_file))
    else:
        monkeypatch.setenv("HUB_POSTGRES_SCHEMA", settings.postgres_schema)
    get_settings.cache_clear()
    yield settings, scenario
    get_settings.cache_clear()


def hub(*args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", *args])


def test_every_disclosure_the_relay_made_is_proven(relayed: tuple[Settings, s.Scenario]) -> None:
    result = hub("verify")
    assert result.exit_code == 0, result.output
    assert "no disclosure without a valid basis" in result.output
    assert "0 unchecked" in result.output
    for basis in ("consent", "support_meeting", "statute", "vital_interest"):
        assert basis in result.output
    from_kafka = hub("verify", "--source", "kafka")
    assert from_kafka.exit_code == 0, from_kafka.output
    topic_only = hub("verify", "--source", "kafka", "--history", "kafka")
    assert topic_only.exit_code == 0, topic_only.output
    assert "unchecked: " in topic_only.output  # purposes and statutes are not on the topic


def test_disclosures_answer_what_an_agency_held_about_a_case(
    relayed: tuple[Settings, s.Scenario],
) -> None:
    _, sc = relayed
    result = hub(
        "disclosures", "--case", str(sc.case_id), "--agency", "kokurakita.hogo",
        "--as-of", (sc.withdrawn_at - TICK).isoformat(), "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and {r["agency_id"] for r in rows} == {"kokurakita.hogo"}
    assert all(r["occurred_at"] < sc.withdrawn_at.isoformat() for r in rows)
    assert {r["basis"] for r in rows} >= {"support_meeting"}
    as_csv = hub("disclosures", "--case", str(sc.case_id), "--format", "csv")
    table = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert len(table) > len(rows)
    assert {"basis", "basis_ref", "fields", "categories"} <= set(table[0])
    between = hub(
        "disclosures", "--between", sc.withdrawn_at.isoformat(), sc.expires_at.isoformat(),
        "--source", "kafka", "--format", "json",
    )  # fmt: skip
    assert between.exit_code == 0, between.output
    assert all(sc.withdrawn_at.isoformat() <= r["occurred_at"] for r in json.loads(between.output))


def test_replaying_audit_consent_agrees_with_the_log_around_a_withdrawal(
    relayed: tuple[Settings, s.Scenario],
) -> None:
    settings, sc = relayed
    from_log, from_kafka = log_history(settings), kafka_history(settings)
    instants = [
        sc.given_at - TICK, sc.given_at, sc.held_at, sc.declared_at,
        sc.withdrawn_at - TICK, sc.withdrawn_at, sc.withdrawn_at + TICK, sc.expires_at,
    ]  # fmt: skip
    for at in instants:
        assert from_kafka.snapshot(at).view() == from_log.snapshot(at).view(), at
    before = hub("replay", "--as-of", (sc.withdrawn_at - TICK).isoformat(),
                 "--source", "kafka", "--format", "json")  # fmt: skip
    after = hub("replay", "--as-of", (sc.withdrawn_at + TICK).isoformat(),
                "--source", "kafka", "--format", "json")  # fmt: skip
    consent = str(sc.consent_id)
    agree = hub("replay", "--as-of", sc.withdrawn_at.isoformat(), "--compare")
    assert agree.exit_code == 0, agree.output
    assert "agree" in agree.output
    assert [c["consent_id"] for c in json.loads(before.output)["consents_in_force"]] == [consent]
    assert json.loads(after.output)["consents_in_force"] == []
    # The auditor reading the topic alone sees who recorded the consent (invariant 8).
    (given,) = json.loads(before.output)["consents_in_force"]
    assert given["given_by"] == "operator (operator)"


def _forged(settings: Settings, sc: s.Scenario) -> dict[str, Any]:
    """A disclosure to an agency outside the consent, after the withdrawal."""
    history = log_history(settings)
    late = s.event_at(history, "ReferralMade", 2)
    return s.disclosure(late, "kokurakita.hoken", "consent", sc.consent_id, categories=["health"])


def test_a_forged_disclosure_in_the_ledger_is_reported(
    relayed: tuple[Settings, s.Scenario],
) -> None:
    settings, sc = relayed
    forged = _forged(settings, sc)
    _insert_ledger_row(settings, forged)
    result = hub("verify")
    assert result.exit_code == 1
    assert forged["disclosure_id"] in result.output
    assert "withdrawn" in result.output
    assert "1 of" in result.output
    report = hub("report")
    assert report.exit_code == 0, report.output
    assert "had NO valid basis" in report.output and forged["disclosure_id"] in report.output


def test_a_forged_disclosure_on_audit_consent_is_reported(
    relayed: tuple[Settings, s.Scenario],
) -> None:
    settings, sc = relayed
    forged = _forged(settings, sc)
    _produce(settings, sc, codec.encode("Disclosure", forged), forged["position"])
    assert hub("verify").exit_code == 0  # the ledger was not touched
    for history in ("log", "kafka"):
        result = hub("verify", "--source", "kafka", "--history", history)
        assert result.exit_code == 1
        assert forged["disclosure_id"] in result.output


def _insert_ledger_row(settings: Settings, record: dict[str, Any]) -> None:
    columns = list(record)
    row = {
        **record,
        "fields": json.dumps(record["fields"]),
        "categories": json.dumps(record["categories"]),
    }
    if settings.store == "sqlite":
        with sqlite3.connect(settings.sqlite_file) as conn:
            conn.execute(
                f"INSERT INTO disclosures ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})",
                row,
            )
        return
    import psycopg

    with psycopg.connect(**settings.postgres_connection()) as conn:
        conn.execute(
            f'INSERT INTO "{settings.postgres_schema}".disclosures ({", ".join(columns)}) '  # type: ignore[arg-type]
            f"VALUES ({', '.join('%(' + c + ')s' for c in columns)})",
            row,
        )


def test_a_forged_withdrawal_on_audit_consent_makes_the_replays_disagree(
    relayed: tuple[Settings, s.Scenario],
) -> None:
    settings, sc = relayed
    forged = {
        "event_id": str(uuid4()),
        "event_type": "ConsentWithdrawn",
        "aggregate_id": str(sc.case_id),
        "aggregate_version": 99,
        "recorded_at": sc.held_at.isoformat(),
        "occurred_at": sc.held_at.isoformat(),
        "actor": None,
        "case_id": str(sc.case_id),
        "consent_id": str(sc.consent_id),
    }
    _produce(settings, sc, codec.encode("ConsentWithdrawn", forged), position=IMPORTED + 9)
    result = hub("replay", "--as-of", sc.declared_at.isoformat(), "--compare")
    assert result.exit_code == 1
    assert "DISAGREE" in result.output


def _produce(settings: Settings, sc: s.Scenario, value: bytes, position: int) -> None:
    producer = KafkaProducer(**client_config(settings), acks="all")
    try:
        producer.send(
            topics.audit(settings),
            key=str(sc.case_id).encode(),
            value=value,
            headers=[("position", str(position).encode())],
        ).get(timeout=30)
    finally:
        producer.close()


def test_a_second_version_of_a_relayed_event_on_audit_consent_is_refused(
    relayed: tuple[Settings, s.Scenario],
) -> None:
    settings, sc = relayed
    given = s.event_at(log_history(settings), "ConsentGiven")
    variant = {
        "event_id": given.event_id,
        "event_type": "ConsentGiven",
        "aggregate_id": str(sc.case_id),
        "aggregate_version": 4,
        "recorded_at": sc.given_at.isoformat(),
        "occurred_at": sc.given_at.isoformat(),
        "actor": None,
        "case_id": str(sc.case_id),
        "consent_id": str(sc.consent_id),
        "scope": ["ward_windows", "hoboku-shakyo"],
        "purposes": ["consultation"],
        "data_categories": ["identity", "contact", "health"],
        "valid_from": sc.given_at.isoformat(),
        "valid_until": sc.expires_at.isoformat(),
        "by_proxy": False,
        "proxy_relationship": None,
    }
    value = codec.encode("ConsentGiven", variant)
    producer = KafkaProducer(**client_config(settings), acks="all")
    try:
        producer.send(
            topics.audit(settings),
            key=str(sc.case_id).encode(),
            value=value,
            headers=[("event_id", given.event_id.encode()), ("position", b"4")],
        ).get(timeout=30)
    finally:
        producer.close()
    result = hub("replay", "--as-of", sc.declared_at.isoformat(), "--source", "kafka")
    assert result.exit_code == 1
    assert "different records under one event id" in result.output
