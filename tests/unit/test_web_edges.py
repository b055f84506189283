"""The pages at the edges of their inputs, without a browser, over a real SQLite store: dates
at the ends of what a date can hold, free text a partner or officer typed, fiscal years that
are no fiscal year. Each is refused beside its field in Japanese (never a 500 page)."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub.fiscal import JST
from hub.identity import Actor, Role
from ops.identity import dev_issuer
from ops.usecases import HubService
from ops.web.pages import NOT_IN_INBOX
from ops.wiring import open_ledger
from projections.audit.access import access_log
from tests import factories as f
from tests.network_changes import NEW_MEMBER, changed, network
from tests.web_support import consent_form, csrf_of, officer_case, sign_in, ticked

WARD = "tobata"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
LEAVING = "tobata.hoken"  # retired by `hub network apply` in a test
RENAMED = "tobata.houkatsu"
NEW_NAME = "戸畑区 地域包括支援センター(試験改称)"


def error_of(page: str, field: str) -> str:
    found = re.search(rf'id="{re.escape(field)}-error">([^<]*)<', page)
    assert found, f"no error beside {field}"
    return found.group(1)


def a_case(service: HubService) -> UUID:
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    return case.case_id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "9999-12-31"),
        ("as_of", "9999-12-31"),
        ("as_of", "0001-01-01"),
        ("from", "1800-01-01"),
    ],
)
def test_an_audit_date_at_the_end_of_the_calendar_is_refused_beside_its_field(
    hub: tuple[HubService, TestClient], field: str, value: str
) -> None:
    _, client = hub
    sign_in(client, "auditor")
    page = client.get(f"/web/audit?{field}={value}")
    assert page.status_code == 422, page.text[:300]
    assert error_of(page.text, field) == "2000年から2100年までの日付を入力してください"


def test_a_consent_valid_until_the_last_day_a_date_can_hold_is_refused_beside_its_field(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    data = consent_form(page, WARD, valid_from="2025-04-10", valid_until="9999-12-31")
    sent = client.post(f"/web/cases/{case_id}/consent", data=data, follow_redirects=False)
    assert sent.status_code == 422, sent.text[:300]
    assert error_of(sent.text, "valid_until") == "日付が範囲外です"


@pytest.mark.parametrize(
    "typed", ["１２", "R99999999999999999999", "-1", "9999", "H32", "<b>R7</b>"]
)
def test_a_fiscal_year_that_is_none_is_refused_in_japanese_and_this_fiscal_year_shown(
    hub: tuple[HubService, TestClient], typed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In February 2026 the fiscal year in course is R7 (April 2025 to March 2026), not R8."""
    _, client = hub
    monkeypatch.setattr("ops.web.pages.now", lambda: datetime(2026, 2, 10, 9, 0, tzinfo=JST))
    sign_in(client, "analyst")
    page = client.get("/web/analysis", params={"fy": typed})
    assert page.status_code == 422
    message = error_of(page.text, "fy")
    assert message.startswith("年度は R7、令和7年度 または 2025 の形で") and "&lt;" not in message
    assert "not a fiscal year" not in page.text
    assert re.search(r'id="table-title">[^<]*令和7年度', page.text), "not this fiscal year"
    assert 'name="fy" type="text" value="R7"' in page.text


def test_a_rule_of_the_hub_beside_a_field_is_said_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "window_agency": "tobata.houkatsu",
        "needs": "elderly",
        "person_name": "試験 太郎",
        "person_birth_date": "2999-01-01",
    }
    sent = client.post("/web/officer/consultation", data=data, follow_redirects=False)
    assert sent.status_code == 422
    assert error_of(sent.text, "person_birth_date") == "未来の日付は入力できません"


@pytest.mark.parametrize(
    ("path", "form", "field", "message"),
    [
        (
            "/web/officer/discovery",
            {"reporter_kind": "resident", "signs": "mail_piling_up", "urgency": "normal"},
            ("discovery_note", "架空\x07の記録"),
            "制御文字（0x7）は入力できません",
        ),
        (
            "/web/officer/consultation",
            {"window_agency": "tobata.houkatsu", "needs": "elderly"},
            ("person_name", "試験\u202e太郎"),
            "文字の向きを変える制御文字（0x202e）は入力できません",
        ),
        (
            "/web/cases/{case}/refer",
            {"agency_id": "tobata.houkatsu", "purpose": "assessment", "urgency": "normal"},
            ("referral_note", "\u200b"),
            "目に見える文字がありません",
        ),
    ],
)
def test_text_a_command_refuses_as_a_whole_is_refused_beside_its_field(
    hub: tuple[HubService, TestClient],
    path: str,
    form: dict[str, str],
    field: tuple[str, str],
    message: str,
) -> None:
    """The text rule is checked over the whole command, so pydantic names no field: it was
    said once atop the form, in English ('note: contains a control character 0x7')."""
    service, client = hub
    case_id, page = officer_case(service, client)
    sent = client.post(
        path.format(case=case_id),
        data={"csrf_token": csrf_of(page), "command_id": str(uuid4()), **form, field[0]: field[1]},
    )
    assert sent.status_code == 422
    assert error_of(sent.text, field[0]) == message
    assert 'id="form-error"' not in sent.text


