"""The web pages in a real headless Chromium against the real server (``hub serve``) and the
real relay and broker: the main story by keyboard alone, axe-core on every page, the role
matrix of the pages, and the README's screenshots (synthetic data only)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from selenium.webdriver.support.ui import Select

from hub.fiscal import JST
from hub.settings import Settings
from tests.agency_support import provisioned
from tests.api_support import Server, running_server
from tests.browser import (
    assert_accessible,
    choose,
    chromium,
    click_through,
    press_enter_on,
    tick,
    type_date,
    type_into,
)

pytestmark = pytest.mark.e2e

WARD, AGENCY, OTHER_WARD = "tobata", "tobata.houkatsu", "moji"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def web(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    broker = provisioned(Settings(), (AGENCY, f"{WARD}.coordinator"))
    var_dir = tmp_path_factory.mktemp("web")
    env = {"HUB_KAFKA_TOPIC_PREFIX": broker.kafka_topic_prefix}
    with running_server(var_dir, env) as server:
        server.env = env  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as opened:
        yield opened


def relay_once(server: Server) -> None:
    """The real relay publishes what was recorded (and writes its disclosure ledger)."""
    var_dir = server.settings.var_dir
    environment = {
        **os.environ,
        "HUB_VAR_DIR": str(var_dir),
        "HUB_MODE": "development",
        "HUB_SQLITE_PATH": str(var_dir / "hub.sqlite"),
        **server.env,  # type: ignore[attr-defined]
    }
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "relay", "--once", "--principal", "relay"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def sign_in(browser: Any, server: Server, subject: str, role: str, scope: str = "") -> None:
    """The development sign-in, by keyboard alone."""
    browser.delete_all_cookies()
    browser.get(f"{server.url}/web/signin")
    assert browser.find_element("tag name", "html").get_attribute("lang") == "ja"
    type_into(browser, "subject", subject)
    choose(browser, "role", role)
    if role in ("ward_officer", "coordinator"):
        choose(browser, "ward", scope)
    if role == "member_agency":
        choose(browser, "agency", scope)
    press_enter_on(browser, "dev-signin")
    assert subject in browser.find_element("id", "signed-in").text


def text_of(browser: Any, element_id: str) -> str:
    return str(browser.find_element("id", element_id).text)


def shot(browser: Any, name: str, tmp: Path) -> Path:
    """A screenshot of the whole page; into docs/ when HUB_UPDATE_SCREENSHOTS=1."""
    folder = DOCS if os.environ.get("HUB_UPDATE_SCREENSHOTS") == "1" else tmp
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(int(height) + 40, 800), 4000))
    path = folder / name
    browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1400)
    assert path.stat().st_size > 10_000
    return path


def test_a_discovery_becomes_a_case_is_referred_accepted_and_audited(
    web: Server, browser: Any, tmp_path: Path
) -> None:
    # 窓口: a discovery, by keyboard alone.
    sign_in(browser, web, "officer-試験1", "ward_officer", WARD)
    assert browser.title.startswith("窓口")
    assert_accessible(browser)
    choose(browser, "reporter_kind", "welfare_commissioner")
    tick(browser, "signs", "newspapers_piling_up")
    choose(browser, "urgency", "urgent")
    press_enter_on(browser, "report-discovery")
    assert "発見を記録しました" in browser.page_source
    assert_accessible(browser)
    discovery_url = browser.current_url
    # Until a case is opened from it, the discovery waits on the window's page, and its
    # row leads back to the form that opens the case.
    browser.get(f"{web.url}/web/officer")
    waiting = browser.find_element("id", "awaiting-discoveries")
    assert "至急" in waiting.text and "民生委員" in waiting.text
    assert_accessible(browser)
    link = waiting.find_element("css selector", "a")
    assert link.get_attribute("href") == discovery_url
    browser.get(discovery_url)
    # ... becomes a case (the person's details go in a POST body, never in the URL).
    type_into(browser, "person_name", "試験 太郎")
    type_into(browser, "person_kana", "シケン タロウ")
    type_into(browser, "person_address", "北九州市戸畑区架空町1-2-3")
    press_enter_on(browser, "open-case")
    assert "ケースを開きました" in browser.page_source
    case_id = text_of(browser, "case-id")
    assert re.fullmatch(r"[0-9a-f-]{36}", case_id)
    assert "%" not in browser.current_url and "?" not in browser.current_url
    assert_accessible(browser)

    # A referral without an agency is refused, and said so beside the field.
    press_enter_on(browser, "refer")
    assert "必須" in text_of(browser, "agency_id-error")
    assert browser.find_element("id", "agency_id").get_attribute("aria-invalid") == "true"
    assert_accessible(browser)

    # Consent for the agency (scope, purposes, categories, validity), then the referral to
    # the agency chosen by its Japanese name.
    press_enter_on(browser, "consent-open", navigates=False)
    tick(browser, "scope", AGENCY)
    tick(browser, "purposes", "consultation")
    tick(browser, "data_categories", "identity")
    tick(browser, "data_categories", "contact")
    press_enter_on(browser, "give-consent")
    assert "同意を記録しました" in browser.page_source
    assert "戸畑区 地域包括支援センター" in text_of(browser, "consents")
    choose(browser, "agency_id", AGENCY)
    choose(browser, "purpose", "consultation")
    choose(browser, "urgency", "soon")
    press_enter_on(browser, "refer")
    assert "戸畑区 地域包括支援センターへ紹介しました" in browser.page_source
    assert "送付済" in text_of(browser, "referrals")
    assert "令和" in text_of(browser, "referrals") and "JST" in text_of(browser, "referrals")
    assert_accessible(browser)
    shot(browser, "web-officer-case.png", tmp_path)
    # The phone number learned later is recorded on the case; what is left blank stays.
    press_enter_on(browser, "record-person-open", navigates=False)
    type_into(browser, "person_phone", "093-000-0000")
    press_enter_on(browser, "record-person")
    assert "本人の情報を記録しました" in browser.page_source
    assert "093-000-0000" not in browser.page_source  # recorded, not shown
    assert_accessible(browser)
    # 訂正 by deletion: the number turns out not to be the person's, and no right one is known.
    press_enter_on(browser, "clear-person-open", navigates=False)
    tick(browser, "clear_fields", "phone")
    tick(browser, "clear_confirm", "yes")  # a field cleared cannot be brought back
    press_enter_on(browser, "clear-person")
    assert "本人の情報の項目を消しました" in browser.page_source
    assert "本人情報の一部削除" in browser.page_source  # in the case's history
    assert_accessible(browser)

    # 名寄せ: a search that finds nobody is recorded too; then one finds the person, and
    # the read goes into the access log.
    browser.get(f"{web.url}/web/officer")
    type_into(browser, "kana", "ソンザイシナイ")
    press_enter_on(browser, "search")
    assert "試験 太郎" not in browser.page_source
    browser.get(f"{web.url}/web/officer")
    type_into(browser, "kana", "しけん")
    press_enter_on(browser, "search")
    assert "試験 太郎" in browser.page_source
    assert browser.current_url.endswith("/web/officer/search")  # nothing in a query string
    assert_accessible(browser)

    relay_once(web)

    # 支援機関: the inbox says what was disclosed on which basis; the agency accepts.
    sign_in(browser, web, "staff-試験1", "member_agency", AGENCY)
    assert browser.title.startswith("受信箱")
    shown = browser.find_element("css selector", "ul.disclosures").text
    assert "本人同意" in shown and "に基づき" in shown and "本人特定情報" in shown
    # ... and the person's details the relay released, as they stand: not the cleared phone.
    held = browser.find_element("css selector", "dl.released").text
    assert "試験 太郎" in held and "北九州市戸畑区架空町1-2-3" in held and "本人同意" in held
    assert "093-000-0000" not in browser.page_source
    assert_accessible(browser)
    shot(browser, "web-agency-inbox.png", tmp_path)
    referral_id = browser.find_element("css selector", "button.answer").get_attribute("id")[5:]
    choose(browser, f"answer-{referral_id}", "accepted")
    press_enter_on(browser, f"send-{referral_id}")
    assert "回答（受諾）を送りました" in browser.page_source
    assert "受諾" in browser.find_element("css selector", "dd.status").text

    # いのちネット担当係長: the loop is closed (nothing unanswered), the case still open.
    sign_in(browser, web, "kakaricho-試験1", "coordinator", WARD)
    assert browser.find_element("id", "no-unanswered").is_displayed()
    assert case_id[:8] in text_of(browser, "open-cases")
    assert_accessible(browser)

    # 監査, by keyboard alone: the disclosure is found by case, agency and period, on consent;
    # the searches (the one that found nobody too) and the reads are in the access log.
    sign_in(browser, web, "auditor-試験1", "auditor", "")
    type_into(browser, "case", case_id)
    choose(browser, "agency", AGENCY)
    yesterday = (datetime.now(JST) - timedelta(days=1)).date().isoformat()
    type_date(browser, "from", yesterday)
    press_enter_on(browser, "filter")
    disclosures = text_of(browser, "disclosures")
    assert "戸畑区 地域包括支援センター" in disclosures and "本人同意" in disclosures
    assert "officer-試験1" in text_of(browser, "access")
    # The agency's staff read what was released to it, for their agency.
    assert "staff-試験1" in text_of(browser, "access")
    assert "支援機関（戸畑区 地域包括支援センター）" in text_of(browser, "access")
    searches = [row.text for row in browser.find_elements("css selector", "#searches tbody tr")]
    mine = [row for row in searches if "officer-試験1" in row]
    assert len(mine) == 2 and "0人" in mine[0] and "1人" in mine[1], searches
    assert "カナ" in mine[1] and "戸畑区" in mine[1]
    assert "しけん" not in browser.page_source and "ソンザイ" not in browser.page_source
    assert "有効な根拠" in text_of(browser, "verdict")
    assert_accessible(browser)
    press_enter_on(browser, "report-link")
    assert browser.title.startswith("監査報告")
    assert "名寄せ searches: 2" in browser.find_element("tag name", "main").text
    assert_accessible(browser)

    # 分析: table ④ by ward, with its chart and downloads.
    sign_in(browser, web, "analyst-試験1", "analyst", "")
    assert "包括的相談支援事業における相談受付件数" in text_of(browser, "table4")
    assert "紹介件数" in text_of(browser, "table4")
    assert_accessible(browser)
    choose(browser, "by", "ward")
    press_enter_on(browser, "show")
    assert "区別" in text_of(browser, "table-title")
    assert_accessible(browser)


def test_the_pages_load_their_own_style_and_chart_and_run_no_script(
    web: Server, browser: Any
) -> None:
    """The Content-Security-Policy as a browser applies it: the stylesheet and the chart of
    the hub load; a script slipped into the page (as an unescaped name would be) does not run."""
    sign_in(browser, web, "analyst-試験3", "analyst", "")
    browser.get(f"{web.url}/web/analysis")
    header = browser.find_element("tag name", "header")
    assert header.value_of_css_property("background-color") == "rgba(29, 53, 87, 1)"
    chart = browser.find_element("css selector", "figure img")
    assert browser.execute_script("return arguments[0].complete", chart)
    assert browser.execute_script("return arguments[0].naturalWidth", chart) > 0
    ran = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const s = document.createElement('script');"
        "s.textContent = 'window.slipped = 1'; document.body.appendChild(s);"
        "const i = document.createElement('img'); i.setAttribute('onerror', 'window.slipped = 2');"
        "i.src = '/web/no-such-image.png'; document.body.appendChild(i);"
        "setTimeout(() => done(window.slipped === undefined ? 'none' : String(window.slipped)),"
        " 1000);"
    )
    assert ran == "none"


def test_a_partner_reports_by_keyboard_alone_and_the_wards_window_sees_it(
    web: Server, browser: Any
) -> None:
    """発見の通報: the page a 見守り部会 partner, a 民生委員 or a resident lands on."""
    sign_in(browser, web, "partner-試験1", "partner_reporter")
    assert browser.title.startswith("発見の通報")
    assert "119番" in text_of(browser, "emergency")
    assert_accessible(browser)
    choose(browser, "ward", WARD)
    tick(browser, "signs", "mailbox_full")
    choose(browser, "urgency", "soon")
    type_into(browser, "person_address", "北九州市戸畑区架空町4-5-6")
    choose(browser, "reporter_kind", "resident")
    press_enter_on(browser, "report-discovery")
    received = re.search(r"受付番号 ([0-9a-f]{8})", browser.page_source)
    assert received, browser.page_source
    assert_accessible(browser)
    sign_in(browser, web, "officer-試験3", "ward_officer", WARD)
    waiting = browser.find_element("id", "awaiting-discoveries")
    row = next(r for r in waiting.find_elements("css selector", "tr") if received[1] in r.text)
    assert "住民" in row.text and "郵便受けがいっぱい" in row.text


def test_pages_follow_the_role_matrix(web: Server, browser: Any) -> None:
    case_id = _case_of_ward(web)
    # Wrong role: a 403 page that says why, in Japanese, signed in as who.
    sign_in(browser, web, "analyst-試験2", "analyst", "")
    pages = ("/web/inbox", "/web/officer", "/web/audit", "/web/report", f"/web/cases/{case_id}")
    for page in pages:
        browser.get(f"{web.url}{page}")
        assert browser.title.startswith("権限がありません"), page
        assert text_of(browser, "refusal").startswith("分析担当")  # the role, in Japanese
    assert_accessible(browser)
    # Another ward's case: 403, though the officer may read cases.
    sign_in(browser, web, "officer-試験2", "ward_officer", OTHER_WARD)
    browser.get(f"{web.url}/web/cases/{case_id}")
    assert browser.title.startswith("権限がありません")
    refusal = text_of(browser, "refusal")
    assert refusal.startswith("門司区の区役所 窓口職員は、門司区以外の事案を扱えません"), refusal
    # An id nobody used answers exactly as another ward's case: no oracle of existence.
    browser.get(f"{web.url}/web/cases/{uuid4()}")
    assert browser.title.startswith("権限がありません")
    assert text_of(browser, "refusal") == refusal and case_id not in refusal
    # Signed out: the sign-in page, not the case.
    browser.delete_all_cookies()
    browser.get(f"{web.url}/web/cases/{case_id}")
    assert browser.current_url.endswith("/web/signin")
    assert_accessible(browser)


def test_the_session_cookie_is_httponly_strict_and_forms_need_their_csrf_token(
    web: Server,
) -> None:
    with httpx.Client(base_url=web.url, timeout=60) as client:
        drawn = client.get("/web/signin").text
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', drawn)
        assert token
        signed = client.post(
            "/web/signin/dev",
            data={
                "subject": "officer-試験3",
                "role": "ward_officer",
                "ward": WARD,
                "agency": "",
                "csrf_token": token.group(1),
            },
        )
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = client.get("/web/officer")
        assert page.status_code == 200
        # A form sent from elsewhere carries no token (or a wrong one): refused, nothing done.
        for token in ("", "0" * 64):
            forged = client.post(
                "/web/officer/discovery",
                data={
                    "csrf_token": token,
                    "command_id": "6f1c3f44-6b8e-4a4c-9c47-7d8f0f2a1b11",
                    "reporter_kind": "resident",
                    "signs": "odour",
                    "urgency": "routine",
                },
            )
            assert forged.status_code == 403, forged.text
        assert "発見を記録しました" not in client.get("/web/officer").text
        # A forged session cookie is no sign-in.
        client.cookies.set("hub_session", "not-a-token")
        assert client.get("/web/officer", follow_redirects=False).status_code == 303


def _case_of_ward(
    web: Server, key: str = "3d0c1f7e-1d57-4a1f-9a59-6f5f0f3c2b10", person: str | None = None
) -> str:
    """A case in WARD, opened through the API (the role tests need one to reach for); with
    ``person``, the person's (synthetic) name."""
    from hub.identity import Role

    token = web.token(Role.ward_officer, ward=WARD)
    body: dict[str, Any] = {"occurred_at": "2026-04-01T09:00:00+09:00", "ward": WARD}
    if person is not None:
        body["person"] = {"name": person}
    with web.client(token) as client:
        opened = client.post("/commands/OpenCase", json=body, headers={"Idempotency-Key": key})
        assert opened.status_code in (200, 201), opened.text
        return str(opened.json()["aggregate_ids"][0])


