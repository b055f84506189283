"""Who acted: every event a command makes names its actor; agencies and analysts never see it."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import fastavro
import pytest
from pydantic import SecretStr

from consumers.escalation import escalate_overdue
from hub import codec
from hub import events as ev
from hub.application import HubApplication
from hub.avro_schemas import all_event_schemas
from hub.commands import derived_id
from hub.compatibility import RELEASED_DIR
from hub.domain.network import NETWORK_ID
from hub.errors import ConfigurationError, InvalidActorError
from hub.identity import DEVELOPMENT_OPERATOR, Actor, Role
from hub.settings import Settings
from ops.wiring import configured_operator, open_application
from producers.deidentify import deidentify
from producers.governance import GovernanceState, decide, logged
from tests import factories as f
from tests.unit.test_replies import Replies, ingest, referred

OFFICER = Actor("officer-0001@city.test", Role.ward_officer, ward="kokurakita")


def payloads(app: HubApplication) -> list[ev.Event]:
    """The payloads after the network's import (which the system wrote)."""
    notifications = app.recorder.select_notifications(start=None, limit=1000)
    return [
        app.mapper.to_domain_event(n).payload
        for n in notifications
        if n.originator_id != NETWORK_ID
    ]


def test_every_event_of_a_command_names_the_actor_given_to_execute() -> None:
    app = HubApplication()
    app.execute(f.consultation(), OFFICER)

    written = payloads(app)

    assert [type(p).__name__ for p in written] == [
        "CaseOpened",
        "ConsultationReceived",
        "CommandAccepted",
    ]
    assert {p.actor for p in written} == {
        ev.ActedBy(subject="officer-0001@city.test", role="ward_officer")
    }


def test_without_an_actor_the_configured_operator_acts(tmp_path: Any) -> None:
    settings = Settings(sqlite_path=tmp_path / "hub.sqlite", operator="試験-operator-7")
    app = open_application(settings, "sqlite")
    app.execute(f.open_case())
    app.close()

    # A fresh application reads the actor back from the store.
    reread = open_application(settings, "sqlite")
    actors = {p.actor for p in payloads(reread)}
    reread.close()
    assert actors == {ev.ActedBy(subject="試験-operator-7", role="operator")}


def test_outside_development_no_one_acts_unless_named_or_configured() -> None:
    production = Settings(mode="production", operator=None)
    app = HubApplication(operator=configured_operator(production))
    case = f.open_case(person=f.person())
    imported = app.recorder.max_notification_id()  # the network, imported by the system

    with pytest.raises(InvalidActorError, match="HUB_OPERATOR"):
        app.execute(case)
    assert app.recorder.max_notification_id() == imported
    app.execute(case, OFFICER)
    written = app.recorder.max_notification_id()
    with pytest.raises(InvalidActorError):
        app.read_person(case.case_id, None, "official_duty", "case_management")
    assert app.recorder.max_notification_id() == written  # no read recorded, none shown

    assert configured_operator(Settings(mode="development", operator=None)) == (
        DEVELOPMENT_OPERATOR
    )
    assert configured_operator(Settings(mode="production", operator="officer-9")) == Actor(
        "officer-9", Role.operator
    )
    # The development operator's name says no one: refused, not recorded on every event.
    with pytest.raises(ConfigurationError, match="HUB_OPERATOR is 'operator'"):
        configured_operator(Settings(mode="production", operator="operator"))


def test_production_refuses_to_be_told_not_to_seal(tmp_path: Any) -> None:
    """Production seals whatever HUB_SEAL_PERSONAL says: said, so no one believes otherwise."""
    secrets = {
        name: SecretStr(f"試験-{name}-0123456789abcdef0123456789abcdef")
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr
    }
    told = Settings(
        mode="production", sqlite_path=tmp_path / "hub.sqlite", seal_personal=False, **secrets
    )
    with pytest.raises(ConfigurationError, match="HUB_SEAL_PERSONAL=false is for development"):
        told.eventsourcing_env()
    assert not (tmp_path / "hub.sqlite").exists()


