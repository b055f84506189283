"""発見の通報: a community reporter (見守り部会の協力会員, 民生委員, 住民) reports a discovery
from a page, not the API. The report reaches the ward's 窓口; the reporter reads nothing back,
and is told to call 119/110 when a life is at risk."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from hub.identity import Actor, Role
from ops import case_notes
from ops.usecases import HubService
from tests.web_support import csrf_of, sign_in

WARD = "tobata"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
ADDRESS = "戸畑区試験町1丁目（架空）"


def report_form(page: str, **fields: str) -> dict[str, str | list[str]]:
    return {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "ward": WARD,
        "signs": ["newspapers_piling_up", "mailbox_full"],
        "urgency": "urgent",
        "person_address": ADDRESS,
        "reporter_kind": "partner_company",
        "reporter_group": "newspaper",
        "discovery_note": "試験の補足",
        **fields,
    }


def reported_then_officer(service: HubService, client: TestClient) -> dict[str, Any]:
    """A partner's report sent from the page; the client then signed in as the ward's
    officer. The report, as the ward's list holds it."""
    sign_in(client, "partner_reporter")
    form = report_form(client.get("/web/report").text)
    assert client.post("/web/report", data=form, follow_redirects=False).status_code == 303
    (awaiting,) = service.awaiting_discoveries(OFFICER)
    sign_in(client, "ward_officer", ward=WARD)
    return awaiting


