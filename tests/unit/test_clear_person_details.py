"""訂正 by deletion: details held wrong are emptied on the case, in governance's state, in
every agency inbox given them (from the file too), and on the case page's form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from consumers.agency import retry_parked
from consumers.inbox import Inbox
from consumers.sql import SqliteDatabase
from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import NothingToClearError
from hub.fiscal import now
from hub.identity import Actor, Role
from ops.usecases import HubService
from producers.governance import GovernanceState, decide
from tests import factories as f
from tests.agency_support import AGENCY, PERSON, T0, Stream
from tests.unit.governance_log import NAME, Log, at, consent, ident, opened, referral
from tests.unit.test_agency_retry import FakeConfirmations, consume, from_topic, older_client
from tests.web_support import csrf_of, officer_case, ticked

WARD = "tobata"


def clear(case_id: UUID, *fields: str) -> c.ClearPersonDetails:
    return f.build(c.ClearPersonDetails, case_id=case_id, fields=list(fields))  # type: ignore[no-any-return]


def payloads(app: HubApplication, case_id: UUID) -> list[Any]:
    return [e.payload for e in app.events.get(case_id)]  # type: ignore[attr-defined]


@pytest.fixture
def app(sqlite_env: dict[str, str]) -> Iterator[HubApplication]:
    application = HubApplication(env=sqlite_env)
    yield application
    application.close()


def test_the_case_empties_the_fields_it_holds_and_records_only_those(
    app: HubApplication,
) -> None:
    case = f.open_case(ward=WARD, person=f.person(kana=None))
    app.execute(case)

    app.execute(clear(case.case_id, "address", "kana", "address"))

    person = app.get_case(case.case_id).person
    assert person is not None
    assert (person.address, person.name, person.phone) == (
        None,
        f.SYNTHETIC_NAME,
        f.SYNTHETIC_PHONE,
    )
    (cleared,) = [p for p in payloads(app, case.case_id) if isinstance(p, ev.PersonDetailsCleared)]
    assert cleared.fields == ["address"]  # kana was not held; named once


def test_clearing_what_is_not_held_or_of_an_erased_person_is_refused_and_writes_nothing(
    app: HubApplication,
) -> None:
    case = f.open_case(ward=WARD, person={"name": f.SYNTHETIC_NAME})
    app.execute(case)
    with pytest.raises(NothingToClearError, match="holds no address, phone"):
        app.execute(clear(case.case_id, "address", "phone"))
    app.erase_person(case.case_id, decided_by="試験課", reason="本人の求め")
    with pytest.raises(NothingToClearError, match="erased"):
        app.execute(clear(case.case_id, "name"))
    assert not [p for p in payloads(app, case.case_id) if isinstance(p, ev.PersonDetailsCleared)]


@pytest.mark.parametrize("fields", [[], ["health"], ["name"] * 6, ["住所"]])
def test_the_command_names_one_to_five_identifying_or_contact_fields(fields: list[str]) -> None:
    with pytest.raises(ValidationError):
        clear(uuid4(), *fields)


def test_all_fields_cleared_leave_the_case_holding_no_person(app: HubApplication) -> None:
    case = f.open_case(ward=WARD, person={"name": f.SYNTHETIC_NAME, "phone": f.SYNTHETIC_PHONE})
    app.execute(case)
    app.execute(clear(case.case_id, "name", "phone"))
    assert app.get_case(case.case_id).person is None
    assert HubApplication(env=app.env).get_case(case.case_id).person is None  # as read back


def test_governance_tells_every_agency_of_the_case_and_no_later_basis_delivers_the_field() -> None:
    log = Log()
    case_id = ident("clear-case")
    for payload in (
        opened(case_id),
        referral(case_id, AGENCY, 1),
        referral(case_id, "moji.hoken", 1),
    ):
        log.add(payload)
    state = GovernanceState()
    for event in log.events:
        decide(state, event)
    emptied = log.add(
        ev.PersonDetailsCleared(occurred_at=at(2), case_id=case_id, fields=["address"])
    )
    decision = decide(state, emptied)
    assert sorted(r.agency_id for r in decision.agencies) == sorted([AGENCY, "moji.hoken"])
    assert {r.headers()["basis"] for r in decision.agencies} == {"none"}
    assert decision.disclosures == ()

    given = decide(state, log.add(consent(case_id, 3, [AGENCY], ["identity", "contact"])))
    (delivered,) = [r for r in given.agencies if r.record["event_type"] == "PersonDetailsRecorded"]
    assert delivered.record["person"]["name"] == NAME
    assert delivered.record["person"]["address"] is None
    assert "person.address" not in {f for d in given.disclosures for f in d["fields"]}


@pytest.fixture
def inbox(tmp_path: Path) -> Any:
    opened = Inbox(SqliteDatabase(tmp_path / "inbox.sqlite"), AGENCY)
    yield opened
    opened.close()


def stored(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("inbox.sqlite*")))


def details_given(stream: Stream, case_id: UUID) -> None:
    stream.event(
        ev.PersonDetailsRecorded(
            occurred_at=T0, case_id=case_id, person=ev.PersonDetails(**PERSON)
        ),
        basis="consent",
        basis_ref="c-1",
    )


def cleared(stream: Stream, case_id: UUID, *fields: str) -> None:
    stream.event(
        ev.PersonDetailsCleared(occurred_at=T0, case_id=case_id, fields=list(fields)),  # type: ignore[arg-type]
        basis="none",
    )


def disclosed(inbox: Inbox, referral_id: UUID) -> dict[str, Any]:
    referral = inbox.referral(str(referral_id))
    assert referral is not None
    held: dict[str, Any] = {}
    for record in referral["disclosures"]:
        held.update(record["disclosed"])
    return held


def test_the_inbox_removes_the_cleared_fields_from_every_record_of_the_case_and_its_file(
    inbox: Inbox, tmp_path: Path
) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral(basis="consent", basis_ref="c-1")
    details_given(stream, case_id)
    other, other_referral = stream.referral(basis="consent", basis_ref="c-2")
    details_given(stream, other)
    cleared(stream, case_id, "address")
    consume(stream, inbox)

    assert disclosed(inbox, referral_id) == {
        "person.name": PERSON["name"],
        "person.kana": PERSON["kana"],
    }
    assert disclosed(inbox, other_referral)["person.address"] == PERSON["address"]
    assert stored(tmp_path).count(PERSON["address"].encode()) == 1  # the other case's only


def test_a_parked_record_older_than_a_clear_is_applied_without_the_cleared_field(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = Stream()
    case_id, referral_id = stream.referral(basis="consent", basis_ref="c-1")
    details_given(stream, case_id)  # parked by the older client
    cleared(stream, case_id, "address")
    stream.event(  # recorded anew after the clear: this one stands
        ev.PersonDetailsRecorded(
            occurred_at=T0, case_id=case_id, person=ev.PersonDetails(phone="093-000-0000")
        ),
        basis="consent",
        basis_ref="c-1",
    )
    with older_client(monkeypatch, "PersonDetailsRecorded"):
        consume(stream, inbox)
    # Both details were parked by the older client: the first, older than the clear, comes
    # without the address; the second, recorded after it, stands.
    assert retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations()).applied == 2
    assert disclosed(inbox, referral_id) == {
        "person.name": PERSON["name"],
        "person.kana": PERSON["kana"],
        "person.phone": "093-000-0000",
    }


def test_a_parked_clear_applied_late_keeps_a_value_recorded_after_it(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client of a release before the notice's schema parks the clear and applies the
    address recorded anew after it; the clear, retried once the client is upgraded, empties
    what came before it on the topic, not the address that came after."""
    stream = Stream()
    case_id, referral_id = stream.referral(basis="consent", basis_ref="c-1")
    details_given(stream, case_id)
    cleared(stream, case_id, "address")
    stream.event(  # the right address, known since and recorded after the clear
        ev.PersonDetailsRecorded(
            occurred_at=T0, case_id=case_id, person=ev.PersonDetails(address="北九州市門司区1-1")
        ),
        basis="consent",
        basis_ref="c-1",
    )
    with older_client(monkeypatch, "PersonDetailsCleared"):
        consume(stream, inbox)
    assert retry_parked(AGENCY, inbox, from_topic(stream), FakeConfirmations()).applied == 1
    held = [r["disclosed"] for r in inbox.referral(str(referral_id))["disclosures"]]  # type: ignore[index]
    assert PERSON["address"] not in [d.get("person.address") for d in held]
    assert disclosed(inbox, referral_id)["person.address"] == "北九州市門司区1-1"