def test_the_coordinator_moves_a_case_only_with_consent_in_force_and_plans_it(
    web: Server, browser: Any
) -> None:
    from hub.identity import Role

    officer = web.client(web.token(Role.ward_officer, ward=WARD))
    case_id = _case_of_ward(web, key="9b3c2a51-0c0e-4f55-8d9e-4a8a7e9b1c21")
    # Every form by keyboard alone (Tab, Enter, Space, arrows; focus shown at each press).
    sign_in(browser, web, "kakaricho-試験2", "coordinator", WARD)
    press_enter_on(browser, "meeting-open", navigates=False)
    choose(browser, "kind", "connection")
    tick(browser, "members", AGENCY)
    tick(browser, "case_ids", case_id)
    press_enter_on(browser, "hold-meeting")
    assert "会議を記録しました" in browser.page_source
    assert "つながりづくり会議" in browser.find_element("tag name", "main").text
    assert_accessible(browser)

    # No consent in force: refused, and said beside the field.
    press_enter_on(browser, "move-open", navigates=False)
    choose(browser, "move_case_id", case_id)
    press_enter_on(browser, "move")
    assert "本人同意が有効でない" in text_of(browser, "move_case_id-error")
    assert_accessible(browser)

    consent = officer.post(
        "/commands/GiveConsent",
        json={
            "occurred_at": "2026-04-01T09:05:00+09:00",
            "case_id": case_id,
            "scope": [AGENCY],
            "purposes": ["support_planning"],
            "data_categories": ["identity"],
            "valid_from": "2026-04-01T00:00:00+09:00",
            "valid_until": "2027-04-01T00:00:00+09:00",
        },
        headers={"Idempotency-Key": "0f9e3d1c-7b1a-4c2e-9a3f-5d6b7c8e9f10"},
    )
    assert consent.status_code in (200, 201), consent.text
    browser.get(f"{web.url}/web/coordinator")
    press_enter_on(browser, "move-open", navigates=False)
    choose(browser, "move_case_id", case_id)
    press_enter_on(browser, "move")
    assert "重層的支援会議へ移しました" in browser.page_source

    # 支援の決定: the meeting that took the case up names the lead agency.
    press_enter_on(browser, "decide-open", navigates=False)
    options = browser.find_element("id", "decide_on").find_elements("tag name", "option")
    [taken_up] = [
        o.get_attribute("value") for o in options if o.get_attribute("value")[:36] == case_id
    ]
    choose(browser, "decide_on", taken_up)
    choose(browser, "decide_lead_agency", AGENCY)
    press_enter_on(browser, "decide-support")
    assert f"ケース {case_id[:8]} の支援を決定しました" in browser.page_source
    assert_accessible(browser)

    # A referral the agency leaves unanswered: 督促, then its answer by phone, on its behalf.
    referred = officer.post(
        "/commands/ReferCase",
        json={
            "occurred_at": "2026-04-01T09:10:00+09:00",
            "case_id": case_id,
            "agency_id": AGENCY,
            "purpose": "support_planning",
            "urgency": "soon",
        },
        headers={"Idempotency-Key": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"},
    )
    assert referred.status_code in (200, 201), referred.text
    browser.get(f"{web.url}/web/coordinator")
    [acts] = [
        section
        for section in browser.find_elements("css selector", "section.referral-acts")
        if f"ケース {case_id[:8]}" in section.text
    ]
    referral_id = acts.get_attribute("id").removeprefix("act-")
    press_enter_on(browser, f"escalate-open-{referral_id}", navigates=False)
    press_enter_on(browser, f"escalate-{referral_id}")
    assert "を督促しました" in browser.page_source
    press_enter_on(browser, f"phone-open-{referral_id}", navigates=False)
    press_enter_on(browser, f"phone-{referral_id}")  # no answer chosen: said beside it
    assert "必須" in text_of(browser, f"phone_answer-{referral_id}-error")
    assert_accessible(browser)
    choose(browser, f"phone_answer-{referral_id}", "accepted")
    press_enter_on(browser, f"phone-{referral_id}")
    assert "電話で受けた回答として代理で記録しました" in browser.page_source
    assert f"act-{referral_id}" not in browser.page_source  # answered: awaits nothing

    # A plan with its monitoring date, shown in 和暦 among the ward's open cases.
    press_enter_on(browser, "plan-open", navigates=False)
    choose(browser, "plan_case_id", case_id)
    type_into(browser, "issue", "試験の課題")
    type_into(browser, "goal", "試験の目標")
    choose(browser, "lead_agency", AGENCY)
    type_date(browser, "period_from", "2026-04-01")
    type_date(browser, "period_until", "2027-03-31")
    press_enter_on(browser, "agree-plan")
    assert "monitoring_date-error" in browser.page_source  # the date left out, said by it
    type_date(browser, "monitoring_date", "2026-10-01")
    press_enter_on(browser, "agree-plan")
    assert "支援計画を記録しました" in browser.page_source
    row = text_of(browser, "open-cases")
    assert "令和8年10月1日" in row and "第1版" in row and "重層的支援会議" in row
    assert_accessible(browser)


def test_refusal_withdrawal_the_logged_read_and_a_coded_decline(web: Server, browser: Any) -> None:
    case_id = _case_of_ward(web, key="5e8d7c6b-1a2b-4c3d-8e9f-0a1b2c3d4e5f", person="試験 花子")
    sign_in(browser, web, "officer-試験4", "ward_officer", WARD)
    browser.get(f"{web.url}/web/cases/{case_id}")
    # A refusal, then a consent and its withdrawal.
    browser.find_element("id", "refuse-open").click()
    browser.find_element("id", "refuse_reason").send_keys("試験の理由")
    click_through(browser, "refuse-consent")
    assert "同意の拒否を記録しました" in browser.page_source
    browser.find_element("id", "consent-open").click()
    click_through(browser, "give-consent")  # nothing ticked: said beside each list
    for field in ("scope", "purposes", "data_categories"):
        assert "必須" in text_of(browser, f"{field}-error")
    for name, value in (
        ("scope", AGENCY),
        ("purposes", "outreach"),
        ("data_categories", "contact"),
    ):
        browser.find_element("css selector", f'input[name="{name}"][value="{value}"]').click()
    browser.find_element("css selector", 'input[name="by_proxy"]').click()
    browser.find_element("id", "proxy_relationship").send_keys("長男（架空）")
    click_through(browser, "give-consent")
    assert "代理人による" in text_of(browser, "consents")
    browser.find_element("id", "withdraw-open").click()
    select = Select(browser.find_element("id", "consent_id"))
    select.select_by_index(1)
    browser.find_element("id", "withdraw_confirm").click()
    click_through(browser, "withdraw-consent")
    assert "撤回" in text_of(browser, "consents")
    assert_accessible(browser)
    # The person's details, shown only after the read is logged.
    Select(browser.find_element("id", "read_purpose")).select_by_value("consultation")
    click_through(browser, "show-person")
    assert "アクセス記録に残りました" in browser.page_source and "試験 花子" in browser.page_source
    # A referral to the agency, declined there: without a coded reason it is refused.
    browser.get(f"{web.url}/web/cases/{case_id}")
    Select(browser.find_element("id", "agency_id")).select_by_value(AGENCY)
    Select(browser.find_element("id", "purpose")).select_by_value("outreach")
    Select(browser.find_element("id", "urgency")).select_by_value("routine")
    click_through(browser, "refer")
    assert "紹介しました" in browser.page_source
    sign_in(browser, web, "staff-試験4", "member_agency", AGENCY)
    # The newest referral still to answer (ended ones are folded below the last of them).
    answers = browser.find_elements("css selector", "button.answer")
    referral_id = answers[-1].get_attribute("id")[5:]
    Select(browser.find_element("id", f"answer-{referral_id}")).select_by_value("declined")
    click_through(browser, f"send-{referral_id}")
    assert "理由" in text_of(browser, f"reason_code-{referral_id}-error")
    # A decline cannot be taken back: its box, unticked, is said beside it at the same time.
    assert "取り消せません" in text_of(browser, f"confirm-{referral_id}-error")
    assert_accessible(browser)
    Select(browser.find_element("id", f"answer-{referral_id}")).select_by_value("declined")
    Select(browser.find_element("id", f"reason_code-{referral_id}")).select_by_value("capacity")
    browser.find_element("id", f"confirm-{referral_id}").click()
    click_through(browser, f"send-{referral_id}")
    assert "回答（辞退）を送りました" in browser.page_source
