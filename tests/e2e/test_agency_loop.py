"""The closed loop through the command line and the real relay:
referral → relay → agency inbox → answer → reply ingester → hub event → case state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from consumers.config import get_consumer_settings
from hub.application import HubApplication
from hub.commands import GiveConsent, RecordPersonDetails
from hub.settings import Settings, get_settings
from ops.cli.main import app as hub_app
from tests.agency_support import AGENCY, OTHER_AGENCY, T0, provisioned, refer

pytestmark = pytest.mark.e2e

runner = CliRunner()


@pytest.fixture
def hub_env(kafka_broker, settings, tmp_path: Path, monkeypatch) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    # The ward's coordinator too: escalations travel on its topic.
    broker = provisioned(settings, (AGENCY, OTHER_AGENCY, "moji.coordinator"))
    env = {
        "HUB_KAFKA_TOPIC_PREFIX": broker.kafka_topic_prefix,
        "HUB_SQLITE_PATH": str(tmp_path / "hub.sqlite"),
        "HUB_AGENCY_INBOX_PATH": str(tmp_path / "inbox-{agency}.sqlite"),  # one per agency
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_STORE": "sqlite",
        "COLUMNS": "240",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()


def hub(*args: str) -> str:
    result = runner.invoke(hub_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def consent(app: HubApplication, case_id) -> None:  # type: ignore[no-untyped-def]
    app.execute(
        GiveConsent(
            command_id=uuid4(),
            occurred_at=T0 + timedelta(minutes=2),
            case_id=case_id,
            consent_id=uuid4(),
            scope=[AGENCY],
            purposes=["outreach"],
            data_categories=["identity", "contact"],
            valid_from=T0,
            valid_until=T0 + timedelta(days=365),
        )
    )
    app.execute(
        RecordPersonDetails(
            command_id=uuid4(),
            occurred_at=T0 + timedelta(minutes=3),
            case_id=case_id,
            person={"name": "試験 花子", "phone": "093-000-0000", "health": "試験の記載"},
        )
    )


def test_an_answer_given_at_the_agency_shows_in_the_case_and_overdue_referrals_escalate(
    hub_env: Settings,
) -> None:
    app = HubApplication(env=hub_env.eventsourcing_env("sqlite"))
    answered_case, answered = refer(app, urgency="soon", purpose="outreach")
    consent(app, answered_case)
    hub("relay", "--once", "--principal", "relay")

    hub("agency", "run", "--agency", AGENCY, "--once")
    listing = json.loads(hub("agency", "inbox", "--agency", AGENCY, "--json"))
    (referral,) = listing["referrals"]
    assert (referral["referral_id"], referral["status"]) == (str(answered), "sent")
    (details,) = [d for d in referral["disclosures"] if d["event_type"] == "PersonDetailsRecorded"]
    assert details["basis"] == "consent"
    assert details["disclosed"] == {"person.name": "試験 花子", "person.phone": "093-000-0000"}
    # The sensitive fields no basis covers are named whether or not they hold anything.
    assert details["withheld"] == ["person.health", "person.disability", "person.criminal_record"]
    table = hub("agency", "inbox", "--agency", AGENCY)
    assert "person.name: 試験 花子" in table
    assert f"本人同意 {details['basis_ref'][:8]}" in table
    assert "非開示: person.criminal_record, person.disability" in table

    # A late entry: the answer counts at the instant the agency gives, not when it was typed.
    given = "2026-04-02T10:30:00+09:00"
    hub("agency", "ack", str(answered)[:8], "received", "--agency", AGENCY, "--at", given)
    assert "1 applied" in hub("replies", "run", "--once")
    assert app.get_case(answered_case).referrals[answered].status == "received"
    (answer,) = [
        e
        for e in app.repository.event_store.get(answered_case)
        if type(e).__name__ == "ReferralAnswered"
    ]
    assert answer.payload.occurred_at == datetime.fromisoformat(given)

    # The hub's ReferralAnswered reaches the agency's inbox through the relay.
    hub("relay", "--once", "--principal", "relay")
    hub("agency", "run", "--agency", AGENCY, "--once")
    listing = json.loads(hub("agency", "inbox", "--agency", AGENCY, "--json"))
    assert listing["referrals"][0]["status"] == "received"

    # Unanswered past its deadline (made in April): the timer escalates it, and only it.
    overdue_case, overdue = refer(app, urgency="life_at_risk", purpose="outreach")
    hub("escalations", "run", "--once")
    app.close()
    app = HubApplication(env=hub_env.eventsourcing_env("sqlite"))
    assert app.get_case(overdue_case).referrals[overdue].escalated
    assert not app.get_case(answered_case).referrals[answered].escalated
    (escalation,) = [
        e
        for e in app.repository.event_store.get(overdue_case)
        if type(e).__name__ == "ReferralEscalated"
    ]
    assert escalation.payload.coordinator == "moji.coordinator"
    app.close()

    # The escalation travels on the coordinator's own topic and shows in its inbox.
    hub("relay", "--once", "--principal", "relay")
    hub("agency", "run", "--agency", "moji.coordinator", "--once")
    listing = json.loads(hub("agency", "inbox", "--agency", "moji.coordinator", "--json"))
    (shown,) = listing["escalations"]
    assert (shown["referral_id"], shown["agency_id"]) == (str(overdue), AGENCY)
    assert "督促" in hub("agency", "inbox", "--agency", "moji.coordinator")