def test_the_auditors_page_names_every_purpose_of_a_read_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    app = service.app
    app.record_access(OFFICER, case_id, ["person.name"], "official_duty", "case_management")
    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert "ケースの管理" in access and "case_management" not in access


def test_the_auditors_page_names_the_basis_of_every_read(
    hub: tuple[HubService, TestClient],
) -> None:
    """docs/AUDIT.md: the access log says on which basis each read was made; the page showed
    who, when, which fields and why, but not the basis (so a read on a consent and one as
    所掌事務 looked alike)."""
    service, client = hub
    case_id = a_case(service)
    app = service.app
    app.record_access(OFFICER, case_id, ["person.name"], "official_duty", "case_management")
    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert '<th scope="col">根拠</th>' in access
    assert "所掌事務（個人情報保護法第61条・第69条第1項）" in access
    assert "official_duty" not in access


def test_no_other_site_may_frame_a_page(hub: tuple[HubService, TestClient]) -> None:
    _, client = hub
    pages = [client.get("/web/signin")]
    sign_in(client, "analyst")
    pages.append(client.get("/web/analysis"))
    for page in pages:
        assert page.headers["x-frame-options"] == "DENY"
        policy = dict(
            part.strip().split(" ", 1)
            for part in page.headers["content-security-policy"].split(";")
        )
        assert policy["frame-ancestors"] == "'none'"
        # No script of any kind, and nothing loaded or posted beyond the hub itself.
        assert policy["default-src"] == "'none'" and "script-src" not in policy
        assert policy["form-action"] == "'self'" and policy["base-uri"] == "'none'"
        assert policy["style-src"] == policy["img-src"] == "'self'"
        assert page.headers["x-content-type-options"] == "nosniff"