def test_a_partner_lands_on_the_report_page_and_its_report_reaches_the_wards_window(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "partner_reporter")
    page = client.get("/web/", follow_redirects=True)
    assert page.url.path == "/web/report"
    assert "119番" in page.text and "110番" in page.text
    assert 'href="/web/report"' in page.text.split("<nav")[1].split("</nav>")[0]
    # Partner groups by name, and no 支援機関 among the kinds a reporter may say they are.
    assert "新聞・マスコミなど" in page.text
    assert 'value="agency"' not in page.text
    # The note is a box of several lines (on a phone, a one-line field hid what was typed).
    assert '<textarea id="discovery_note" name="discovery_note"' in page.text
    assert "気づいたこと（必須・1つ以上）" in page.text

    sent = client.post("/web/report", data=report_form(page.text), follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/web/report"
    thanked = client.get("/web/report").text
    assert "通報を受け付けました（受付番号 " in thanked

    (awaiting,) = service.awaiting_discoveries(OFFICER)
    assert str(awaiting["discovery_id"])[:8] in thanked
    assert awaiting["urgency"] == "urgent" and awaiting["reporter_kind"] == "partner_company"
    assert ADDRESS not in thanked.split('class="flash"')[1]  # what was sent is not shown back
    sign_in(client, "ward_officer", ward=WARD)
    assert str(awaiting["discovery_id"])[:8] in client.get("/web/officer").text


def test_a_report_missing_what_it_needs_is_drawn_again_with_each_field_said(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "partner_reporter")
    page = client.get("/web/report").text
    form = report_form(page, ward="", urgency="", reporter_group="not-a-group")
    del form["signs"]
    sent = client.post("/web/report", data=form)
    assert sent.status_code == 422
    for field in ("ward", "signs", "urgency"):
        assert f'id="{field}-error"' in sent.text, field
    assert ADDRESS in sent.text  # what was typed is kept
    # A kind the form does not offer (a member agency's own report) is refused by its field.
    crafted = client.post("/web/report", data=report_form(page, reporter_kind="agency"))
    assert crafted.status_code == 422 and 'id="reporter_kind-error"' in crafted.text
    assert service.awaiting_discoveries(OFFICER) == []


def test_the_report_page_is_the_community_reporters_only(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    officer_page = client.get("/web/officer").text
    assert 'href="/web/report"' not in officer_page
    refused = client.get("/web/report")
    assert refused.status_code == 403 and "窓口のページで発見を記録します" in refused.text
    sent = client.post("/web/report", data=report_form(officer_page))
    assert sent.status_code == 403
    sign_in(client, "member_agency", agency="tobata.houkatsu")
    assert client.get("/web/report").status_code == 403
    assert service.awaiting_discoveries(OFFICER) == []


def test_a_report_without_a_session_or_its_token_is_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "partner_reporter")
    form = report_form(client.get("/web/report").text)
    assert client.post("/web/report", data={**form, "csrf_token": "0" * 64}).status_code == 403
    client.cookies.clear()
    assert client.post("/web/report", data=form, follow_redirects=False).status_code == 401
    assert service.awaiting_discoveries(OFFICER) == []


def _input_of(page: str, field: str) -> str:
    found = re.search(rf'<(?:input|select|textarea) id="{field}"[^>]*>', page)
    assert found, field
    return found.group(0)


def test_a_fields_hint_is_read_out_with_it_and_beside_its_error(
    hub: tuple[HubService, TestClient],
) -> None:
    """補足's hint (never the person's health) was a span tied to nothing: a screen reader
    on the field never said it."""
    _, client = hub
    sign_in(client, "partner_reporter")
    page = client.get("/web/report").text
    note = _input_of(page, "discovery_note")
    assert 'aria-describedby="discovery_note-hint"' in note
    assert re.search(r'id="discovery_note-hint">[^<]*心身のことは書かないでください', page)
    sent = client.post("/web/report", data=report_form(page, person_address="試" * 201))
    assert sent.status_code == 422
    address = _input_of(sent.text, "person_address")
    assert 'aria-describedby="person_address-hint person_address-error"' in address
    assert 'aria-invalid="true"' in address


def test_no_sign_ticked_is_said_as_boxes_to_tick(hub: tuple[HubService, TestClient]) -> None:
    _, client = hub
    sign_in(client, "partner_reporter")
    form = report_form(client.get("/web/report").text)
    del form["signs"]
    sent = client.post("/web/report", data=form)
    assert sent.status_code == 422
    assert 'id="signs-error">必須です：1つ以上選んでください<' in sent.text


def test_a_report_of_a_life_at_risk_is_told_again_to_call_119_or_110(
    hub: tuple[HubService, TestClient],
) -> None:
    """生命の危険 is offered; the office reads a report in its hours. The reporter who chose
    it was thanked as any other and told nothing of calling."""
    _, client = hub
    sign_in(client, "partner_reporter")
    page = client.get("/web/report").text
    assert 'aria-describedby="urgency-hint"' in _input_of(page, "urgency")
    assert "119番" in page.split('id="urgency-hint">')[1].split("</span>")[0]

    def flash_after(urgency: str) -> str:
        form = report_form(client.get("/web/report").text, urgency=urgency)
        assert client.post("/web/report", data=form, follow_redirects=False).status_code == 303
        return client.get("/web/report").text.split('class="flash" role="status">')[1]

    risk = flash_after("life_at_risk").split("</p>")[0]
    assert "通報を受け付けました" in risk and "119番" in risk and "110番" in risk
    assert "119番" not in flash_after("urgent").split("</p>")[0]


def test_the_officer_opening_a_report_reads_what_was_noticed(
    hub: tuple[HubService, TestClient],
) -> None:
    """The page that opens a case from a report said its time, urgency and reporter only:
    what was noticed was on the list the officer had just left."""
    service, client = hub
    awaiting = reported_then_officer(service, client)
    page = client.get(f"/web/officer/discoveries/{awaiting['discovery_id']}").text
    noticed = page.split('id="noticed">')[1].split("</p>")[0]
    assert noticed == "気づいたこと：新聞がたまっている、郵便受けがいっぱい"


def test_a_report_sent_after_the_session_ended_says_it_was_not_recorded(
    hub: tuple[HubService, TestClient],
) -> None:
    """It said サインインしてください（no session）, or the token's English reason (the token
    has expired), and not whether the report had gone."""
    service, client = hub
    sign_in(client, "partner_reporter")
    form = report_form(client.get("/web/report").text)
    client.cookies.clear()
    gone = client.post("/web/report", data=form, follow_redirects=False)
    client.cookies.set("hub_session", "expired-or-forged")
    bad = client.post("/web/report", data=form, follow_redirects=False)
    for sent in (gone, bad):
        assert sent.status_code == 401
        refusal = sent.text.split('id="refusal">')[1].split("</p>")[0]
        assert "記録していません" in refusal and "もう一度入力してください" in refusal
        assert not re.search(r"[A-Za-z]", refusal), refusal
    assert service.awaiting_discoveries(OFFICER) == []


def test_the_case_opened_from_a_report_says_what_was_noticed(
    hub: tuple[HubService, TestClient],
) -> None:
    """Opened, the report left the ward's list, and the case page said 発見（見守り） only:
    what the reporter noticed was said nowhere."""
    service, client = hub
    awaiting = reported_then_officer(service, client)
    opening = f"/web/officer/discoveries/{awaiting['discovery_id']}"
    data = {"csrf_token": csrf_of(client.get(opening).text), "command_id": str(uuid4())}
    opened = client.post(f"{opening}/open", data=data)
    assert opened.status_code == 200 and "/web/cases/" in str(opened.url), opened.text[-300:]
    said = opened.text.split('<dd class="discovery">')[1].split("</dd>")[0]
    assert said.endswith("受付・至急・見守り部会 協力会員：新聞がたまっている、郵便受けがいっぱい")
    assert "試験の補足" not in opened.text and ADDRESS not in opened.text  # not read here


def test_the_officer_reads_the_reporters_note_on_the_case_as_a_recorded_read(
    hub: tuple[HubService, TestClient],
) -> None:
    """The reporter's 補足 was shown on no page: the officer who opened the case could not
    read what the reporter wrote. It is shown with the person's details, in the same access
    record, and never before that read."""
    service, client = hub
    awaiting = reported_then_officer(service, client)
    opening = f"/web/officer/discoveries/{awaiting['discovery_id']}"
    data = {"csrf_token": csrf_of(client.get(opening).text), "command_id": str(uuid4())}
    opened = client.post(f"{opening}/open", data=data)
    assert "試験の補足" not in opened.text
    assert "通報した人が書いた補足も" in opened.text  # told where to find it
    case_id = str(opened.url).rsplit("/", 1)[1]
    shown = client.post(
        f"/web/cases/{case_id}/person",
        data={"csrf_token": csrf_of(opened.text), "read_purpose": "consultation"},
    )
    assert shown.status_code == 200
    notes = shown.text.split('id="notes">')[1].split("</dl>")[0]
    assert "<dt>通報の補足</dt>" in notes and "試験の補足" in notes
    assert "JST 受付の通報" in notes
    assert "アクセス記録に残りました" in shown.text

    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert "通報の補足" in access and "住所" in access


def test_a_note_of_several_lines_is_taken_as_the_browser_sends_it(
    hub: tuple[HubService, TestClient],
) -> None:
    """A browser sends a textarea's line breaks as CR LF: the CR is a control character, so
    a 補足 of two lines was refused (制御文字（0xd）は入力できません) and the report lost."""
    service, client = hub
    sign_in(client, "partner_reporter")
    form = report_form(client.get("/web/report").text, discovery_note="一行目（架空）\r\n二行目")
    sent = client.post("/web/report", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    (awaiting,) = service.awaiting_discoveries(OFFICER)
    sign_in(client, "ward_officer", ward=WARD)
    opening = f"/web/officer/discoveries/{awaiting['discovery_id']}"
    data = {"csrf_token": csrf_of(client.get(opening).text), "command_id": str(uuid4())}
    opened = client.post(f"{opening}/open", data=data)
    case_id = str(opened.url).rsplit("/", 1)[1]
    shown = client.post(
        f"/web/cases/{case_id}/person",
        data={"csrf_token": csrf_of(opened.text), "read_purpose": "consultation"},
    )
    assert '<span class="note">一行目（架空）\n二行目</span>' in shown.text


def test_an_erased_cases_reporters_note_is_neither_shown_nor_read(
    hub: tuple[HubService, TestClient],
) -> None:
    """Erased with the case, the note is gone (its key destroyed): the read shows none and
    records no read of it."""
    service, client = hub
    awaiting = reported_then_officer(service, client)
    opening = f"/web/officer/discoveries/{awaiting['discovery_id']}"
    data = {"csrf_token": csrf_of(client.get(opening).text), "command_id": str(uuid4())}
    opened = client.post(f"{opening}/open", data=data)
    case_id = str(opened.url).rsplit("/", 1)[1]
    service.app.erase_person(
        UUID(case_id),
        decided_by="試験 保健福祉局",
        reason="保存期間満了",
        actor=Actor("admin-試験", Role.administrator),
    )
    shown = service.person(OFFICER, UUID(case_id), "consultation", notes=True)
    assert shown["notes"] == [] and not shown["read_recorded"]


def test_a_note_read_just_before_an_erasure_is_not_shown_unrecorded(
    hub: tuple[HubService, TestClient], monkeypatch: Any
) -> None:
    """The notes are read before the person; an erasure recorded in between (another
    process) makes the person's read record nothing: the note read before must not be
    shown either, or it leaves unrecorded."""
    service, client = hub
    awaiting = reported_then_officer(service, client)
    opening = f"/web/officer/discoveries/{awaiting['discovery_id']}"
    data = {"csrf_token": csrf_of(client.get(opening).text), "command_id": str(uuid4())}
    opened = client.post(f"{opening}/open", data=data)
    case_id = UUID(str(opened.url).rsplit("/", 1)[1])
    read_notes = case_notes.held_notes

    def then_erased(app: Any, case: UUID) -> list[dict[str, Any]]:
        found = read_notes(app, case)
        service.app.erase_person(
            case,
            decided_by="試験 保健福祉局",
            reason="保存期間満了",
            actor=Actor("admin-試験", Role.administrator),
        )
        return found

    monkeypatch.setattr(case_notes, "held_notes", then_erased)
    shown = service.person(OFFICER, case_id, "consultation", notes=True)
    assert not shown["read_recorded"]
    assert shown["notes"] == []