def test_the_officer_clears_a_field_on_the_case_page(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert 'id="clear-person-open"' in page
    clear_form = page.split('id="clear-person-open"')[1].split("</form>")[0]
    assert "電話番号" in clear_form  # as the form that records it says, not 電話
    base = {"csrf_token": csrf_of(page), **ticked("clear_confirm")}

    refused = client.post(
        f"/web/cases/{case_id}/clear",
        data={**base, "command_id": str(uuid4()), "clear_fields": "phone"},
    )
    assert refused.status_code == 422 and "消すものがありません" in refused.text
    assert 'id="clear_fields-error"' in refused.text
    empty = client.post(f"/web/cases/{case_id}/clear", data={**base, "command_id": str(uuid4())})
    assert empty.status_code == 422 and "一つ以上" in empty.text

    officer = Actor("officer-試験", Role.ward_officer, ward=WARD)
    service.execute(
        officer,
        f.build(
            c.RecordPersonDetails,
            case_id=case_id,
            person={"name": "試験 太郎", "phone": "093-000-0000"},
            occurred_at=now(),
        ),
    )
    done = client.post(
        f"/web/cases/{case_id}/clear",
        data={**base, "command_id": str(uuid4()), "clear_fields": "phone"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    person = service.app.get_case(case_id).person
    assert person is not None and (person.name, person.phone) == ("試験 太郎", None)
    assert "本人情報の一部削除" in client.get(f"/web/cases/{case_id}").text  # its history


def test_a_closed_cases_details_are_corrected_and_emptied_all_the_same(app: HubApplication) -> None:
    # The person's right to correction outlives the support, as 利用停止 and erasure do.
    case = f.open_case(ward=WARD, person=f.person())
    app.execute(case)
    app.execute(f.build(c.CloseCase, case_id=case.case_id, reason="転居"))
    app.execute(f.build(c.RecordPersonDetails, case_id=case.case_id, person={"name": "試験 次郎"}))
    app.execute(clear(case.case_id, "phone"))
    person = app.get_case(case.case_id).person
    assert person is not None and (person.name, person.phone) == ("試験 次郎", None)


def test_a_page_left_open_while_the_person_was_erased_is_answered_with_the_erased_line(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    service.app.erase_person(case_id, decided_by="試験課", reason="本人の求め")
    sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "clear_fields": "phone"}
    refused = client.post(f"/web/cases/{case_id}/clear", data=sent)
    # The page drawn again has no form to empty details, and says why instead.
    assert refused.status_code == 422 and 'id="person-erased"' in refused.text
    assert "/clear" not in refused.text
