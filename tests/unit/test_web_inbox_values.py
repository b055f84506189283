"""An agency that uses only the browser sees on /web/inbox what the relay released to it:
the person's details and the 申し送り, only the field paths the relay's ledger lists for
that agency and case, read after a real relay pass (a fake producer stands for Kafka), each
showing recorded in the access log first; nothing of another agency's cases, nothing of an
erased person, nothing a clearing notice emptied."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub.codec import event_id_text
from hub.errors import PermissionDeniedError
from hub.identity import Actor, Role
from ops.identity import dev_issuer
from ops.usecases import HubService
from ops.wiring import open_ledger
from producers.relay import Relay
from projections.audit.access import access_log
from tests import factories as f
from tests.unit.test_access_log import FakeProducer
from tests.web_support import sign_in

WARD = "tobata"
AGENCY = "tobata.hogo"
OTHER = "tobata.houkatsu"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
ADMIN = Actor("admin-試験", Role.administrator)
STAFF = Actor("member_agency-試験", Role.member_agency, agency_id=AGENCY)
ALL = ["identity", "contact", "narrative"]


def relay_passes(service: HubService) -> None:
    """The relay publishes every event logged so far (to a fake Kafka) and records its
    disclosures in the real ledger."""
    Relay(service.settings, service.app, service._ledger(), FakeProducer()).drain()  # type: ignore[arg-type]


def referred(
    service: HubService,
    agency: str = AGENCY,
    categories: list[str] | None = None,
    person: dict[str, str] | None = None,
) -> UUID:
    """A case of a person, the person's consent for ``agency`` (``categories``; none: no
    consent), then a referral to it with a 申し送り."""
    case = f.open_case(ward=WARD, person=person or f.person())
    service.execute(OFFICER, case)
    if categories:
        service.execute(
            OFFICER, f.consent(case.case_id, scope=[agency], data_categories=categories)
        )
    service.execute(OFFICER, f.referral(case.case_id, agency_id=agency))
    return case.case_id


def stamped(command: type[c.Command], case_id: UUID, **fields: object) -> c.Command:
    return command.model_validate(
        {"command_id": uuid4(), "occurred_at": f.at(0), "case_id": case_id, **fields}
    )


def released(client: TestClient, agency: str = AGENCY) -> str:
    sign_in(client, "member_agency", agency=agency)
    page = client.get("/web/inbox")
    assert page.status_code == 200, page.text[:300]
    return page.text


def test_the_details_and_note_released_on_consent_are_shown_with_date_and_basis(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)

    page = released(client)

    shown = page.split('class="summary stacks released"')[1].split("</dl>")[0]
    for value in (f.SYNTHETIC_NAME, f.SYNTHETIC_ADDRESS, f.SYNTHETIC_PHONE, f.SYNTHETIC_NOTE):
        assert value in shown
    assert "<dt>氏名</dt>" in shown and "<dt>申し送り</dt>" in shown
    # The 申し送り keeps the lines the officer wrote it in (a box of several lines).
    assert f'<span class="value note">{f.SYNTHETIC_NOTE}</span>' in shown
    assert "本人同意に基づく開示" in shown
    # No sensitive detail: the consent names none, so the ledger lists none.
    assert f.SYNTHETIC_HEALTH not in page
    assert "この表示はアクセス記録に残りました" in page
    assert str(case_id) in {a.case_id for a in access_log(service.app)}


def test_a_field_the_ledger_does_not_list_is_not_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    """The consent covers identity only: the address, phone and 申し送り were withheld."""
    service, client = hub
    referred(service, categories=["identity"])
    relay_passes(service)

    page = released(client)

    assert f.SYNTHETIC_NAME in page
    for value in (f.SYNTHETIC_ADDRESS, f.SYNTHETIC_PHONE, f.SYNTHETIC_NOTE):
        assert value not in page


def test_only_the_paths_of_the_agencys_own_ledger_rows_are_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    """A ledger that lists the name for this agency and the address for another: the page
    shows the name alone, never re-judging what the event could have released."""
    service, client = hub
    case_id = referred(service)  # no basis: the relay would release nothing
    referral = next(e for e in service.app.recorder.select_events(case_id) if b"note" in e.state)
    event_id = event_id_text(str(case_id), referral.originator_version)
    position = int(service.app.recorder.max_notification_id() or 0)

    def row(agency: str, path: str) -> dict[str, object]:
        return {
            "disclosure_id": str(uuid4()),
            "event_id": event_id,
            "position": position,
            "case_id": str(case_id),
            "agency_id": agency,
            "fields": [path],
            "categories": ["identity"],
            "basis": "consent",
            "basis_ref": str(uuid4()),
            "confidentiality_duty": False,
            "occurred_at": f.at(1).isoformat(),
        }

    open_ledger(service.settings).record(
        position, [row(AGENCY, "person.name"), row(OTHER, "person.address")]
    )
    page = released(client)
    assert f.SYNTHETIC_NAME in page
    assert f.SYNTHETIC_ADDRESS not in page and f.SYNTHETIC_PHONE not in page


def test_nothing_is_shown_before_the_relay_passed_the_referral(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=ALL)

    page = released(client)

    assert f.SYNTHETIC_NAME not in page and f.SYNTHETIC_NOTE not in page
    assert "開示が後から表示されることがあります" in page
    assert str(case_id) not in {a.case_id for a in access_log(service.app)}


def test_details_a_later_consent_released_are_those_at_the_consent(
    hub: tuple[HubService, TestClient],
) -> None:
    """Referred without a basis, the relay passes; the person then consents: the relay's own
    details-on-basis record releases the details as they stood then (the new address)."""
    service, client = hub
    case_id = referred(service)
    relay_passes(service)
    assert f.SYNTHETIC_NAME not in released(client)
    moved = "北九州市架空区転居先町9-9"
    service.execute(OFFICER, stamped(c.RecordPersonDetails, case_id, person={"address": moved}))
    service.execute(OFFICER, f.consent(case_id, scope=[AGENCY], data_categories=ALL))
    relay_passes(service)

    page = released(client)

    assert f.SYNTHETIC_NAME in page and moved in page
    assert f.SYNTHETIC_ADDRESS not in page
    # The 申し送り went with the referral, before any basis: not released by the consent.
    assert f.SYNTHETIC_NOTE not in page


def test_an_erased_person_shows_erased_and_no_value(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)
    reads = len(list(access_log(service.app)))
    service.app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    page = released(client)

    assert "本人の情報は消去済みです" in page
    for value in (f.SYNTHETIC_NAME, f.SYNTHETIC_ADDRESS, f.SYNTHETIC_PHONE, f.SYNTHETIC_NOTE):
        assert value not in page
    assert len(list(access_log(service.app))) == reads  # nothing shown, nothing recorded


def test_a_detail_a_clearing_emptied_is_not_shown_even_before_the_relay_passes_it(
    hub: tuple[HubService, TestClient],
) -> None:
    """The agency's client drops the cleared address from every record before the notice;
    the page drops it as soon as the clearing is logged (the stricter reading)."""
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)
    service.execute(OFFICER, stamped(c.ClearPersonDetails, case_id, fields=["address"]))

    page = released(client)

    assert f.SYNTHETIC_ADDRESS not in page
    assert f.SYNTHETIC_NAME in page and f.SYNTHETIC_PHONE in page


def test_another_agencys_staff_never_see_the_values(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    mine = {"name": "架空 一郎", "address": "北九州市架空区一番町1"}
    referred(service, categories=ALL, person=f.person(**mine))
    referred(service, agency=OTHER, categories=ALL)
    relay_passes(service)

    other = released(client, OTHER)
    assert f.SYNTHETIC_NAME in other
    assert mine["name"] not in other and mine["address"] not in other
    own = released(client, AGENCY)
    assert mine["name"] in own and f.SYNTHETIC_NAME not in own


@pytest.mark.parametrize(
    ("role", "ward", "agency"),
    [("ward_officer", WARD, ""), ("partner_reporter", WARD, ""), ("coordinator", WARD, "")],
)
def test_no_other_role_reads_the_inbox_values(
    hub: tuple[HubService, TestClient], role: str, ward: str, agency: str
) -> None:
    service, client = hub
    referred(service, categories=ALL)
    relay_passes(service)
    sign_in(client, role, ward=ward, agency=agency)
    page = client.get("/web/inbox")
    assert page.status_code == 403
    assert f.SYNTHETIC_NAME not in page.text


def test_without_a_session_the_inbox_shows_no_value(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    referred(service, categories=ALL)
    relay_passes(service)
    client.cookies.clear()
    page = client.get("/web/inbox", follow_redirects=False)
    assert page.status_code in (303, 401, 403)
    assert f.SYNTHETIC_NAME not in page.text


@pytest.mark.parametrize(
    "actor",
    [
        Actor("operator-試験", Role.operator),
        Actor("agency-試験", Role.member_agency, agency_id=OTHER),
        OFFICER,
    ],
)
def test_the_use_case_gives_the_values_to_the_agencys_own_staff_only(
    hub: tuple[HubService, TestClient], actor: Actor
) -> None:
    service, _ = hub
    referred(service, categories=ALL)
    relay_passes(service)
    with pytest.raises(PermissionDeniedError):
        service.inbox_values(actor, AGENCY, service.inbox(STAFF, AGENCY))


def test_the_read_is_recorded_with_who_which_case_and_basis_before_it_is_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    service, _ = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)
    found = service.inbox_values(STAFF, AGENCY, service.inbox(STAFF, AGENCY))

    assert found[str(case_id)]["fields"]["person.name"]["value"] == f.SYNTHETIC_NAME
    [read] = [a for a in access_log(service.app) if a.case_id == str(case_id)]
    assert read.subject == STAFF.subject and read.role == "member_agency"
    assert read.agency_id == AGENCY
    assert read.basis == "consent" and read.purpose == "consultation"
    assert set(read.fields) == {
        "person.name",
        "person.kana",
        "person.birth_date",
        "person.address",
        "person.phone",
        "note",
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", read.access_id)


def test_the_auditor_sees_which_agencys_staff_read_and_an_officers_read_names_none(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)
    released(client)
    service.person(OFFICER, case_id, "consultation")

    agencies = {a.role: a.agency_id for a in access_log(service.app)}
    assert agencies == {"member_agency": AGENCY, "ward_officer": None}
    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert "支援機関（戸畑区 保護課）" in access


def test_a_referral_that_ended_shows_no_value_and_records_no_read(
    hub: tuple[HubService, TestClient],
) -> None:
    """Declined: the agency works on the case no more, so its details are not shown."""
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)
    [referral] = service.inbox(STAFF, AGENCY)
    service.execute(
        STAFF,
        f.answer(
            case_id, UUID(referral["referral_id"]), AGENCY, "declined", reason_code="capacity"
        ),
    )

    page = released(client)

    assert "終了した紹介では、本人の情報を表示しません" in page
    assert f.SYNTHETIC_NAME not in page and f.SYNTHETIC_NOTE not in page
    assert str(case_id) not in {a.case_id for a in access_log(service.app)}


def bearer(service: HubService, role: Role, **scope: str) -> dict[str, str]:
    settings = service.settings
    claims = dev_issuer.claims_for(settings, subject=f"{role.value}-試験", role=role, **scope)
    return {"Authorization": f"Bearer {dev_issuer.sign(dev_issuer.signing_key(settings), claims)}"}


def test_the_api_gives_the_same_values_when_asked_for_details(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=["identity"])
    relay_passes(service)
    client.cookies.clear()
    staff = bearer(service, Role.member_agency, agency_id=AGENCY)

    plain = client.get(f"/agencies/{AGENCY}/inbox", headers=staff).json()
    assert [row["released"] for row in plain] == [None]
    assert str(case_id) not in {a.case_id for a in access_log(service.app)}

    answer = client.get(f"/agencies/{AGENCY}/inbox?details=true", headers=staff)
    # A name kept by a browser's or a proxy's cache would be read again unrecorded.
    assert answer.headers["cache-control"] == "no-store"
    [row] = answer.json()
    fields = row["released"]["fields"]
    assert fields["person.name"]["value"] == f.SYNTHETIC_NAME
    assert fields["person.name"]["basis"] == "consent"
    assert fields["person.name"]["occurred_at"].endswith("+09:00")
    assert "person.address" not in fields and "note" not in fields
    [read] = [a for a in access_log(service.app) if a.case_id == str(case_id)]
    assert read.agency_id == AGENCY


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.operator, {}),
        (Role.member_agency, {"agency_id": OTHER}),
        (Role.ward_officer, {"ward": WARD}),
    ],
)
def test_the_api_refuses_details_to_anyone_but_the_agencys_staff(
    hub: tuple[HubService, TestClient], role: Role, scope: dict[str, str]
) -> None:
    service, client = hub
    referred(service, categories=ALL)
    relay_passes(service)
    client.cookies.clear()
    answer = client.get(
        f"/agencies/{AGENCY}/inbox?details=true", headers=bearer(service, role, **scope)
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert f.SYNTHETIC_NAME not in answer.text


def test_the_api_records_a_read_only_of_the_cases_it_answers_with(
    hub: tuple[HubService, TestClient],
) -> None:
    """``unanswered=true`` leaves out a referral the agency already accepted: its case's
    details are not in the answer, so no read of them may be recorded (the access log would
    say the staff read a person they were never shown)."""
    service, client = hub
    waiting = referred(service, categories=ALL)
    accepted = referred(service, categories=ALL)
    relay_passes(service)
    [row] = [r for r in service.inbox(STAFF, AGENCY) if r["case_id"] == str(accepted)]
    service.execute(STAFF, f.answer(accepted, UUID(row["referral_id"]), AGENCY, "accepted"))
    client.cookies.clear()
    staff = bearer(service, Role.member_agency, agency_id=AGENCY)

    rows = client.get(
        f"/agencies/{AGENCY}/inbox?details=true&unanswered=true", headers=staff
    ).json()

    assert [r["case_id"] for r in rows] == [str(waiting)]
    assert rows[0]["released"]["fields"]["person.name"]["value"] == f.SYNTHETIC_NAME
    read = {a.case_id for a in access_log(service.app)}
    assert str(waiting) in read
    assert str(accepted) not in read


def test_the_note_shown_is_that_of_the_agencys_own_referral_not_anothers(
    hub: tuple[HubService, TestClient],
) -> None:
    """Two agencies on one case, a consent covering both: the relay sends the referral to
    the other agency to this one too (an involved agency gets every record of the case).
    Its 申し送り was written for the other agency: it is not shown as this referral's."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    service.execute(OFFICER, f.consent(case.case_id, scope=[AGENCY, OTHER], data_categories=ALL))
    service.execute(OFFICER, f.referral(case.case_id, agency_id=AGENCY, note="自機関あて（架空）"))
    service.execute(OFFICER, f.referral(case.case_id, agency_id=OTHER, note="他機関あて（架空）"))
    relay_passes(service)

    own = released(client, AGENCY)
    assert "自機関あて（架空）" in own
    assert "他機関あて（架空）" not in own
    other = released(client, OTHER)
    assert "他機関あて（架空）" in other and "自機関あて（架空）" not in other


