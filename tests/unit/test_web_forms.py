"""A form sent with several mistakes says each beside its field at once (with
aria-describedby), keeping what was typed: not one mistake per sending because a date was
judged before the rest. Without a browser, over a real SQLite store."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from hub.fiscal import now
from hub.identity import Actor, Role
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import consent_form, csrf_of, focused, officer_case, sign_in, ticked

WARD = "tobata"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)


def beside(page: str) -> set[str]:
    """The fields the page says something beside, each described by its message."""
    said = set(re.findall(r'<p class="error" id="([^"]+)-error">', page))
    described = set(re.findall(r'aria-describedby="([^"]+)-error"', page))
    assert said == described, (said, described)
    return said


def a_case(service: HubService) -> UUID:
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    return case.case_id


def test_a_consent_sent_empty_says_every_missing_field_at_once(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "valid_until": "2026/1/1"}
    refused = client.post(f"/web/cases/{case_id}/consent", data=sent)
    assert refused.status_code == 422
    expected = {"valid_from", "valid_until", "scope", "purposes", "data_categories"}
    assert beside(refused.text) == expected
    assert 'value="2026/1/1"' in refused.text  # kept, to be corrected


def test_a_plan_sent_with_only_its_goal_says_every_missing_field_at_once(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "goal": "試験の目標"}
    refused = client.post("/web/coordinator/plan", data=sent)
    assert refused.status_code == 422
    expected = {"plan_case_id", "issue", "lead_agency", "period_from", "period_until"}
    assert beside(refused.text) == expected | {"monitoring_date"}
    assert 'value="試験の目標"' in refused.text


def test_a_period_that_ends_before_it_starts_is_said_beside_its_end_in_the_open_form(
    hub: tuple[HubService, TestClient],
) -> None:
    """The rule of the whole plan names its field: said there, the folded form opened with
    what was typed, not atop the page above a form folded away."""
    service, client = hub
    case_id = a_case(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    sent = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "plan_case_id": str(case_id),
        "issue": "試験の課題",
        "goal": "試験の目標",
        "lead_agency": f"{WARD}.houkatsu",
        "period_from": "2026-12-01",
        "period_until": "2026-11-01",
        "monitoring_date": "2026-11-15",
    }
    refused = client.post("/web/coordinator/plan", data=sent)
    assert refused.status_code == 422
    assert beside(refused.text) == {"period_until"}
    assert 'id="form-error"' not in refused.text
    assert re.search(r'<details open>\s*<summary id="plan-open">', refused.text)
    assert 'value="試験の課題"' in refused.text


def test_a_consent_by_proxy_without_who_gave_it_is_said_beside_it_in_the_open_form(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    sent = consent_form(page, WARD, by_proxy="yes")
    refused = client.post(f"/web/cases/{case_id}/consent", data=sent)
    assert refused.status_code == 422
    assert beside(refused.text) == {"proxy_relationship"}
    assert re.search(r'<details open>\s*<summary id="consent-open">', refused.text)


def test_a_consent_by_proxy_with_a_mistyped_end_says_both_at_once(
    hub: tuple[HubService, TestClient],
) -> None:
    """The stand-in for the mistyped end (2025-04-01) came before the start typed: the
    period's own rule failed first and the proxy's was never judged, so it was said only at
    the next sending."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    sent = consent_form(page, WARD, valid_until="2027/11/30", by_proxy="yes")
    refused = client.post(f"/web/cases/{case_id}/consent", data=sent)
    assert refused.status_code == 422
    assert beside(refused.text) == {"valid_until", "proxy_relationship"}