def test_the_acknowledgement_timer_acts_as_a_system_subject() -> None:
    app = HubApplication()
    case = f.open_case(ward="moji")
    app.execute(case)
    app.execute(f.referral(case.case_id, "moji.houkatsu", urgency="life_at_risk"))

    (escalation,) = escalate_overdue(app, f.at(1), lambda _, made: made + timedelta(minutes=30))
    outcome = escalation.outcome

    escalated = [p for p in payloads(app) if isinstance(p, ev.ReferralEscalated)]
    assert not outcome.duplicate
    assert escalated[0].actor == ev.ActedBy(subject="system:timer:escalation", role="system")


def test_the_reply_ingester_acts_as_a_system_subject_naming_the_agency() -> None:
    app = HubApplication()
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(case_id, referral_id, "accepted")

    ingest(app, replies)

    (answered,) = [p for p in payloads(app) if isinstance(p, ev.ReferralAnswered)]
    assert answered.actor == ev.ActedBy(subject="system:replies:moji.houkatsu", role="system")


@pytest.mark.parametrize(
    "subject, role",
    [("", Role.operator), (" padded ", Role.operator), ("a\nb", Role.operator), ("x" * 256, "x")],
)
def test_an_actor_without_a_usable_subject_or_role_is_refused(subject: str, role: str) -> None:
    with pytest.raises(InvalidActorError):
        Actor(subject, role)  # type: ignore[arg-type]


def test_a_role_given_as_text_becomes_the_role() -> None:
    assert Actor("auditor-1", "auditor").role is Role.auditor  # type: ignore[arg-type]


def _governed(app: HubApplication) -> list[Any]:
    state = GovernanceState()
    notifications = app.recorder.select_notifications(start=None, limit=1000)
    decisions = [decide(state, logged(n.id, app.mapper.to_domain_event(n))) for n in notifications]
    return [d for d in decisions if d.event.record["aggregate_id"] != str(NETWORK_ID)]


def test_agencies_and_analysts_never_see_who_acted_but_auditors_do() -> None:
    app = HubApplication()
    consultation = f.consultation()
    app.execute(consultation, OFFICER)
    case_id = derived_id(consultation.command_id, "case_id")
    app.execute(f.referral(case_id, "kokurakita.hogo"), OFFICER)
    app.execute(f.consent(case_id), OFFICER)

    decisions = _governed(app)

    agency_records = [r.record for d in decisions for r in d.agencies]
    audit_records = [d.audit_record for d in decisions if d.audit_record is not None]
    analytics = [deidentify(d.event.record, b"k") for d in decisions]
    assert agency_records and audit_records
    assert all(r["actor"] is None for r in agency_records + analytics)
    assert all(d.event.record["actor"]["subject"] == OFFICER.subject for d in decisions)
    assert {r["actor"]["role"] for r in audit_records} == {"ward_officer"}
    for record in agency_records + analytics:
        encoded = codec.encode(record["event_type"], record)
        assert OFFICER.subject.encode() not in encoded


def _avro(schema: dict[str, Any]) -> Any:
    return fastavro.parse_schema(codec._without_logical_types(schema))


def test_a_record_with_an_actor_reads_with_the_released_v1_schema_and_back() -> None:
    app = HubApplication()
    app.execute(f.open_case(), OFFICER)
    (opened,) = [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=None, limit=1000)
        if "CaseOpened" in n.topic
    ]
    record = codec.event_record(opened)
    current = _avro(all_event_schemas()["CaseOpened"])
    v1 = _avro(json.loads((RELEASED_DIR / "CaseOpened" / "1.avsc").read_text("utf-8")))

    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, current, record)
    buffer.seek(0)
    old_reader_view = fastavro.schemaless_reader(buffer, current, v1)
    assert "actor" not in old_reader_view and old_reader_view["ward"] == record["ward"]

    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, v1, old_reader_view)
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, v1, current)["actor"] is None
