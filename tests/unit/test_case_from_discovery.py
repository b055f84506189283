"""A case opened from a discovery takes the person the report names (the officer's own
statements replace the report's field by field), so that a basis in force later delivers
their name and address to the agency; an erased discovery opens no case."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from hub import codec
from hub import events as ev
from hub.application import HubApplication
from hub.errors import DiscoveryErasedError
from hub.identity import Actor, Role
from hub.sealing import ERASED
from hub.settings import Settings
from producers.relay import Relay
from tests import factories as f
from tests.unit.test_access_log import FakeLedger, FakeProducer

ADMIN = Actor("shiken.kanri@city.example", Role.administrator)


def _reported(app: HubApplication, person: dict[str, Any] | None) -> UUID:
    return app.execute(f.discovery(ward="tobata", person=person)).aggregate_ids[0]


def _opened(app: HubApplication, case_id: UUID) -> ev.CaseOpened:
    first = next(iter(app.events.get(case_id)))
    return first.payload  # type: ignore[no-any-return]


def test_a_case_opened_from_a_discovery_takes_the_person_the_report_names() -> None:
    app = HubApplication()
    discovery_id = _reported(app, f.person())
    case_id = uuid4()

    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id))

    person = _opened(app, case_id).person
    assert person is not None
    assert (person.name, person.address, person.phone) == (
        f.SYNTHETIC_NAME,
        f.SYNTHETIC_ADDRESS,
        f.SYNTHETIC_PHONE,
    )
    assert person.health == f.SYNTHETIC_HEALTH
    assert app.get_case(case_id).person == person


def test_what_the_officer_states_replaces_the_reports_field_and_keeps_the_rest() -> None:
    app = HubApplication()
    discovery_id = _reported(app, f.person(kana=None))
    case_id = uuid4()

    stated = {"name": "試験 花子", "kana": "シケン ハナコ"}
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id, person=stated))

    person = _opened(app, case_id).person
    assert person is not None
    assert (person.name, person.kana) == ("試験 花子", "シケン ハナコ")
    assert person.address == f.SYNTHETIC_ADDRESS  # the report's, not stated again


def test_a_report_that_names_no_one_opens_a_case_without_details() -> None:
    app = HubApplication()
    discovery_id = _reported(app, None)
    case_id = uuid4()

    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id))

    assert _opened(app, case_id).person is None


def test_an_erased_discovery_opens_no_case_and_nothing_is_written() -> None:
    app = HubApplication()
    discovery_id = _reported(app, f.person())
    app.erase_discovery(discovery_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)
    size = app.recorder.max_notification_id()

    with pytest.raises(DiscoveryErasedError, match="was erased"):
        app.execute(f.open_case(case_id=uuid4(), discovery_id=discovery_id))

    assert app.recorder.max_notification_id() == size


def test_the_agency_a_consent_covers_receives_the_reports_name_and_address() -> None:
    app = HubApplication()
    discovery_id = _reported(app, f.person())
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id))
    app.execute(f.referral(case_id, "tobata.hogo"))
    app.execute(f.consent(case_id, scope=["tobata.hogo"]))
    producer = FakeProducer()

    Relay(Settings(), app, FakeLedger(), producer).drain()  # type: ignore[arg-type]

    received = [
        codec.decode(value)[1] for topic, value in producer.sent if topic.endswith("tobata.hogo")
    ]
    names = {r["person"]["name"] for r in received if (r.get("person") or {}).get("name")}
    addresses = {r["person"]["address"] for r in received if (r.get("person") or {}).get("name")}
    assert names == {f.SYNTHETIC_NAME} and addresses == {f.SYNTHETIC_ADDRESS}
    # The sensitive field the consent does not name stays with the hub.
    assert not [r for r in received if (r.get("person") or {}).get("health")]


def test_in_one_group_the_case_takes_the_person_of_the_discovery_reported_before_it() -> None:
    app = HubApplication()
    reported = f.discovery(ward="tobata", person=f.person(), note="架空の通報メモ")
    case_id = uuid4()
    opened = f.open_case(
        case_id=case_id, discovery_id=reported.discovery_id, person={"kana": "カクウ ハナコ"}
    )

    results = app.execute_many([(reported, None), (opened, None)])

    assert [type(r).__name__ for r in results] == ["Outcome", "Outcome"]
    person = _opened(app, case_id).person
    assert person is not None
    assert (person.name, person.kana) == (f.SYNTHETIC_NAME, "カクウ ハナコ")
    assert person.address == f.SYNTHETIC_ADDRESS


def test_the_reports_note_is_not_the_cases_and_reaches_no_agency() -> None:
    app = HubApplication()
    discovery_id = app.execute(
        f.discovery(ward="tobata", person=f.person(), note="架空の通報メモ")
    ).aggregate_ids[0]
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id))
    app.execute(f.referral(case_id, "tobata.hogo", note=None))
    app.execute(
        f.consent(case_id, scope=["tobata.hogo"], data_categories=["identity", "narrative"])
    )
    producer = FakeProducer()

    Relay(Settings(), app, FakeLedger(), producer).drain()  # type: ignore[arg-type]

    sent = [value for topic, value in producer.sent if topic.endswith("tobata.hogo")]
    assert sent and any(f.SYNTHETIC_NAME.encode() in v for v in sent)
    assert not any("架空の通報メモ".encode() in v for v in sent)


def test_erasing_the_case_erases_the_details_it_took_and_the_reports() -> None:
    app = HubApplication()
    discovery_id = _reported(app, f.person())
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id, person={"kana": "カクウ"}))

    erased = app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    assert sorted(erased) == sorted([str(case_id), str(discovery_id)])
    report = next(iter(app.events.get(discovery_id))).payload
    for person in (_opened(app, case_id).person, report.person):
        assert person is not None
        assert {person.name, person.kana, person.address, person.phone} == {ERASED}
        assert person.birth_date is None
    assert app.get_case(case_id).person is None


def test_the_person_the_case_took_is_not_left_in_the_discovery_its_erasure_leaves() -> None:
    """The case holds the report's person once it opens: the discovery (cached in memory
    by a long-running process) keeps no plain copy of them, which erasing the case would
    leave behind, its key destroyed and nothing to read it by."""
    app = HubApplication()
    discovery_id = _reported(app, f.person())
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id))
    assert app.get_discovery(discovery_id).person is None

    app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    assert app.get_discovery(discovery_id).person is None
    assert app.get_case(case_id).person is None


def test_details_that_state_no_field_are_no_person_on_the_case() -> None:
    """``"person": {}`` (a report's, or the officer's) names no one: the case holds no
    details, so reading them asks for no basis and shows nothing."""
    app = HubApplication()
    discovery_id = _reported(app, {})
    from_report, stated_empty = uuid4(), uuid4()
    app.execute(f.open_case(case_id=from_report, discovery_id=discovery_id))
    app.execute(f.open_case(case_id=stated_empty, person={}))

    for case_id in (from_report, stated_empty):
        assert app.get_case(case_id).person is None
        assert app.read_person(case_id, ADMIN, "consent", "consultation") is None
