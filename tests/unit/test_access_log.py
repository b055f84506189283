"""アクセス記録 in the application: recorded before details are shown, never relayed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from hub import events as ev
from hub.application import HubApplication
from hub.commands import derived_id
from hub.errors import InvalidCommandError
from hub.fiscal import now
from hub.identity import Actor, Role
from hub.settings import Settings
from producers.relay import Relay
from projections.audit.access import access_log
from tests import factories as f

AGENCY_OFFICER = Actor("agency-0003@hogo.test", Role.member_agency, agency_id="kokurakita.hogo")
OFFICER = Actor("officer-0001@city.test", Role.ward_officer, ward="kokurakita")


def case_with_person(app: HubApplication) -> Any:
    consultation = f.consultation()
    app.execute(consultation, OFFICER)
    return derived_id(consultation.command_id, "case_id")


def test_reading_the_person_records_who_read_which_fields_first() -> None:
    app = HubApplication()
    case_id = case_with_person(app)
    today = now()  # the read is now: a consent in force now is its basis
    app.execute(
        f.consent(
            case_id,
            valid_from=today - timedelta(days=1),
            valid_until=today + timedelta(days=30),
            occurred_at=today - timedelta(days=1),
        ),
        OFFICER,
    )

    person = app.read_person(case_id, AGENCY_OFFICER, "consent", "consultation")

    assert person is not None and person.name == f.SYNTHETIC_NAME
    (read,) = access_log(app)
    assert (read.subject, read.role, read.case_id) == (
        AGENCY_OFFICER.subject,
        "member_agency",
        str(case_id),
    )
    assert read.fields == (
        "person.address",
        "person.birth_date",
        "person.health",
        "person.kana",
        "person.name",
        "person.phone",
    )
    assert (read.basis, read.purpose) == ("consent", "consultation")


def test_a_case_without_details_shows_nothing_and_records_nothing() -> None:
    app = HubApplication()
    case = f.open_case()
    app.execute(case)
    assert app.read_person(case.case_id, OFFICER, "official_duty", "case_management") is None
    assert app.record_access(OFFICER, case.case_id, [], "official_duty", "audit") is None
    assert access_log(app) == []


@pytest.mark.parametrize(
    "basis, purpose", [("whim", "consultation"), ("consent", "curiosity"), ("", "")]
)
def test_an_access_on_an_unknown_basis_or_purpose_is_refused_and_nothing_written(
    basis: str, purpose: str
) -> None:
    app = HubApplication()
    case_id = case_with_person(app)
    before = app.recorder.max_notification_id()
    with pytest.raises(InvalidCommandError):
        app.record_access(OFFICER, case_id, ["person.name"], basis, purpose)
    with pytest.raises(InvalidCommandError):
        app.read_person(case_id, OFFICER, basis, purpose)
    assert app.recorder.max_notification_id() == before


class FakeLedger:
    def __init__(self) -> None:
        self.stored: list[tuple[int, list[dict[str, Any]]]] = []

    def position(self) -> int:
        return 0

    def record(
        self,
        position: int,
        disclosures: list[dict[str, Any]],
        quarantined: Any = (),
        state: Any = None,
    ) -> None:
        self.stored.append((position, list(disclosures)))

    def store_state(self, state: Any) -> None:
        pass

    def state_header(self) -> None:
        return None

    def state_case(self, case_id: str) -> None:
        return None

    def state_cases(self, case_ids: Any) -> list[Any]:
        return []

    def quarantined(self) -> list[dict[str, Any]]:
        return []


class Sent:
    def get(self, timeout: float = 0) -> None:
        return None


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Any) -> Sent:
        self.sent.append((topic, value))
        return Sent()

    def flush(self) -> None:
        pass


def test_the_relay_publishes_no_access_record_on_any_topic() -> None:
    app = HubApplication()
    case_id = case_with_person(app)
    # The agency is involved in the case (referral, meeting), so its events go to it.
    app.execute(f.referral(case_id, "kokurakita.hogo"), OFFICER)
    app.execute(f.meeting([case_id]), OFFICER)
    first_access = (app.recorder.max_notification_id() or 0) + 1
    app.read_person(case_id, AGENCY_OFFICER, "support_meeting", "support_planning")
    app.execute(f.visit(case_id, agency_id="hoboku-shakyo"), OFFICER)
    producer, ledger = FakeProducer(), FakeLedger()
    relay = Relay(Settings(), app, ledger, producer)  # type: ignore[arg-type]

    counts = relay.drain()

    assert counts.position == app.recorder.max_notification_id()
    assert counts.events == counts.position
    published = [v for _, v in producer.sent]
    assert published, "the other events were published"
    assert not [v for v in published if AGENCY_OFFICER.subject.encode() in v]
    assert not [v for v in published if b"PersonalDataAccessed" in v]
    assert all(d["position"] != first_access for _, ds in ledger.stored for d in ds)
    (access,) = app.recorder.select_notifications(first_access, 1)
    assert isinstance(app.mapper.to_domain_event(access).payload, ev.PersonalDataAccessed)


def test_each_read_is_its_own_record_so_concurrent_reads_never_conflict() -> None:
    app = HubApplication()
    case_id = case_with_person(app)
    ids = {
        app.record_access(OFFICER, case_id, ["person.name"], "official_duty", "case_management")
        for _ in range(3)
    }
    assert len(ids) == 3 and None not in ids
    assert len(access_log(app, case_id=str(case_id), subject=OFFICER.subject)) == 3
    assert access_log(app, case_id=str(uuid4())) == []