def test_a_shared_counter_pc_keeps_no_history_of_the_names_and_addresses_typed(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    for name in ("kana", "address", "person_name", "person_kana", "person_address", "person_phone"):
        field = re.search(rf'<input id="{name}"[^>]*>', page)
        assert field and 'autocomplete="off"' in field.group(0), name


def test_an_inbox_case_no_basis_covered_says_so_not_that_the_relay_is_still_to_come(
    hub: tuple[HubService, TestClient],
) -> None:
    """README: the inbox page shows what was disclosed on which basis, or the notice that
    none held. The relay's ledger records disclosures only (never a basis `none`), so a
    referral the relay had long passed without a basis read 「開示の記録はまだありません
    （中継の後に表示されます）」, as if details were still to come."""
    service, client = hub
    case_id = a_case(service)
    service.execute(OFFICER, f.referral(case_id, agency_id="tobata.hogo"))
    sign_in(client, "member_agency", agency="tobata.hogo")
    # Before the relay passed it, a basis may still release details: said so.
    assert "開示が後から表示されることがあります" in client.get("/web/inbox").text
    service._ledger().record(service.app.recorder.max_notification_id() or 0, [])  # relayed
    page = client.get("/web/inbox").text
    assert "開示が後から表示されることがあります" not in page
    assert "中継の後に表示されます" not in page
    assert "本人を特定できる情報の開示はありません" in page
    assert "本人を特定しない通知だけ" in page


def test_an_inbox_read_as_the_relay_catches_up_still_says_a_disclosure_may_come(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page read the disclosures, then asked whether the relay was behind: a relay that
    passed the referral (and recorded its disclosure) between the two left a page saying
    no details were disclosed, without the caveat that one may still show."""
    service, client = hub
    case_id = a_case(service)
    service.execute(OFFICER, f.referral(case_id, agency_id="tobata.hogo"))
    read = service.inbox_disclosures

    def read_then_the_relay_passes(*args: object, **kwargs: object) -> object:
        shown = read(*args, **kwargs)  # type: ignore[arg-type]
        service._ledger().record(service.app.recorder.max_notification_id() or 0, [])
        return shown

    monkeypatch.setattr(service, "inbox_disclosures", read_then_the_relay_passes)
    sign_in(client, "member_agency", agency="tobata.hogo")
    page = client.get("/web/inbox").text
    assert "本人を特定できる情報の開示はありません" in page
    assert "開示が後から表示されることがあります" in page


def test_an_agencys_too_long_remark_is_refused_beside_it_and_kept_in_the_form(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    referral = f.referral(case_id, agency_id="tobata.hogo")
    service.execute(OFFICER, referral)
    staff = Actor("staff-試験", Role.member_agency, agency_id="tobata.hogo")
    accepted = f.answer(case_id, referral.referral_id, "tobata.hogo", "accepted")
    service.execute(staff, accepted)  # a completion (and its outcome) is what it may take now
    sign_in(client, "member_agency", agency="tobata.hogo")
    page = client.get("/web/inbox").text
    remark = "架空の補足" * 1000
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "answer": "completed",
        "outcome": "resolved",
        "reason": remark,
    }
    sent = client.post(f"/web/inbox/{referral.referral_id}/answer", data=data)
    assert sent.status_code == 422
    assert error_of(sent.text, f"reason-{referral.referral_id}") == "長すぎます（200文字まで）"
    assert f'value="{remark}"' in sent.text  # what was typed is not lost
    assert re.search(r'<option value="resolved" selected>', sent.text)


@pytest.mark.parametrize("path", ["/web/cases/12345678", "/web/officer/discoveries/x", "/web/nope"])
def test_an_address_that_names_no_page_is_a_japanese_page_not_json(
    hub: tuple[HubService, TestClient], path: str
) -> None:
    """The pages show ids shortened to 8 characters; one typed into the address bar is no
    case id. The officer sees a page of the site in Japanese, the API keeps problem+json."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text and "このアドレスのページはありません" in page.text
    assert 'id="signed-in"' in page.text  # still the signed-in user's page
    api = client.get("/cases/12345678")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_the_auditor_filters_by_a_case_shown_by_its_short_id_in_one_click(
    hub: tuple[HubService, TestClient],
) -> None:
    """The auditor's tables show 8 characters of a case id and the filter takes the whole id
    only: each short id links to the page filtered by its case."""
    service, client = hub
    case_id = a_case(service)
    other = a_case(service)
    for read in (case_id, other):
        service.app.record_access(OFFICER, read, ["person.name"], "official_duty", "consultation")
    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    link = f'<a href="/web/audit?case={case_id}"'
    assert link in access and f">{str(case_id)[:8]}</a>" in access
    filtered = client.get(f"/web/audit?case={case_id}").text
    rows = filtered.split('id="access"')[1].split("</table>")[0]
    assert str(case_id)[:8] in rows and str(other)[:8] not in rows


def test_the_months_of_table_4_are_in_wareki_across_the_change_of_era(
    hub: tuple[HubService, TestClient],
) -> None:
    """Fiscal year 2019 began in 平成 and went on in 令和 from 1 May."""
    _, client = hub
    sign_in(client, "analyst")
    page = client.get("/web/analysis", params={"fy": "2019", "by": "month"}).text
    table = page.split('id="table4"')[1].split("</table>")[0]
    assert "<td>平成31年4月</td>" in table and "<td>令和元年5月</td>" in table
    assert "<td>令和2年3月</td>" in table and "2019-04" not in table


def test_table_4_on_the_page_shows_the_citys_target_beside_the_figure(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    target = c.SetTarget(
        command_id=uuid4(),
        occurred_at=f.T0,
        fiscal_year=2025,
        indicator="outreach_visits",
        value=600,
        note="R7の実績を踏まえ（試験）",
    )
    service.execute(Actor("operator-試験", Role.operator), target)  # as `hub target set`
    sign_in(client, "analyst")
    table = client.get("/web/analysis", params={"fy": "R7"}).text.split('id="table4"')[1]
    table = table.split("</table>")[0]
    assert '<th scope="col">目標</th>' in table and '<th scope="col">達成率</th>' in table
    row = next(r for r in table.split("<tr>") if "伴走型支援の訪問件数" in r)
    assert "600回" in row and "0.0%" in row


def test_a_rule_of_the_domain_atop_a_form_is_led_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "consent_id": str(uuid4())}
    sent = client.post(
        f"/web/cases/{case_id}/withdraw", data={**data, **ticked("withdraw_confirm")}
    )
    assert sent.status_code == 422
    refusal = re.search(r'id="form-error">([^<]*)<', sent.text)
    assert refusal and refusal.group(1).startswith("撤回できる同意がありません（")
    assert "to withdraw" in refusal.group(1)  # the rule itself is kept


def test_the_pages_offer_and_name_the_network_on_the_log_not_the_shipped_file(
    hub: tuple[HubService, TestClient],
) -> None:
    """`hub network apply` while the server runs: a council member that joined is offered as a
    referral's target and accepted by the audit's filter at once, under its name; a renamed
    agency shows its new name; a retired one is offered no more, yet the audit still takes it
    (its past disclosures)."""
    service, client = hub
    case_id = a_case(service)
    service.app.apply_network(
        network(changed(join=(NEW_MEMBER,), rename={RENAMED: NEW_NAME}, retire=(LEAVING,))),
        f.at(1),
    )
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    assert f'value="{NEW_MEMBER}"' in page and f"試験 架空の支援団体 {NEW_MEMBER}" in page
    assert NEW_NAME in page
    assert f'value="{LEAVING}"' not in page
    sign_in(client, "auditor")
    for named in (NEW_MEMBER, LEAVING):
        audit = client.get(f"/web/audit?agency={named}")
        assert audit.status_code == 200 and 'id="agency-error"' not in audit.text, named
    refused = client.get("/web/audit?agency=nosuch.agency")
    assert error_of(refused.text, "agency") == "ネットワークにない機関です"


def test_the_case_pages_history_names_each_event_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    sign_in(client, "ward_officer", ward=WARD)
    history = client.get(f"/web/cases/{case_id}").text.split('class="history"')[1]
    assert "事案の開始" in history.split("</ol>")[0]
    assert "CaseOpened" not in history


def test_with_the_store_away_a_signed_in_page_is_the_japanese_error_page(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The navigation names the officer's ward from the network on the log; with the store
    away the page that says so names it from the shipped network, not a problem+json."""
    from hub.application import HubApplication
    from hub.errors import StoreUnavailableError

    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)

    def away(self: HubApplication) -> None:
        raise StoreUnavailableError("the event store is unavailable (試験)")

    monkeypatch.setattr(HubApplication, "network", property(away))
    page = client.get("/web/officer")
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "ただいま利用できません" in page.text and "戸畑区" in page.text


def test_an_agency_registered_then_retired_keeps_its_name_and_its_past(
    hub: tuple[HubService, TestClient],
) -> None:
    """Not in the shipped file, no longer in the network: the auditor still filters by it
    (its past disclosures), and the CLI's names know it."""
    service, client = hub
    service.app.apply_network(network(changed(join=(NEW_MEMBER,))), f.at(1))
    service.app.apply_network(network(changed()), f.at(2))  # retired again
    assert not service.app.network.is_agency(NEW_MEMBER)
    sign_in(client, "auditor")
    audit = client.get(f"/web/audit?agency={NEW_MEMBER}")
    assert audit.status_code == 200 and 'id="agency-error"' not in audit.text
    assert service.disclosures(Actor("auditor-試験", Role.auditor), None, NEW_MEMBER) == []


@pytest.mark.parametrize("path", ["/web/signin/dev", "/web/signin/token", "/web/signout"])
def test_a_csrf_token_outside_ascii_is_the_japanese_refusal_not_a_500(
    hub: tuple[HubService, TestClient], path: str
) -> None:
    """``hmac.compare_digest`` raises TypeError on a str with a character outside ASCII: a
    form whose token field holds one is refused as a token that does not match."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    client.get("/web/signin")  # the pre-session cookie the sign-in forms are checked against
    sent = client.post(path, data={"csrf_token": "試験", "subject": "a", "role": "auditor"})
    assert sent.status_code == 403, sent.text[:300]
    assert '<html lang="ja">' in sent.text and "確認用トークンが一致しません" in sent.text


@pytest.mark.parametrize("remark", ["架空\x00の補足", "架空\x1bの補足"])
def test_an_agencys_remark_with_a_control_character_is_refused_beside_it(
    hub: tuple[HubService, TestClient], remark: str
) -> None:
    """Refused by the command the answer becomes, it was said atop the form as
    'failed validation as AnswerReferral: (record)', naming no field."""
    service, client = hub
    case_id = a_case(service)
    referral = f.referral(case_id, agency_id="tobata.hogo")
    service.execute(OFFICER, referral)
    sign_in(client, "member_agency", agency="tobata.hogo")
    data = {
        "csrf_token": csrf_of(client.get("/web/inbox").text),
        "command_id": str(uuid4()),
        "answer": "declined",
        "reason_code": "capacity",
        "reason": remark,
    }
    sent = client.post(f"/web/inbox/{referral.referral_id}/answer", data=data)
    assert sent.status_code == 422
    error = error_of(sent.text, f"reason-{referral.referral_id}")
    assert error == f"制御文字（{ord(remark[2]):#x}）は入力できません"


def test_a_form_too_large_for_the_hub_is_the_japanese_error_page_not_json(
    hub: tuple[HubService, TestClient],
) -> None:
    """10,000 characters of Japanese pasted into a remark are 90 KB once the form is
    encoded, over HUB_API_MAX_BODY_BYTES: the officer sees a page of the site, the API keeps
    its problem+json."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    data = {
        "csrf_token": csrf_of(client.get("/web/officer").text),
        "command_id": str(uuid4()),
        "reporter_kind": "resident",
        "signs": "odour",
        "urgency": "soon",
        "discovery_note": "試験" * 5000,
    }
    sent = client.post("/web/officer/discovery", data=data)
    assert sent.status_code == 413
    assert sent.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in sent.text and "送信された内容が大きすぎます" in sent.text
    assert 'id="signed-in"' in sent.text
    assert sent.headers["Content-Security-Policy"]
    api = client.post("/commands/ReportDiscovery", content=b"{" + b" " * 70_000 + b"}")
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/problem+json"


def test_a_page_asked_with_a_method_it_does_not_take_is_405_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    """It was 400, as if the request were malformed; the API says 405 with Allow."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    refused = client.put("/web/officer")
    assert refused.status_code == 405
    assert "処理できません" in refused.text and "GET" in refused.headers["allow"]


def test_the_home_page_address_refuses_in_japanese_too(
    hub: tuple[HubService, TestClient],
) -> None:
    """``/web`` is a page (the home page every error page links to): a method it does not
    take, or a body too large for the hub, was the API's problem+json there."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    refused = client.post("/web", data={"x": "1"})
    assert refused.status_code == 405
    assert refused.headers["content-type"].startswith("text/html")
    assert "処理できません" in refused.text and "GET" in refused.headers["allow"]
    large = client.post("/web", data={"x": "試験" * 20_000})
    assert large.status_code == 413
    assert large.headers["content-type"].startswith("text/html")
    assert "送信された内容が大きすぎます" in large.text


def test_an_agency_retired_while_the_referral_form_stood_open_is_said_beside_it(
    hub: tuple[HubService, TestClient],
) -> None:
    """The form offered the agency; `hub network apply` retired it before the officer sent
    it. The refusal was shown above the form; it belongs beside the agency chosen."""
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert f'value="{LEAVING}"' in page
    service.app.apply_network(network(changed(retire=(LEAVING,))), f.at(1))
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "agency_id": LEAVING,
        "purpose": "consultation",
        "urgency": "soon",
    }
    sent = client.post(f"/web/cases/{case_id}/refer", data=data)
    assert sent.status_code == 422, sent.text
    assert error_of(sent.text, "agency_id").startswith("この紹介先は今はネットワークにありません")


def test_a_case_page_shows_a_record_dated_outside_any_wareki_day_as_written(
    hub: tuple[HubService, TestClient],
) -> None:
    """A log written before the edge's rules may hold a withdrawal dated year 1 and visits
    at 9999-12-31T23:59:59-09:00 (tests/poison.py); the history lists them (marked by the
    screen) and the page is drawn, those instants as written, not a 500 page."""
    from tests.poison import visits_at_the_ends_of_time, withdrawn_in_year_one

    service, client = hub
    case_id = a_case(service)
    consent = f.consent(case_id, occurred_at=f.at(1))
    service.execute(OFFICER, consent)
    withdrawn_in_year_one(service.app, case_id, consent.consent_id)
    visits_at_the_ends_of_time(service.app, case_id)
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case_id}")
    assert page.status_code == 200, page.text[:300]
    history = page.text.split('id="history-h"')[1]
    assert "0001-01-01T00:00:00+00:00" in history and "9999-12-31T23:59:59-09:00" in history