def test_a_detail_an_event_the_relay_quarantined_may_have_changed_is_not_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    """The name recorded anew was quarantined by the relay (a poison record): whether the
    consent after it delivered the old name or the new one depends on whether the relay had
    folded it, so the inbox shows neither, never a value the client may not have received."""
    service, client = hub
    case_id = referred(service)  # no basis yet: nothing released with the referral
    renamed = stamped(c.RecordPersonDetails, case_id, person={"name": "架空 改名"})
    service.execute(OFFICER, renamed)
    service.execute(OFFICER, f.consent(case_id, scope=[AGENCY], data_categories=ALL))
    relay_passes(service)
    assert "架空 改名" in released(client)  # the relay passed it: the new name delivered
    stored = list(service.app.recorder.select_events(case_id))
    kept = next(e for e in stored if e.topic.endswith("PersonDetailsRecorded"))
    service.execute(OFFICER, f.open_case(ward=WARD))  # one more event: a new relay position
    head = int(service.app.recorder.max_notification_id() or 0)
    position = next(
        n.id
        for n in service.app.recorder.select_notifications(start=1, limit=10_000)
        if n.originator_id == case_id and n.originator_version == kept.originator_version
    )
    service._ledger().record(
        head,
        [],
        quarantined=[
            {
                "position": position,
                "event_id": event_id_text(str(case_id), kept.originator_version),
                "event_type": "PersonDetailsRecorded",
                "aggregate_id": str(case_id),
                "reason": "試験",
            }
        ],
    )

    page = released(client)

    assert "架空 改名" not in page and f.SYNTHETIC_NAME not in page
    assert f.SYNTHETIC_ADDRESS in page  # a detail it did not touch is shown


