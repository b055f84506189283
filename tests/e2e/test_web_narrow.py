"""The pages on a phone held upright (375 px wide, as 750 px at 200 % zoom): nothing pushes
the page sideways (a long agency name in a list, the chart of table ④); the auditor's
one-page report printed on A4. A real headless Chromium against the real server
(``hub serve``); no broker needed."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.fiscal import JST, now
from tests.api_support import Server, running_server
from tests.browser import choose, chromium, click_through, press_enter_on, tick, type_into
from tests.web_support import hub  # noqa: F401 (a fixture, found here by pytest)

pytestmark = pytest.mark.e2e

WARD = "tobata"
PHONE = 375


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("narrow")) as running:
        yield running


def sign_in(browser: Any, server: Server, role: str, ward: str = "") -> None:
    browser.delete_all_cookies()
    browser.get(f"{server.url}/web/signin")
    type_into(browser, "subject", f"{role}-試験")
    choose(browser, "role", role)
    if ward:
        choose(browser, "ward", ward)
    press_enter_on(browser, "dev-signin")


def tick_a_consent(browser: Any) -> None:
    """The case page's consent form opened and its boxes ticked: the ward's 地域包括, for
    consultation, identity."""
    browser.find_element("id", "consent-open").click()
    for name, value in (
        ("scope", f"{WARD}.houkatsu"),
        ("purposes", "consultation"),
        ("data_categories", "identity"),
    ):
        browser.find_element("css selector", f'input[name="{name}"][value="{value}"]').click()


def overflow(browser: Any) -> int:
    """How far the page reaches past the window's right edge, in CSS pixels."""
    return int(
        browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def test_no_page_is_wider_than_a_phone(server: Server, tmp_path: Path) -> None:
    with chromium() as browser:
        sign_in(browser, server, "ward_officer", WARD)
        choose(browser, "window_agency", f"{WARD}.houkatsu")
        tick(browser, "needs", "elderly")
        press_enter_on(browser, "receive-consultation")
        case_page = browser.current_url
        assert "/web/cases/" in case_page
        # A consent: a row of the auditor's widest table, the replay's consents in force.
        tick_a_consent(browser)
        year = now().astimezone(JST).year
        browser.execute_script(
            f"document.getElementById('valid_from').value = '{year - 1}-04-01';"
            f"document.getElementById('valid_until').value = '{year + 1}-03-31';"
        )
        click_through(browser, "give-consent")
        assert "同意を記録しました" in browser.page_source
        # A referral awaiting an answer: the coordinator's forms beside it, opened below.
        choose(browser, "agency_id", f"{WARD}.houkatsu")
        choose(browser, "purpose", "consultation")
        choose(browser, "urgency", "soon")
        press_enter_on(browser, "refer")
        today = now().astimezone(JST).date().isoformat()  # the consent was given today
        pages = [("ward_officer", WARD, case_page), ("ward_officer", WARD, "/web/officer")]
        pages += [("auditor", "", f"/web/audit?as_of={today}"), ("analyst", "", "/web/analysis")]
        pages += [
            ("partner_reporter", "", "/web/report"),
            ("coordinator", WARD, "/web/coordinator"),
        ]
        browser.set_window_size(PHONE, 900)
        wide = []
        for role, ward, page in pages:
            sign_in(browser, server, role, ward)
            browser.get(page if page.startswith("http") else f"{server.url}{page}")
            browser.execute_script("return document.fonts.ready")
            # Every folded form open (the emergency's, the coordinator's beside a referral):
            # what it holds may not push the page sideways either.
            browser.execute_script(
                "document.querySelectorAll('details').forEach(d => d.open = true)"
            )
            if page == "/web/coordinator":
                assert "未応答の紹介への対応" in browser.page_source
            if overflow(browser) > 0:
                browser.save_screenshot(str(tmp_path / f"{role}.png"))
                wide.append(f"{page}: {overflow(browser)} px too wide")
        assert not wide, "; ".join(wide)


def test_the_auditors_report_prints_on_one_a4_page_without_the_sites_header(
    server: Server,
) -> None:
    from selenium.webdriver.common.print_page_options import PrintOptions

    with chromium() as browser:
        sign_in(browser, server, "auditor")
        browser.get(f"{server.url}/web/audit/report")
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        header = browser.find_element("tag name", "header")
        assert not header.is_displayed()  # no sign-out button, no navigation on the paper
        options = PrintOptions()
        options.page_width, options.page_height = 21.0, 29.7  # A4, in cm
        pdf = base64.b64decode(browser.print_page(options))
        assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1


def test_no_table_heading_is_broken_mid_word_on_a_tablet(server: Server) -> None:
    """On a tablet held upright (800 px) a narrow column broke its heading between the
    characters of one word (状/態, 緊急/度, 代/理): each heading stays on one line."""
    with chromium() as browser:
        sign_in(browser, server, "ward_officer", WARD)
        choose(browser, "window_agency", f"{WARD}.houkatsu")
        press_enter_on(browser, "receive-consultation")
        for name, value in (
            ("agency_id", f"{WARD}.houkatsu"),
            ("purpose", "consultation"),
            ("urgency", "routine"),
        ):
            choose(browser, name, value)
        click_through(browser, "refer")
        tick_a_consent(browser)
        click_through(browser, "give-consent")
        browser.set_window_size(800, 1280)
        broken = browser.execute_script(
            "return [...document.querySelectorAll('th')].filter(th => {"
            "  const r = document.createRange(); r.selectNodeContents(th);"
            "  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1;"
            "}).map(th => th.textContent);"
        )
        assert len(browser.find_elements("css selector", "th")) >= 12
        assert not broken, f"headings broken over lines: {broken}"


def test_the_reporters_page_on_a_phone_breaks_no_word_and_hints_stand_under_their_fields(
    server: Server,
) -> None:
    """At 375 px beside a short name the header's button read サインアウ／ト, and a field's
    hint sat beside its field, broken after a word or two (わかる範囲で。／例：…)."""
    with chromium() as browser:
        browser.set_window_size(PHONE, 900)
        sign_in(browser, server, "partner_reporter")
        assert "/web/report" in browser.current_url
        lines = browser.execute_script(
            "const r = document.createRange();"
            "r.selectNodeContents(document.querySelector('header form button'));"
            "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;"
        )
        assert lines == 1, "サインアウト broken over lines"
        beside = browser.execute_script(
            "return [...document.querySelectorAll('.field .hint')].filter(h => {"
            "  const field = h.parentElement.querySelector('input, select, textarea');"
            "  return h.getBoundingClientRect().top < field.getBoundingClientRect().bottom;"
            "}).map(h => h.id);"
        )
        assert browser.find_elements("css selector", ".field .hint")
        assert not beside, f"hints beside their fields: {beside}"


def test_the_case_page_with_every_form_open_is_no_wider_than_a_phone(
    server: Server, tmp_path: Path
) -> None:
    """The forms that finish a case's life (紹介の取り消し beside a referral, 支援の経過・終結,
    利用停止) opened at once on a phone: none pushes the page sideways."""
    with chromium() as browser:
        sign_in(browser, server, "ward_officer", WARD)
        choose(browser, "window_agency", f"{WARD}.houkatsu")
        press_enter_on(browser, "receive-consultation")
        for name, value in (
            ("agency_id", f"{WARD}.houkatsu"),
            ("purpose", "consultation"),
            ("urgency", "routine"),
        ):
            choose(browser, name, value)
        click_through(browser, "refer")
        assert browser.find_elements("css selector", "details.cancel-referral")
        for opened in ("watch-open", "close-open", "use-stop-open"):
            assert browser.find_element("id", opened).is_displayed()
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        browser.set_window_size(PHONE, 900)
        browser.execute_script("return document.fonts.ready")
        browser.save_screenshot(str(tmp_path / "case-phone.png"))
        assert overflow(browser) <= 0, f"{overflow(browser)} px too wide"


def lines_of(browser: Any, css: str) -> int:
    """How many lines the first element matching ``css`` is drawn on."""
    return int(
        browser.execute_script(
            "const r = document.createRange();"
            f"r.selectNodeContents(document.querySelector('{css}'));"
            "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;"
        )
    )


def test_a_partners_row_keeps_its_end_button_on_one_line_on_a_phone(server: Server) -> None:
    """At 375 px the 退会 column of the network page shrank until its button read
    退/会/を/記/録/す/る, one character a line, beside its box broken likewise."""
    from selenium.webdriver.support.ui import Select

    with chromium() as browser:
        sign_in(browser, server, "administrator")
        browser.get(f"{server.url}/web/network")
        browser.execute_script("document.getElementById('register-business').open = true")
        browser.find_element("id", "business_name").send_keys("試験食堂（架空）")
        browser.find_element("id", "business_kind").send_keys("飲食店")
        Select(browser.find_element("id", "business_ward")).select_by_value(WARD)
        browser.find_element("id", "business_confirm").click()
        click_through(browser, "register-business-send")
        browser.set_window_size(PHONE, 900)
        assert lines_of(browser, "#businesses form button") == 1


def test_the_notes_written_on_a_case_stand_under_their_labels_on_a_phone(
    server: Server,
) -> None:
    """Beside a label as long as 紹介の取り消しの理由 a note was squeezed, on a phone, to a
    few characters a line: each note takes the width of the page under its label."""
    from selenium.webdriver.support.ui import Select

    with chromium() as browser:
        sign_in(browser, server, "ward_officer", WARD)
        choose(browser, "window_agency", f"{WARD}.houkatsu")
        browser.find_element("id", "consultation_note").send_keys("架空の相談メモ" * 4)
        press_enter_on(browser, "receive-consultation")
        Select(browser.find_element("id", "read_purpose")).select_by_value("consultation")
        click_through(browser, "show-person")
        browser.set_window_size(PHONE, 900)
        widths = browser.execute_script(
            "const dl = document.getElementById('case-notes');"
            "return [dl.getBoundingClientRect().width,"
            " dl.querySelector('dd').getBoundingClientRect().width];"
        )
        assert widths[1] > widths[0] * 0.8, f"a note {widths[1]} px wide in {widths[0]} px"


def _drawn_on_a_phone(page: str, tmp_path: Path, selector: str) -> list[float]:
    """``page`` (HTML built without a server) drawn from a file at a phone's width, with the
    hub's stylesheet: the width of the first ``selector`` and of its first value."""
    css = Path(__file__).parents[2] / "ops" / "web" / "static" / "hub.css"
    drawn = tmp_path / "page.html"
    drawn.write_text(page.replace("/web/static/hub.css", css.as_uri()), "utf-8")
    with chromium() as browser:
        browser.set_window_size(PHONE, 900)
        browser.get(drawn.as_uri())
        return list(
            browser.execute_script(
                "const dl = document.querySelector(arguments[0]);"
                "return [dl.getBoundingClientRect().width,"
                " dl.querySelector('dd').getBoundingClientRect().width];",
                selector,
            )
        )


def test_the_details_released_to_an_agency_stand_under_their_labels_on_a_phone(
    hub: tuple[Any, Any],  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    """Beside 健康 / 要配慮個人情報, the released details' labels took half a phone's width
    and each value was squeezed to a few characters a line: each stands under its label. The
    inbox's HTML is built without Kafka (a fake producer)."""
    from tests.unit.test_web_inbox_sensitive_and_notes import SENSITIVE
    from tests.unit.test_web_inbox_values import referred, relay_passes, released

    service, client = hub
    referred(service, categories=SENSITIVE)
    relay_passes(service)
    widths = _drawn_on_a_phone(released(client), tmp_path, "dl.released")
    assert widths[1] > widths[0] * 0.8, f"a detail {widths[1]} px wide in {widths[0]} px"


def test_a_declaration_under_review_stands_under_its_labels_on_a_phone(
    hub: tuple[Any, Any],  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    """On /web/reviews, beside 要配慮個人情報 the declaration's ids, period and agencies were
    squeezed to half a phone's width: each stands under its label."""
    from tests.unit.test_web_reviews import declared
    from tests.web_support import sign_in as signed_in

    service, client = hub
    declared(service)
    signed_in(client, "auditor")
    page = client.get("/web/reviews").text
    widths = _drawn_on_a_phone(page, tmp_path, "section.review dl.summary")
    assert widths[1] > widths[0] * 0.8, f"a value {widths[1]} px wide in {widths[0]} px"


def test_the_access_logs_coded_words_are_not_broken_on_a_wide_screen(
    hub: tuple[Any, Any],  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    """Beside the long 役割 (支援機関（戸畑区 地域包括支援センター）) the access log's 根拠 broke
    as 本人同/意 at 1280 px: a coded word stays on one line."""
    from tests import factories as f
    from tests.unit.test_web_inbox_sensitive_and_notes import SENSITIVE
    from tests.unit.test_web_inbox_values import AGENCY, OFFICER, referred, relay_passes, released
    from tests.web_support import sign_in as signed_in

    service, client = hub
    case_id = referred(service, categories=SENSITIVE)
    service.execute(OFFICER, f.activity(case_id, agency_id=AGENCY, note="架空の記録（試験）"))
    relay_passes(service)
    released(client)  # the agency's read, in the access log
    signed_in(client, "auditor")
    css = Path(__file__).parents[2] / "ops" / "web" / "static" / "hub.css"
    drawn = tmp_path / "audit.html"
    page = client.get("/web/audit").text
    drawn.write_text(page.replace("/web/static/hub.css", css.as_uri()), "utf-8")
    with chromium() as browser:
        browser.set_window_size(1280, 900)
        browser.get(drawn.as_uri())
        broken = browser.execute_script(
            "return [...document.querySelectorAll('#access td.word')]"
            ".filter(td => { const r = document.createRange(); r.selectNodeContents(td);"
            "  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1;"
            "}).map(td => td.textContent);"
        )
        cells = browser.find_elements("css selector", "#access td.word")
    assert cells and not broken, f"words broken over lines: {broken}"


def test_a_refused_form_far_down_the_page_comes_back_with_its_field_focused(
    server: Server,
) -> None:
    """The pages run no script: a refused form comes back at the top of a long case page,
    its summary there for a screen reader, and ``autofocus`` brings the officer to the first
    field in error, in its reopened <details>, scrolled into view."""

    def at_the_field(name: str) -> None:
        state = browser.execute_script(
            "const e = document.activeElement, r = e.getBoundingClientRect();"
            "const link = document.querySelector('#error-summary a').getAttribute('href');"
            "return [e.name, e.closest('details') && e.closest('details').open, r.top >= 0"
            " && r.bottom <= innerHeight, scrollY, link,"
            " document.querySelectorAll('[autofocus]').length];"
        )
        assert state[0] == name, f"the focus is on {state[0]!r}, not on {name!r}"
        assert state[1] and state[2], "the field is folded away or off the screen"
        assert state[3] > 0, "the page did not move from its top"
        assert state[4] == f"#{name}-error" and state[5] == 1

    with chromium() as browser:
        browser.set_window_size(PHONE, 900)  # where the case page is longest
        sign_in(browser, server, "ward_officer", WARD)
        choose(browser, "window_agency", f"{WARD}.houkatsu")
        tick(browser, "needs", "elderly")
        press_enter_on(browser, "receive-consultation")
        assert "/web/cases/" in browser.current_url
        browser.find_element("id", "close-open").click()
        browser.find_element("id", "close_reason").send_keys("試験の終結（架空）")
        click_through(browser, "close-case")  # its box left unticked
        at_the_field("close_confirm")
        browser.find_element("id", "consent-open").click()
        click_through(browser, "give-consent")  # nothing ticked
        first = browser.execute_script(
            "return document.querySelector('[aria-invalid=\"true\"]').getAttribute('name')"
            " || document.querySelector('[aria-invalid=\"true\"] input').name"
        )
        at_the_field(first)