@pytest.mark.parametrize(
    ("today", "through"),
    [
        ("2026-12-05", "2027-12-04"),
        ("2027-12-05", "2028-12-04"),  # the year holds 29 February 2028
        ("2028-02-29", "2029-02-28"),  # no 29 February next year: the month's end
        ("2027-03-01", "2028-02-29"),
    ],
)
def test_the_consent_forms_default_runs_one_calendar_year_whatever_its_leap_day(
    hub: tuple[HubService, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    today: str,
    through: str,
) -> None:
    """「有効期間の終わり（その日まで）」 defaults to a year from today: through the day
    before the same date next year (364 days later was a day short across 29 February)."""
    service, client = hub
    case_id = a_case(service)
    moment = datetime.fromisoformat(f"{today}T10:00:00+09:00")
    monkeypatch.setattr("ops.web.pages.now", lambda: moment)
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    field = re.search(r'<input[^>]*id="valid_until"[^>]*>', page)
    assert field and f'value="{through}"' in field.group(0)


def test_a_birth_date_held_from_before_meiji_is_shown_as_written(
    hub: tuple[HubService, TestClient],
) -> None:
    """A log written before the edge's rules may hold a birth date of 1800 (the edge now
    takes 1890 on): showing the person's details draws the page, the date as written."""
    from datetime import date

    from hub import events as ev

    service, client = hub
    case_id = a_case(service)
    case = service.app.get_case(case_id)
    case.record_person_details(
        f.at(1), ev.PersonDetails(name=f.SYNTHETIC_NAME, birth_date=date(1800, 1, 1))
    )
    service.app.save(case)
    sign_in(client, "ward_officer", ward=WARD)
    csrf = csrf_of(client.get(f"/web/cases/{case_id}").text)
    shown = client.post(
        f"/web/cases/{case_id}/person", data={"csrf_token": csrf, "read_purpose": "consultation"}
    )
    assert shown.status_code == 200, shown.text[:300]
    assert "1800-01-01" in shown.text and f.SYNTHETIC_NAME in shown.text


def test_an_audit_period_that_ends_before_it_starts_is_said_beside_its_end(
    hub: tuple[HubService, TestClient],
) -> None:
    """Not an empty list of disclosures, which the auditor would read as none made."""
    _, client = hub
    sign_in(client, "auditor")
    page = client.get("/web/audit?from=2026-12-10&to=2026-12-01")
    assert page.status_code == 422
    said = error_of(page.text, "to")
    assert said == "期間の終わりが始まりより前です。始まりと同じ日か、それより後の日にしてください"
    assert 'value="2026-12-01"' in page.text  # kept, to be corrected
    same_day = client.get("/web/audit?from=2026-12-01&to=2026-12-01")
    assert same_day.status_code == 200


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.system])
def test_every_link_of_a_roles_menu_opens_and_a_role_with_none_is_told(
    hub: tuple[HubService, TestClient], role: Role
) -> None:
    """Signed in with the city's token as any role: no menu entry leads to the 403 page (the
    operator's did, to 窓口 and 受信箱), and a role with no page is told so, not pointed to a
    menu that is not there."""
    service, client = hub
    ward = WARD if role in (Role.ward_officer, Role.coordinator) else None
    agency = "tobata.houkatsu" if role in (Role.member_agency, Role.contractor) else None
    token = dev_issuer.issue(
        service.settings, subject=f"{role.value}-試験", role=role, ward=ward, agency_id=agency
    )
    client.cookies.clear()
    page = client.get("/web/signin").text
    signed = client.post(
        "/web/signin/token",
        data={"token": token, "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text[-300:]
    home = client.get("/web")
    menu = re.findall(r'<nav aria-label="ページ">(.*?)</nav>', home.text, re.S)
    links = re.findall(r'href="(/web/[a-z]+)"', menu[0]) if menu else []
    for link in links:
        assert client.get(link).status_code == 200, f"{role.value}: {link}"
    if not links:
        assert "の役割で使えるページはありません" in home.text


@pytest.mark.parametrize(
    ("fy", "cut", "last_month", "after"),
    [
        ("R7", "令和7年度（令和7年12月10日まで）", "令和7年12月", "令和8年1月"),
        ("R6", "令和6年度（令和7年3月31日まで）", "令和7年3月", "令和7年4月"),
        ("R8", "令和8年度（令和7年12月10日まで：年度開始前のため0）", None, "令和8年4月"),
    ],
)
def test_the_analysis_page_cuts_the_year_at_today(
    hub: tuple[HubService, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    fy: str,
    cut: str,
    last_month: str | None,
    after: str,
) -> None:
    """On 10 December the year in course shows April to December, not January to March as
    0; a year past is whole; a year to come says it has not begun. The downloads agree."""
    _, client = hub
    monkeypatch.setattr("ops.web.pages.now", lambda: datetime(2025, 12, 10, 9, 0, tzinfo=JST))
    sign_in(client, "analyst")
    page = client.get("/web/analysis", params={"fy": fy, "by": "month"})
    assert page.status_code == 200, page.text[:300]
    title = re.search(r'id="table-title">([^<]*)<', page.text)
    assert title and title.group(1).endswith(f" {cut}・月別"), title
    months = re.findall(r"<tr><td>(令和\d+年\d+月)</td>", page.text)
    assert (months[-1] if months else None) == last_month
    assert after not in months
    wide = client.get("/web/analysis/download/wide.csv", params={"fy": fy, "by": "month"})
    assert wide.status_code == 200 and cut in wide.text.splitlines()[0]
    assert after not in wide.text


def test_an_answer_to_a_referral_not_in_the_inbox_is_said_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    """The 404 page said the API's line: '見つかりません（no referral … in the inbox of …）'."""
    service, client = hub
    case_id = a_case(service)
    others = f.referral(case_id, agency_id="tobata.hogo")  # another agency's referral
    service.execute(OFFICER, others)
    sign_in(client, "member_agency", agency="tobata.houkatsu")
    for referral_id in (others.referral_id, uuid4()):
        data = {
            "csrf_token": csrf_of(client.get("/web/inbox").text),
            "command_id": str(uuid4()),
            "answer": "received",
        }
        sent = client.post(f"/web/inbox/{referral_id}/answer", data=data)
        assert sent.status_code == 404
        assert NOT_IN_INBOX in sent.text and "in the inbox of" not in sent.text


def test_an_erased_persons_details_are_said_not_to_be_logged_because_none_is_read(
    hub: tuple[HubService, TestClient],
) -> None:
    """The page said 'この表示はアクセス記録に残りました' where nothing was read or recorded;
    the API answers it too (read_recorded)."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    sign_in(client, "ward_officer", ward=WARD)

    def shown() -> str:
        csrf = csrf_of(client.get(f"/web/cases/{case.case_id}").text)
        page = client.post(
            f"/web/cases/{case.case_id}/person",
            data={"csrf_token": csrf, "read_purpose": "consultation"},
        )
        assert page.status_code == 200, page.text[:300]
        return page.text

    assert "この表示はアクセス記録に残りました" in shown()
    assert service.person(OFFICER, case.case_id, "consultation")["read_recorded"] is True
    reads = len(access_log(service.app, case_id=str(case.case_id)))
    service.app.erase_person(case.case_id, decided_by="試験課", reason="保存期間満了")
    page = shown()
    assert 'id="person-not-read"' in page and "アクセス記録に残りました" not in page
    assert service.person(OFFICER, case.case_id, "consultation")["read_recorded"] is False
    assert len(access_log(service.app, case_id=str(case.case_id))) == reads


def test_the_api_says_a_person_was_erased_where_no_detail_was_ever_held(
    hub: tuple[HubService, TestClient],
) -> None:
    """An erased case that never held the person's details read `"person": {}`, as one not
    erased: an integrator could not tell them apart."""
    service, _ = hub
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    before = service.person(OFFICER, case.case_id, "consultation")
    assert (before["person"], before["erased"]) == ({}, False)
    service.app.erase_person(case.case_id, decided_by="試験課", reason="保存期間満了")
    after = service.person(OFFICER, case.case_id, "consultation")
    assert (after["person"], after["erased"], after["read_recorded"]) == ({}, True, False)


def test_text_too_long_is_refused_beside_its_field_with_the_limit(
    hub: tuple[HubService, TestClient],
) -> None:
    """「長すぎます」 alone leaves the officer guessing how much to cut: the limit is said."""
    service, client = hub
    case_id, page = officer_case(service, client, ward=WARD)
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "person_name": "架" * 201,
    }
    sent = client.post(f"/web/cases/{case_id}/details", data=data)
    assert sent.status_code == 422
    assert error_of(sent.text, "person_name") == "長すぎます（200文字まで）"
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "agency_id": "tobata.houkatsu",
        "purpose": "consultation",
        "urgency": "routine",
        "referral_note": "架空の申し送り" * 300,
    }
    sent = client.post(f"/web/cases/{case_id}/refer", data=data)
    assert sent.status_code == 422
    assert error_of(sent.text, "referral_note") == "長すぎます（2000文字まで）"


def test_the_audit_page_lists_the_newest_disclosures_and_says_how_many_there_are(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A year's disclosures made one page of ~100,000 px (1,754 rows for two months of the
    demo): the page lists the newest and says to narrow the rest by the filters."""
    from ops.web import pages

    service, client = hub
    rows = [
        {
            "occurred_at": f"2025-05-0{n}T09:00:00+09:00",
            "case_id": str(uuid4()),
            "agency_id": "tobata.houkatsu",
            "basis": "consent",
            "categories": ["identity"],
        }
        for n in (1, 2, 3)
    ]
    monkeypatch.setattr(service, "disclosures", lambda *_a, **_k: rows)
    monkeypatch.setattr(pages, "DISCLOSURES_SHOWN", 2)
    sign_in(client, "auditor")
    page = client.get("/web/audit").text
    assert "開示（3件）" in page and 'id="disclosures-cut"' in page
    table = page.split('id="disclosures"')[1].split("</table>")[0]
    assert rows[0]["case_id"][:8] not in table
    assert all(r["case_id"][:8] in table for r in rows[1:])


def test_a_decline_without_its_reason_is_said_in_the_agencys_words(
    hub: tuple[HubService, TestClient],
) -> None:
    """It said 辞退には理由（コード）を選んでください: the staff choose a reason by its words."""
    service, client = hub
    referral = f.referral(a_case(service), agency_id="tobata.hogo")
    service.execute(OFFICER, referral)
    sign_in(client, "member_agency", agency="tobata.hogo")
    data = {
        "csrf_token": csrf_of(client.get("/web/inbox").text),
        "command_id": str(uuid4()),
        "answer": "declined",
    }
    sent = client.post(f"/web/inbox/{referral.referral_id}/answer", data=data)
    assert sent.status_code == 422
    error = error_of(sent.text, f"reason_code-{referral.referral_id}")
    assert error == "辞退するときは、辞退の理由を選んでください"


def test_a_decline_reason_chosen_with_another_answer_is_said_by_the_reason_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    """受信済 sent with a reason of a decline still chosen read, under 補足, 受け付けられない
    値です（reason_code is the reason of a decline）: English, and by no field."""
    service, client = hub
    referral = f.referral(a_case(service), agency_id="tobata.hogo")
    service.execute(OFFICER, referral)
    sign_in(client, "member_agency", agency="tobata.hogo")
    data = {
        "csrf_token": csrf_of(client.get("/web/inbox").text),
        "command_id": str(uuid4()),
        "answer": "received",
        "reason_code": "capacity",
    }
    sent = client.post(f"/web/inbox/{referral.referral_id}/answer", data=data)
    assert sent.status_code == 422
    error = error_of(sent.text, f"reason_code-{referral.referral_id}")
    assert error == "辞退の理由は、回答が「辞退」のときだけ選んでください"
    assert "reason_code is" not in sent.text
    # Once accepted the form offers a result (完了のとき): chosen with 対応中, said by it.
    accepted = {**data, "command_id": str(uuid4()), "answer": "accepted", "reason_code": ""}
    assert client.post(f"/web/inbox/{referral.referral_id}/answer", data=accepted).is_success
    data = {**accepted, "command_id": str(uuid4()), "answer": "in_progress", "outcome": "resolved"}
    sent = client.post(f"/web/inbox/{referral.referral_id}/answer", data=data)
    assert sent.status_code == 422
    error = error_of(sent.text, f"outcome-{referral.referral_id}")
    assert error == "結果は、回答が「完了」のときだけ選んでください"


def test_the_inbox_says_which_referral_was_answered(hub: tuple[HubService, TestClient]) -> None:
    """The page comes back at its top saying 回答（受諾）を送りました, the referral answered
    one of many below."""
    service, client = hub
    referrals = [f.referral(a_case(service), agency_id="tobata.hogo") for _ in range(2)]
    for referral in referrals:
        service.execute(OFFICER, referral)
    sign_in(client, "member_agency", agency="tobata.hogo")
    answered = referrals[1].referral_id
    data = {
        "csrf_token": csrf_of(client.get("/web/inbox").text),
        "command_id": str(uuid4()),
        "answer": "accepted",
    }
    sent = client.post(f"/web/inbox/{answered}/answer", data=data)
    assert sent.status_code == 200, sent.text[-300:]  # followed to the inbox
    flash = sent.text.split('class="flash" role="status">')[1].split("</p>")[0]
    assert flash == f"紹介 {str(answered)[:8]} に回答（受諾）を送りました"


def test_the_inbox_names_a_statute_but_shows_no_consents_or_meetings_id(
    hub: tuple[HubService, TestClient],
) -> None:
    """A disclosure on consent read 本人同意（3f2a…-…-…）に基づき: the consent's id."""
    service, client = hub
    case_id = a_case(service)
    service.execute(OFFICER, f.referral(case_id, agency_id="tobata.hogo"))
    consent_id, position = str(uuid4()), int(service.app.recorder.max_notification_id() or 0)

    def record(basis: str, ref: str) -> dict[str, object]:
        return {
            "disclosure_id": str(uuid4()),
            "event_id": str(uuid4()),
            "position": position,
            "case_id": str(case_id),
            "agency_id": "tobata.hogo",
            "fields": ["person.name"],
            "categories": ["identity"],
            "basis": basis,
            "basis_ref": ref,
            "confidentiality_duty": False,
            "occurred_at": f.at(1).isoformat(),
        }

    statute = "生活保護法（試験）"
    open_ledger(service.settings).record(
        position, [record("consent", consent_id), record("statute", statute)]
    )
    sign_in(client, "member_agency", agency="tobata.hogo")
    shown = client.get("/web/inbox").text.split('class="disclosures">')[1].split("</ul>")[0]
    assert consent_id not in shown and "本人同意に基づき" in shown
    assert f"法令（{statute}）に基づき" in shown


def test_the_inbox_puts_referrals_to_answer_first_and_the_ended_ones_folded_below(
    hub: tuple[HubService, TestClient],
) -> None:
    """Oldest first, a year of ended referrals stood above a new one to answer."""
    service, client = hub
    referrals = [f.referral(a_case(service), agency_id="tobata.hogo") for _ in range(2)]
    for referral in referrals:
        service.execute(OFFICER, referral)
    old, new = (str(r.referral_id) for r in referrals)
    sign_in(client, "member_agency", agency="tobata.hogo")
    data = {
        "csrf_token": csrf_of(client.get("/web/inbox").text),
        "command_id": str(uuid4()),
        "answer": "declined",
        **ticked(f"confirm-{old}"),
        "reason_code": "capacity",
    }
    assert client.post(f"/web/inbox/{old}/answer", data=data).status_code == 200
    page = client.get("/web/inbox").text
    to_answer, folded = page.split('<details id="ended-referrals">')
    assert f'id="send-{new}"' in to_answer and old not in to_answer
    assert "<summary>終了した紹介（1件）</summary>" in folded
    assert f'id="ended-{old}"' in folded and new not in folded


def test_a_forms_address_opened_as_a_page_leads_to_the_page_the_form_is_on(
    hub: tuple[HubService, TestClient],
) -> None:
    """A form that came back with an error leaves its own address in the address bar: opened
    again from there (or a bookmark, a link passed on), it was 「このアドレスでは処理できま
    せん」 with a link to the home page only, and the officer had lost the case."""
    service, client = hub
    case_id, _ = officer_case(service, client, ward=WARD)
    for sent, page in (
        (f"/web/cases/{case_id}/person", f"/web/cases/{case_id}"),
        (f"/web/cases/{case_id}/refer", f"/web/cases/{case_id}"),
        ("/web/coordinator/plan", "/web/coordinator"),
        ("/web/officer/search", "/web/officer"),
    ):
        opened = client.get(sent, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == page, sent
    assert client.get(f"/web/cases/{case_id}/person").status_code == 200
    # Any other method is still refused as the address does not take it.
    assert client.put(f"/web/cases/{case_id}/refer").status_code == 405


@pytest.mark.parametrize(
    ("by", "when"),
    [(None, "期間の終わりの時点"), ("ward", "期間の終わりの時点"), ("month", "各月末の時点")],
)
def test_the_analysis_page_says_which_figures_are_counts_standing_at_an_instant(
    hub: tuple[HubService, TestClient], by: str | None, when: str
) -> None:
    """協力事業者数 and 拠点数 count what stands registered (a partner that left drops out);
    beside the flows of the same table nothing said so, and the months of a stock were
    summed as if they were a month's new registrations."""
    _, client = hub
    sign_in(client, "analyst")
    page = client.get("/web/analysis", params={"fy": "R7", **({"by": by} if by else {})}).text
    note = page.split('id="stocks-note">')[1].split("</p>")[0]
    assert "参加支援事業の②協力事業者数と地域づくり事業の①拠点数は" in note
    assert when in note and "退会・閉鎖した事業者・拠点はその日から数えません" in note
    assert ("足し合わせても年度の数にはなりません" in note) == (by == "month")