def test_the_inbox_read_names_the_consent_the_values_shown_were_released_under(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)
    (consent_id,) = service.app.get_case(case_id).consents
    ledger = service._ledger().disclosures(case_id=str(case_id), agency_id=AGENCY)
    assert {d["basis_ref"] for d in ledger} == {str(consent_id)}

    service.inbox_values(STAFF, AGENCY, service.inbox(STAFF, AGENCY))

    [read] = [a for a in access_log(service.app) if a.case_id == str(case_id)]
    assert read.basis_refs == (str(consent_id),)
    client.cookies.clear()
    api = client.get(f"/audit/access?case={case_id}", headers=bearer(service, Role.auditor))
    assert [a["basis_refs"] for a in api.json()] == [[str(consent_id)]]
    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert "根拠の記録" in access and f"<code>{consent_id}</code>" in access


def test_two_open_referrals_record_the_purpose_of_the_oldest_whatever_the_rows_order(
    hub: tuple[HubService, TestClient],
) -> None:
    service, _ = hub
    case_id = referred(service, categories=ALL)  # purpose: consultation
    service.execute(
        OFFICER, f.referral(case_id, agency_id=AGENCY, purpose="watch_over", occurred_at=f.at(2))
    )
    relay_passes(service)
    rows = service.inbox(STAFF, AGENCY)
    assert [r["purpose"] for r in rows] == ["consultation", "watch_over"]

    service.inbox_values(STAFF, AGENCY, list(reversed(rows)))
    service.inbox_values(STAFF, AGENCY, rows)

    reads = [a for a in access_log(service.app) if a.case_id == str(case_id)]
    assert [a.purpose for a in reads] == ["consultation", "consultation"]