def test_an_agency_is_offered_only_the_answers_its_referral_may_still_take(
    hub: tuple[HubService, TestClient],
) -> None:
    """Accepted: no going back to 受信済 or 辞退. Completed: no form at all, a sentence
    instead (the form could only be refused, in the rule's English)."""
    service, client = hub
    case_id = a_case(service)
    refer = f.referral(case_id, f"{WARD}.hogo")
    service.execute(OFFICER, refer)
    sign_in(client, "member_agency", agency=f"{WARD}.hogo")
    rid = refer.referral_id

    def offered() -> list[str]:
        page = client.get("/web/inbox").text
        answer = page.split(f'id="answer-{rid}"')[1].split("</select>")[0]
        return re.findall(r'<option value="(\w+)"', answer)

    def send(answer: str) -> None:
        page = client.get("/web/inbox").text
        form = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "answer": answer}
        form.update(ticked(f"confirm-{rid}"))  # a completion cannot be taken back
        sent = client.post(f"/web/inbox/{rid}/answer", data=form, follow_redirects=False)
        assert sent.status_code == 303, sent.text[-500:]

    def fields() -> set[str]:
        page = client.get("/web/inbox").text
        form = page.split(f'action="/web/inbox/{rid}/answer"')[1].split("</form>")[0]
        return set(re.findall(r'<select id="(\w+)-', form))

    assert offered() == ["received", "accepted", "declined"]
    assert fields() == {"answer", "reason_code"}  # no outcome before a completion may be
    send("accepted")
    assert offered() == ["in_progress", "on_hold", "completed"]
    assert fields() == {"answer", "outcome"}  # no reason of a decline once accepted
    send("completed")
    page = client.get("/web/inbox").text
    assert f'action="/web/inbox/{rid}/answer"' not in page
    assert "完了で終了しています" in page.split(f'id="ended-{rid}"')[1].split("</p>")[0]


def test_a_consent_until_a_day_is_shown_until_that_day_not_the_next_midnight(
    hub: tuple[HubService, TestClient],
) -> None:
    """The form asks for the last day (その日まで); the case page says that day back."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    sent = consent_form(page, WARD)
    given = client.post(f"/web/cases/{case_id}/consent", data=sent)
    assert given.status_code == 200, given.text[-300:]  # followed to the case page
    consents = given.text.split('id="consents"')[1].split("</table>")[0]
    assert "令和8年12月1日〜令和9年11月30日" in consents
    assert "12月1日 00:00" not in consents
    withdraw = given.text.split('id="consent_id"')[1].split("</select>")[0]
    assert "令和8年12月1日〜令和9年11月30日" in withdraw


def test_a_coordinator_reading_the_window_page_is_offered_no_form_it_may_not_send(
    hub: tuple[HubService, TestClient],
) -> None:
    """The coordinator reads the 窓口 page of its ward; the discovery and consultation forms
    there would only lead, after a person's details were typed, to the 403 page."""
    _, client = hub
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/officer").text
    assert 'action="/web/officer/discovery"' not in page
    assert 'action="/web/officer/consultation"' not in page
    assert 'id="window-only"' in page
    searched = client.post(
        "/web/officer/search", data={"csrf_token": csrf_of(page), "kana": "シケン"}
    )
    assert searched.status_code == 200  # the search it may use stays

    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    assert 'action="/web/officer/discovery"' in page
    assert 'action="/web/officer/consultation"' in page
    assert 'id="window-only"' not in page


def test_a_phone_typed_with_the_ime_on_is_taken_and_a_wrong_one_says_its_form(
    hub: tuple[HubService, TestClient],
) -> None:
    """０９３－０００－００００ is the number 093-000-0000 typed in full width, as a Japanese
    keyboard often does: taken as such. A number that is none says what a number is."""
    service, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text

    def consultation(phone: str) -> Any:
        sent = {
            "csrf_token": csrf_of(page),
            "command_id": str(uuid4()),
            "window_agency": f"{WARD}.houkatsu",
            "person_name": "試験 花子",
            "person_phone": phone,
        }
        return client.post("/web/officer/consultation", data=sent, follow_redirects=False)

    taken = consultation("０９３－０００ー００００")
    assert taken.status_code == 303, taken.text[-400:]
    case_id = UUID(taken.headers["location"].rsplit("/", 1)[1])
    shown = service.person(OFFICER, case_id, "consultation")["person"]
    assert shown["phone"] == "093-000-0000"

    refused = consultation("試験")
    assert refused.status_code == 422
    said = re.search(r'id="person_phone-error">([^<]*)<', refused.text)
    assert said and said.group(1) == "電話番号は数字とハイフンで入力してください（6〜20文字）"


