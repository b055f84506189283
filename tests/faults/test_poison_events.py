"""No single event stops a stream (invariant 9): poison events written below the edge are
quarantined with a reason by every step, and every later event, a life_at_risk referral
among them, still flows: relay, rebuild, follow, report, case show, the agency client and
the reply ingester, against the real broker and both stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from consumers.agency import reply_record
from consumers.config import get_consumer_settings
from consumers.kafka_io import KafkaWriter
from consumers.ports import InRecord
from hub import codec, topics
from hub import events as ev
from hub.application import HubApplication
from hub.commands import GiveConsent, RecordPersonDetails
from hub.kafka_clients import credentials
from hub.settings import Settings, get_settings
from ops.cli.main import app as hub_app
from projections.runner import PROJECTIONS, open_projection, start_runner
from tests.agency_support import (
    AGENCY,
    OTHER_AGENCY,
    T0,
    encoded,
    provisioned,
    publish_like_relay,
    read_topic,
    refer,
)
from tests.poison import (
    YEAR_9999_WEST,
    escalated_for_ever,
    undecodable,
    visits_at_the_ends_of_time,
    withdrawn_in_year_one,
)

pytestmark = pytest.mark.integration

runner = CliRunner()
VIEWS = ("case_state", "inbox", "indicators")


@pytest.fixture(params=["sqlite", "postgres"])
def hub_env(
    request: pytest.FixtureRequest,
    kafka_broker: object,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    broker = provisioned(settings)
    env = {
        "HUB_KAFKA_TOPIC_PREFIX": broker.kafka_topic_prefix,
        "HUB_AGENCY_INBOX_PATH": str(tmp_path / "inbox-{agency}.sqlite"),
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_STORE": request.param,
        "COLUMNS": "240",
    }
    if request.param == "sqlite":
        env["HUB_SQLITE_PATH"] = str(tmp_path / "hub.sqlite")
    else:
        env["HUB_POSTGRES_SCHEMA"] = request.getfixturevalue("pg_env")["POSTGRES_SCHEMA"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()


def hub(*args: str) -> str:
    result = runner.invoke(hub_app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result.output


def event_ids_at(app: HubApplication, positions: list[int]) -> set[str]:
    found = set()
    for n in app.recorder.select_notifications(start=min(positions), limit=1000):
        if n.id in positions:
            found.add(str(codec.event_id(n.originator_id, n.originator_version)))  # type: ignore[arg-type]
    return found


def test_poison_events_are_quarantined_by_every_step_and_the_streams_go_on(
    hub_env: Settings,
) -> None:
    settings = hub_env
    app = HubApplication(env=settings.eventsourcing_env())

    # A case with poison of every kind written below the edge.
    poisoned, poisoned_referral = refer(app, AGENCY)
    first_poison = (app.recorder.max_notification_id() or 0) + 1
    escalated_for_ever(app, poisoned, poisoned_referral, T0 + timedelta(hours=1))
    visits_at_the_ends_of_time(app, poisoned)
    # A consent to OTHER_AGENCY, then its withdrawal dated year 1: passing over the withdrawal
    # must not leave the consent releasing data.
    withdrawn, _ = refer(app, OTHER_AGENCY)
    consent_id = uuid4()
    app.execute(
        GiveConsent(
            command_id=uuid4(),
            occurred_at=T0 + timedelta(minutes=2),
            case_id=withdrawn,
            consent_id=consent_id,
            scope=[OTHER_AGENCY],
            purposes=["assessment"],
            data_categories=["identity"],
            valid_from=T0,
            valid_until=T0 + timedelta(days=365),
        )
    )
    withdrawal_position = (app.recorder.max_notification_id() or 0) + 1
    withdrawn_in_year_one(app, withdrawn, consent_id)
    broken, broken_referral = refer(app, AGENCY)
    undecodable_position = (app.recorder.max_notification_id() or 0) + 1
    undecodable(app, broken, broken_referral, T0 + timedelta(hours=2))
    poison = [first_poison, first_poison + 1, first_poison + 2, withdrawal_position]
    poison.append(undecodable_position)
    poison_ids = event_ids_at(app, poison)

    # Later, good events: person details on the withdrawn case, a life_at_risk referral.
    app.execute(
        RecordPersonDetails(
            command_id=uuid4(),
            occurred_at=T0 + timedelta(hours=3),
            case_id=withdrawn,
            person={"name": "試験 花子"},
        )
    )
    life_case, life_referral = refer(app, AGENCY, urgency="life_at_risk")

    # A record an earlier relay published on the agency's topic, before events were screened.
    old_visit = ev.OutreachVisitMade(
        occurred_at=YEAR_9999_WEST,
        case_id=poisoned,
        visit_id=uuid4(),
        agency_id="hoboku-shakyo",
        outcome="met",
    )
    value, old_event_id = encoded(old_visit, poisoned, 99)
    publish_like_relay(
        app,
        settings,
        [
            InRecord(
                topic=f"referrals.{AGENCY}",
                partition=0,
                offset=0,
                key=str(poisoned).encode(),
                value=value,
                headers={"event_id": old_event_id.encode(), "event_type": b"OutreachVisitMade"},
            )
        ],
    )

    # The relay publishes everything else and quarantines the poison, twice over (restart).
    relayed = hub("relay", "--once", "--principal", "relay")
    assert f"quarantined={len(poison)}" in relayed, relayed
    assert "quarantined=0" in hub("relay", "--once", "--principal", "relay")
    published: list[Any] = []
    for topic in (
        topics.referrals(settings, AGENCY),
        topics.referrals(settings, OTHER_AGENCY),
        topics.analytics(settings),
        topics.audit(settings),
    ):
        published += read_topic(settings, topic)
    published_ids = {dict(r.headers).get("event_id", b"").decode() for r in published}
    assert not poison_ids & published_ids, "a quarantined event was published"
    referrals_to_agency = [
        codec.decode(r.value)[1] for r in read_topic(settings, topics.referrals(settings, AGENCY))
    ]
    assert str(life_referral) in {r.get("referral_id") for r in referrals_to_agency}

    # Fail safe: the consent whose withdrawal was quarantined releases nothing any more.
    details = [
        (dict(r.headers), codec.decode(r.value)[1])
        for r in read_topic(settings, topics.referrals(settings, OTHER_AGENCY))
        if dict(r.headers)["event_type"] == b"PersonDetailsRecorded"
    ]
    ((headers, record),) = details
    assert headers["basis"] == b"none"
    assert record["person"]["name"] is None

    # The views: rebuild, follow, report and case show go on past the poison.
    rebuilt = hub("rebuild")
    for view in VIEWS:
        assert f"{view}: " in rebuilt
    hub("follow", "--once")
    hub("report", "indicators", "--fy", "R8")
    shown = json.loads(hub("case", "show", str(life_case), "--format", "json"))
    assert [r["urgency"] for r in shown["referrals"]] == ["life_at_risk"]
    history = json.loads(hub("case", "show", str(poisoned), "--format", "json"))["history"]
    assert [h["event"] for h in history if h.get("quarantined")] == [
        "ReferralEscalated",
        "OutreachVisitMade",
        "OutreachVisitMade",
    ]
    history = json.loads(hub("case", "show", str(broken), "--format", "json"))["history"]
    assert "decoding" in history[-1]["quarantined"]

    # The agency client parks the old record and takes the life_at_risk referral.
    hub("agency", "run", "--agency", AGENCY, "--once")
    inbox = json.loads(hub("agency", "inbox", "--agency", AGENCY, "--json"))
    assert str(life_referral) in {r["referral_id"] for r in inbox["referrals"]}

    # The reply ingester: a reply dated 9999 is refused, the agency's acceptance applied.
    writer = KafkaWriter(settings, *credentials(settings, AGENCY))
    try:
        bad = reply_record(
            AGENCY,
            {"referral_id": str(life_referral), "case_id": str(life_case)},
            "received",
            None,
        )
        bad["answered_at"] = YEAR_9999_WEST.isoformat()
        writer.send(topics.replies(settings, AGENCY), codec.encode("ReferralReply", bad))
    finally:
        writer.close()
    hub("agency", "ack", str(life_referral)[:8], "accepted", "--agency", AGENCY)
    ingested = hub("replies", "run", "--once", "--no-timers")
    assert "1 applied" in ingested and "1 rejected" in ingested, ingested
    hub("escalations", "run", "--once")  # the timers read the same log
    app.close()
    app = HubApplication(env=settings.eventsourcing_env())
    assert app.get_case(life_case).referrals[life_referral].status == "accepted"

    # Every step lists the poison, with a reason that names the field and no value.
    rows = [json.loads(line) for line in hub("quarantine", "list", "--json").splitlines()]
    for step in ("relay", *VIEWS):
        kept = {r["position"]: r for r in rows if r["step"] == step}
        assert sorted(kept) == poison, (step, kept)
        assert "overdue_minutes" in kept[first_poison]["reason"]
        assert "occurred_at" in kept[first_poison + 1]["reason"]
        assert "occurred_at" in kept[first_poison + 2]["reason"]
        assert kept[withdrawal_position]["event_type"] == "ConsentWithdrawn"
        assert "decoding" in kept[undecodable_position]["reason"]
        for row in kept.values():
            for value in ("9999-12-31", "0001-01-01", str(10**30), "a great many"):
                assert value not in row["reason"]
    parked = hub("quarantine", "list", "--step", "agency", "--agency", AGENCY, "--json")
    (old,) = [json.loads(line) for line in parked.splitlines()]
    assert "occurred_at" in old["reason"] and old["step"] == f"agency:{AGENCY}"
    # The auditor does not sign a log it cannot read: one line naming the position.
    refused = runner.invoke(hub_app, ["audit", "report"])
    assert refused.exit_code == 1
    assert f"position {undecodable_position} cannot be read" in refused.output
    app.close()


def test_the_quarantine_survives_a_rebuild_unchanged(hub_env: Settings) -> None:
    """Rebuilding a view quarantines the same events again (the screen is a fixed rule)."""
    app = HubApplication(env=settings_env(hub_env))
    case_id, referral_id = refer(app, AGENCY)
    escalated_for_ever(app, case_id, referral_id, T0 + timedelta(hours=1))
    refer(app, AGENCY, urgency="life_at_risk")
    visits_at_the_ends_of_time(app, case_id)
    refer(app, AGENCY, urgency="life_at_risk")
    hub("follow", "--once")
    first = hub("quarantine", "list", "--json")
    hub("rebuild")
    assert hub("quarantine", "list", "--json") == first
    assert len([line for line in first.splitlines() if '"step": "case_state"' in line]) == 3
    report = hub("audit", "report")
    assert "quarantine (隔離): 3 event(s) kept back, never published" in report
    assert "ReferralEscalated [case_state, inbox, indicators]: overdue_minutes" in report
    app.close()


def settings_env(settings: Settings) -> dict[str, str]:
    return settings.eventsourcing_env()


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return dict(request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env"))


def test_live_followers_quarantine_poison_and_go_on(store_env: dict[str, str]) -> None:
    """`hub follow` without --once: the library's push runner on PostgreSQL, polling on
    SQLite. Poison written while they run is quarantined; the next referral still arrives."""
    app = HubApplication(env=store_env)
    case_id, referral_id = refer(app, AGENCY)
    with ExitStack() as stack:
        runners = [start_runner(HubApplication, cls, store_env) for cls in PROJECTIONS.values()]
        for runner in runners:
            stack.enter_context(runner)  # type: ignore[arg-type]
        escalated_for_ever(app, case_id, referral_id, T0 + timedelta(hours=1))
        visits_at_the_ends_of_time(app, case_id)
        life_case, life_referral = refer(app, AGENCY, urgency="life_at_risk")
        last = app.recorder.max_notification_id()
        for live in runners:
            live.wait(last, timeout=60)
    for name in PROJECTIONS:
        view = open_projection(name, store_env).view
        kept = [r["event_type"] for r in view.quarantined()]
        assert kept == ["ReferralEscalated", "OutreachVisitMade", "OutreachVisitMade"], name
    inbox = open_projection("inbox", store_env).view
    assert sorted(r["urgency"] for r in inbox.inbox(AGENCY)) == ["life_at_risk", "urgent"]
    case = open_projection("case_state", store_env).view.case(str(life_case), T0)
    assert case is not None and case["referrals"][0]["referral_id"] == str(life_referral)
    app.close()


def test_a_live_follower_quarantines_an_undecodable_event_and_goes_on(
    store_env: dict[str, str],
) -> None:
    """On PostgreSQL the library's push runner decodes each event before the view sees it:
    an event no model reads is handed on as undecodable and quarantined, not a stop."""
    app = HubApplication(env=store_env)
    case_id, referral_id = refer(app, AGENCY)
    with ExitStack() as stack:
        runners = [start_runner(HubApplication, cls, store_env) for cls in PROJECTIONS.values()]
        for runner in runners:
            stack.enter_context(runner)  # type: ignore[arg-type]
        undecodable(app, case_id, referral_id, T0 + timedelta(hours=1))
        broken = app.recorder.max_notification_id()
        life_case, life_referral = refer(app, AGENCY, urgency="life_at_risk")
        last = app.recorder.max_notification_id()
        for live in runners:
            live.wait(last, timeout=60)
    for name in PROJECTIONS:
        view = open_projection(name, store_env).view
        (kept,) = view.quarantined()
        assert (kept["position"], kept["event_type"]) == (broken, "ReferralEscalated"), name
        assert "decoding" in kept["reason"] and "a great many" not in kept["reason"]
    inbox = open_projection("inbox", store_env).view
    assert str(life_referral) in {r["referral_id"] for r in inbox.inbox(AGENCY)}
    case = open_projection("case_state", store_env).view.case(str(life_case), T0)
    assert case is not None and case["referrals"][0]["referral_id"] == str(life_referral)
    app.close()