def test_values_released_under_two_consents_name_both_in_one_record(
    hub: tuple[HubService, TestClient],
) -> None:
    """One record per basis: the name released under one consent and the address under
    another are one consent read resting on both."""
    service, _ = hub
    case_id = referred(service)
    referral = next(e for e in service.app.recorder.select_events(case_id) if b"note" in e.state)
    event_id = event_id_text(str(case_id), referral.originator_version)
    position = int(service.app.recorder.max_notification_id() or 0)
    first, second = sorted(str(uuid4()) for _ in range(2))

    def row(path: str, ref: str) -> dict[str, object]:
        return {
            "disclosure_id": str(uuid4()),
            "event_id": event_id,
            "position": position,
            "case_id": str(case_id),
            "agency_id": AGENCY,
            "fields": [path],
            "categories": ["identity" if path == "person.name" else "contact"],
            "basis": "consent",
            "basis_ref": ref,
            "confidentiality_duty": False,
            "occurred_at": f.at(1).isoformat(),
        }

    open_ledger(service.settings).record(
        position, [row("person.name", second), row("person.address", first)]
    )
    service.inbox_values(STAFF, AGENCY, service.inbox(STAFF, AGENCY))

    [read] = [a for a in access_log(service.app) if a.case_id == str(case_id)]
    assert read.basis == "consent" and set(read.fields) == {"person.name", "person.address"}
    assert read.basis_refs == (first, second)