def test_a_case_already_moved_is_not_offered_to_move_and_a_refusal_is_led_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    today = now()
    in_force = {"valid_from": today - timedelta(days=1), "valid_until": today + timedelta(90)}
    service.execute(OFFICER, f.consent(case_id, occurred_at=today, **in_force))
    sign_in(client, "coordinator", ward=WARD)

    def move() -> Any:
        page = client.get("/web/coordinator").text
        sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4())}
        sent["move_case_id"] = str(case_id)
        return client.post("/web/coordinator/move", data=sent, follow_redirects=False)

    def offered() -> str:
        page = client.get("/web/coordinator").text
        return page.split('id="move_case_id"')[1].split("</select>")[0]

    # Only a case a つながりづくり会議 took up has anything to move from.
    assert str(case_id) not in offered()
    assert move().status_code == 422
    coordinator = Actor("kakaricho-試験", Role.coordinator, ward=WARD)
    members = [f"{WARD}.coordinator"]
    service.execute(coordinator, f.meeting([case_id], ward=WARD, members=members))
    assert str(case_id) in offered()
    assert move().status_code == 303
    assert str(case_id) not in offered()
    again = move()  # a page drawn before the move, sent after it
    assert again.status_code == 422
    refusal = re.search(r'id="move_case_id-error">([^<]*)<', again.text)
    assert refusal and refusal.group(1).startswith("今の状態ではこの記録はできません（")


def test_a_referral_received_but_not_yet_accepted_is_counted_as_awaiting_a_decision(
    hub: tuple[HubService, TestClient],
) -> None:
    """The cases' column counted referrals sent or received under 未応答の紹介, so a case
    showed one where the list beside it (no answer yet) was empty. It counts the referrals
    awaiting acceptance or decline, and says so."""
    service, client = hub
    case_id = a_case(service)
    referral = f.referral(case_id, agency_id=f"{WARD}.houkatsu")
    service.execute(OFFICER, referral)
    agency = Actor("agency-試験", Role.member_agency, agency_id=f"{WARD}.houkatsu")

    def shown() -> tuple[str, bool]:
        page = client.get("/web/coordinator").text
        cases = page.split('id="open-cases"')[1]
        row = cases.split(f'href="/web/cases/{case_id}"')[1].split("</tr>")[0]
        count = re.search(r'class="open-referrals num">(\d+)件', row)
        assert count is not None and '<th scope="col">諾否待ちの紹介</th>' in page
        return count.group(1), 'id="no-unanswered"' in page

    sign_in(client, "coordinator", ward=WARD)
    assert shown() == ("1", False)
    service.execute(agency, f.answer(case_id, referral.referral_id, referral.agency_id, "received"))
    assert shown() == ("1", True)
    service.execute(agency, f.answer(case_id, referral.referral_id, referral.agency_id, "accepted"))
    assert shown() == ("0", True)


def test_the_officer_records_and_corrects_the_persons_details_on_the_case_page(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert 'id="record-person-open"' in page

    sent = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "person_name": "試験 太郎",
        "person_address": "北九州市戸畑区架空町1-1",
        "person_phone": "０９３－０００－００００",  # full width, as typed on a Japanese keyboard
    }
    done = client.post(f"/web/cases/{case_id}/details", data=sent, follow_redirects=False)
    assert done.status_code == 303, done.text
    sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "person_name": "試験 次郎"}
    assert client.post(f"/web/cases/{case_id}/details", data=sent).status_code == 200

    person = service.app.get_case(case_id).person
    assert person is not None
    assert (person.name, person.address, person.phone) == (
        "試験 次郎",  # corrected
        "北九州市戸畑区架空町1-1",  # left blank the second time: kept
        "093-000-0000",
    )
    shown = client.get(f"/web/cases/{case_id}").text
    assert "試験 次郎" not in shown  # recorded, not shown: a read is its own logged act


def test_the_persons_details_sent_empty_or_with_a_bad_phone_are_said_beside_the_field(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    empty = {"csrf_token": csrf_of(page), "command_id": str(uuid4())}
    refused = client.post(f"/web/cases/{case_id}/details", data=empty)
    assert refused.status_code == 422 and beside(refused.text) == {"person_name"}
    assert "一つ以上" in refused.text

    bad = {**empty, "command_id": str(uuid4()), "person_phone": "電話は夜"}
    refused = client.post(f"/web/cases/{case_id}/details", data=bad)
    assert refused.status_code == 422 and beside(refused.text) == {"person_phone"}
    assert service.app.get_case(case_id).person is None


def test_only_case_work_roles_see_the_form_to_record_the_person(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    assert "/details" not in page
    sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "person_name": "試験"}
    assert client.post(f"/web/cases/{case_id}/details", data=sent).status_code == 403
    assert service.app.get_case(case_id).person is None


def test_an_erased_persons_case_offers_no_form_to_record_them_and_says_why(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, _ = officer_case(service, client, WARD)
    service.app.erase_person(
        case_id,
        decided_by="試験 保健福祉局",
        reason="保存期間満了",
        actor=Actor("admin-試験", Role.administrator),
    )
    page = client.get(f"/web/cases/{case_id}").text
    assert 'id="person-erased"' in page and "消去されています" in page
    assert f"/web/cases/{case_id}/details" not in page
    assert f"/web/cases/{case_id}/clear" not in page  # nor to empty them (訂正 by deletion)
    # Nor to show them: there is nothing to show, and a read would be logged for nothing.
    assert f"/web/cases/{case_id}/person" not in page and "表示すると" not in page


def test_a_refused_form_lower_down_says_so_atop_the_page_with_a_link_to_its_field(
    hub: tuple[HubService, TestClient],
) -> None:
    """The consent form sits below the first screen of a laptop (1366x768): sent with a
    mistake, the page comes back at its top, which must say that nothing was taken and lead
    to the field, not read as if the consent had been recorded."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    sent = consent_form(page, data_categories="")
    refused = client.post(f"/web/cases/{case_id}/consent", data=sent)
    assert refused.status_code == 422
    summary = re.search(
        r'<div class="error-summary" role="alert" id="error-summary">(.*?)</div>',
        refused.text,
        re.S,
    )
    assert summary is not None, "no word of the refusal atop the page"
    assert "受け付けていません（1か所）" in summary.group(1)
    assert '<a href="#data_categories-error">' in summary.group(1)
    assert 'id="data_categories-error"' in refused.text
    assert refused.text.index("error-summary") < refused.text.index('id="summary-h"')
    assert "error-summary" not in client.get(f"/web/cases/{case_id}").text


def test_a_refused_form_gives_the_focus_to_its_first_field_in_error_and_no_other(
    hub: tuple[HubService, TestClient],
) -> None:
    """Without script, the page comes back at its top: ``autofocus`` on the first field in
    error, the one the summary links to, brings the officer to the form far below. A fieldset
    takes no focus, so a list of boxes gives it to its first box."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert " autofocus" not in page  # nothing refused, nothing moved
    sent = consent_form(page, purposes="", data_categories="", valid_until="")
    refused = client.post(f"/web/cases/{case_id}/consent", data=sent)
    assert refused.status_code == 422
    assert beside(refused.text) >= {"purposes", "data_categories", "valid_until"}
    assert '<a href="#purposes-error">' in refused.text
    box = focused(refused.text)
    assert 'type="checkbox" name="purposes"' in box
    first = re.search(r'<input type="checkbox" name="purposes"[^>]*>', refused.text)
    assert first is not None and first.group(0) == box
    # A select drawn by hand (the consent to withdraw) takes it the same way.
    withdrawn = client.post(
        f"/web/cases/{case_id}/withdraw",
        data={"csrf_token": csrf_of(page), "command_id": str(uuid4())},
    )
    assert withdrawn.status_code == 422
    assert focused(withdrawn.text).startswith('<select id="consent_id"')


def test_the_sign_in_refused_gives_the_focus_to_its_first_field_in_error(
    hub: tuple[HubService, TestClient],
) -> None:
    """The same on a page of hand-drawn selects: the role and the ward missing, the role's."""
    _, client = hub
    page = client.get("/web/signin").text
    assert " autofocus" not in page
    sent = {"subject": "officer-試験", "role": "", "ward": "", "agency": ""}
    refused = client.post("/web/signin/dev", data={**sent, "csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    assert focused(refused.text).startswith('<select id="role"')
    sent = {"subject": "", "role": "ward_officer", "ward": "", "agency": ""}
    refused = client.post("/web/signin/dev", data={**sent, "csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    assert focused(refused.text).startswith('<input id="subject"')


def test_an_officer_records_the_assessment_the_case_page_says_is_missing(
    hub: tuple[HubService, TestClient],
) -> None:
    """The case page said 課題「未記録」 and offered no way to record them: its assessment
    form (RecordAssessment) says each missing field beside it, then shows what was recorded."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert f'action="/web/cases/{case_id}/assessment"' in page
    empty = {"csrf_token": csrf_of(page), "command_id": str(uuid4())}
    refused = client.post(f"/web/cases/{case_id}/assessment", data=empty)
    assert refused.status_code == 422
    assert beside(refused.text) == {"needs", "complexity"}
    sent = {
        **empty,
        "command_id": str(uuid4()),
        "needs": ["elderly", "isolation"],
        "complexity": "complex",
        "assessment_summary": "試験の見立て",
    }
    done = client.post(f"/web/cases/{case_id}/assessment", data=sent)
    assert done.status_code == 200 and "アセスメントを記録しました" in done.text
    assert "<dt>課題</dt><dd>高齢、孤立</dd>" in done.text
    assert '<dd id="case-complexity">複雑・複合</dd>' in done.text
    sign_in(client, "coordinator", ward=WARD)  # reads the case, may not assess it
    assert "/assessment" not in client.get(f"/web/cases/{case_id}").text


def test_a_cancelled_referral_is_not_shown_to_the_coordinator_as_awaiting_an_answer(
    hub: tuple[HubService, TestClient],
) -> None:
    """A referral the officer cancelled awaits no answer: it is not listed under 未応答の紹介
    with a waiting time that grows for ever (as the metrics drop it), nor said to be waiting
    among the escalated ones."""
    from hub import commands as c

    service, client = hub
    case_id = a_case(service)
    waiting, cancelled = f.referral(case_id, "tobata.hoken"), f.referral(case_id, "tobata.hogo")
    service.execute(OFFICER, waiting)
    service.execute(OFFICER, cancelled)
    coordinator = Actor("kakaricho-試験", Role.coordinator, ward=WARD)
    for referral in (waiting, cancelled):
        service.execute(
            coordinator,
            c.EscalateReferral(
                command_id=uuid4(),
                occurred_at=now(),
                case_id=case_id,
                referral_id=referral.referral_id,
                overdue_minutes=10,
            ),
        )
    service.execute(
        OFFICER,
        c.CancelReferral(
            command_id=uuid4(),
            occurred_at=now(),
            case_id=case_id,
            referral_id=cancelled.referral_id,
            reason_code="other",
        ),
    )
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    unanswered = page[page.index('id="unanswered"') : page.index('id="escalated-h"')]
    assert "戸畑区 地域保健" in unanswered
    assert "戸畑区 保護課" not in unanswered
    escalated = page[page.index('id="escalated-h"') : page.index('id="cases-h"')]
    row = re.search(r"<tr><td>[^\n]*?戸畑区 保護課.*?</tr>", escalated)
    assert row is not None and "<td>取消</td><td>取消済</td>" in row.group(0), escalated


def test_two_agencies_of_one_name_are_told_apart_wherever_a_form_offers_them(
    hub: tuple[HubService, TestClient],
) -> None:
    """北九州市障害者基幹相談支援センター is in the network twice (the centre, and a member of
    the council): a referral, a consent's scope, a meeting or the audit's filter chosen by
    name must say which one is which."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)

    def offered(html: str, field: str) -> list[str]:
        """The two agencies' names as the select or the boxes named ``field`` offer them."""
        start = html.index(f'name="{field}"')
        end = min(html.find(tag, start) % len(html) for tag in ("</select>", "</fieldset>"))
        return re.findall(r'value="(?:kikan-soudan|council-06)"[^>]*>\s*([^<]+)', html[start:end])

    expected = [
        "北九州市障害者基幹相談支援センター（障害者基幹相談支援センター）",
        "北九州市障害者基幹相談支援センター（孤独・孤立対策等連携協議会 構成団体）",
    ]
    assert offered(page, "agency_id") == expected
    assert offered(page, "scope") == expected
    sign_in(client, "coordinator", ward=WARD)
    assert offered(client.get("/web/coordinator").text, "lead_agency") == expected
    sign_in(client, "auditor")
    assert offered(client.get("/web/audit").text, "agency") == expected
    # A table names the one a consent covers as the form did.
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    client.post(f"/web/cases/{case_id}/consent", data=consent_form(page, scope="council-06"))
    consents = client.get(f"/web/cases/{case_id}").text
    table = consents[consents.index('<table id="consents">') :]
    assert f"<td>{expected[1]}</td>" in table[: table.index("</table>")]


def test_a_closed_case_offers_no_form_it_can_only_refuse(
    hub: tuple[HubService, TestClient],
) -> None:
    """A closed case takes no referral, consent, refusal or assessment (CaseClosedError): the
    page says so instead of offering forms that are refused once filled in; what a closed
    case still takes (a withdrawal, a correction of the person's details) stays offered."""
    from hub import commands as c

    service, client = hub
    case_id = a_case(service)
    closing = c.CloseCase(command_id=uuid4(), occurred_at=now(), case_id=case_id, reason="試験")
    service.execute(OFFICER, closing)
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    refusing = ("refer", "consent", "refuse", "assessment", "consultation")
    for refused in (*refusing, "watch", "activity", "evaluation", "suspend", "close"):
        assert f'action="/web/cases/{case_id}/{refused}"' not in page, refused
    for taken in ("withdraw", "use-stop", "details", "clear", "person"):
        assert f'action="/web/cases/{case_id}/{taken}"' in page, taken
    assert '<p id="case-closed">' in page
    assert "本人の情報の記録・訂正はできます" in page
    # Erased as well: the person's details can be neither shown nor recorded, nor said to be.
    admin = Actor("admin-試験", Role.administrator)
    service.app.erase_person(case_id, decided_by="試験課", reason="試験", actor=admin)
    page = client.get(f"/web/cases/{case_id}").text
    assert f'action="/web/cases/{case_id}/details"' not in page
    assert "（同意の撤回・利用停止の請求・紹介の取り消しはできます）" in page
    assert "記録・訂正はできます" not in page


def test_a_consultation_of_a_person_found_by_nayose_is_recorded_on_their_case(
    hub: tuple[HubService, TestClient],
) -> None:
    """名寄せ finds the person's case; the consultation is then recorded on it (not as a
    second case, the only consultation the pages offered before), from a window of its ward."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert f'action="/web/cases/{case_id}/consultation"' in page
    windows = re.findall(r'name="case_window_agency".*?</select>', page, re.S)
    assert windows and "tobata.houkatsu" in windows[0] and "moji." not in windows[0]
    empty = {"csrf_token": csrf_of(page), "command_id": str(uuid4())}
    refused = client.post(f"/web/cases/{case_id}/consultation", data=empty)
    assert refused.status_code == 422
    assert beside(refused.text) == {"case_window_agency"}
    cases_before = len(service.cases(OFFICER))
    sent = {
        **empty,
        "command_id": str(uuid4()),
        "case_window_agency": "tobata.houkatsu",
        "consult_needs": ["elderly"],
        "case_consultation_note": "試験の相談",
    }
    done = client.post(f"/web/cases/{case_id}/consultation", data=sent)
    assert done.status_code == 200 and "相談を記録しました" in done.text
    assert str(done.url).endswith(f"/web/cases/{case_id}")
    assert "相談受付（officer-試験" in done.text or "相談受付（ward_officer-試験" in done.text
    assert len(service.cases(OFFICER)) == cases_before  # no second case


def test_a_search_that_fills_the_list_says_others_may_match(
    hub: tuple[HubService, TestClient],
) -> None:
    """名寄せ shows at most 20 people: a list cut there read as everyone who matched, and the
    officer could open a second case for a person left out of it."""
    service, client = hub
    for _ in range(21):
        service.execute(OFFICER, f.open_case(ward=WARD, person=f.person()))
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    found = client.post(
        "/web/officer/search", data={"csrf_token": csrf_of(page), "kana": "シケン"}
    ).text
    assert "見つかったケース（20件）" in found
    assert 'id="search-limit"' in found and "条件を加えて絞り込んで" in found
    one = client.post(
        "/web/officer/search", data={"csrf_token": csrf_of(page), "kana": "該当なし"}
    ).text
    assert 'id="search-limit"' not in one


def test_the_officers_notes_are_boxes_of_several_lines_where_enter_sends_nothing(
    hub: tuple[HubService, TestClient],
) -> None:
    """申し送り, 相談内容の要旨, 見立ての要旨 and the window's メモ were one-line fields:
    Enter, pressed for a new line, sent the form half written (a referral to an agency
    among them), and a note could hold no second line."""
    service, client = hub
    case_id, page = officer_case(service, client)
    window = client.get("/web/officer").text
    for drawn, field in (
        (page, "referral_note"),
        (page, "case_consultation_note"),
        (page, "assessment_summary"),
        (window, "consultation_note"),
        (window, "discovery_note"),
    ):
        assert f'<textarea id="{field}" name="{field}"' in drawn, field
    form = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "agency_id": f"{WARD}.houkatsu",
        "purpose": "assessment",
        "urgency": "urgent",
        "referral_note": "午前中に訪問（架空）\r\n鍵は管理人室",
    }
    sent = client.post(f"/web/cases/{case_id}/refer", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    (referral,) = service.case(OFFICER, case_id)["referrals"]
    assert referral["agency_id"] == f"{WARD}.houkatsu"


def test_a_move_refused_for_want_of_consent_says_where_consent_is_recorded(
    hub: tuple[HubService, TestClient],
) -> None:
    """It said only that consent was not in force, under 「入力に誤りがあるため…欄を直して
    ください」: no field of the form mends it, and the page did not say what would."""
    service, client = hub
    case_id = a_case(service)
    coordinator = Actor("kakaricho-試験", Role.coordinator, ward=WARD)
    service.execute(coordinator, f.meeting([case_id], ward=WARD, members=[f"{WARD}.coordinator"]))
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    sent = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "move_case_id": str(case_id)}
    refused = client.post("/web/coordinator/move", data=sent)
    assert refused.status_code == 422
    said = re.search(r'id="move_case_id-error">([^<]*)<', refused.text)
    assert said and said.group(1).startswith("本人同意が有効でないため重層的支援会議へ移せません。")
    assert "ケースのページを開き、本人同意を記録してから移してください" in said.group(1)
