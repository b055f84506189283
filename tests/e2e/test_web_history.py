"""The browser's history against the forms: after a form was sent and its page left, Back
shows the form empty (with a new command id), not the choices just sent under a new id, one
click away from a second, unintended record. A real headless Chromium against the real
server (``hub serve``); no broker needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import Server, running_server
from tests.browser import chromium, click_through, next_page
from tests.e2e.test_web_narrow import sign_in

pytestmark = pytest.mark.e2e

WARD = "tobata"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("history")) as running:
        yield running


def chosen(browser: Any) -> dict[str, Any]:
    """What the discovery form holds now."""
    form = browser.find_element("css selector", 'form[action="/web/officer/discovery"]')
    return {
        "urgency": form.find_element("id", "urgency").get_attribute("value"),
        "reporter_kind": form.find_element("id", "reporter_kind").get_attribute("value"),
        "signs": [
            b.get_attribute("value") for b in form.find_elements("name", "signs") if b.is_selected()
        ],
    }


def test_back_after_a_report_shows_the_form_empty_not_the_sent_choices(server: Server) -> None:
    from selenium.webdriver.support.ui import Select

    with chromium() as browser:
        sign_in(browser, server, "ward_officer", WARD)
        Select(browser.find_element("id", "reporter_kind")).select_by_value("welfare_commissioner")
        browser.find_element("css selector", 'input[name="signs"]').click()
        Select(browser.find_element("id", "urgency")).select_by_value("urgent")
        click_through(browser, "report-discovery")
        assert "発見を記録しました" in browser.page_source
        next_page(browser, browser.back)
        assert "/web/officer" in browser.current_url
        assert chosen(browser) == {"urgency": "", "reporter_kind": "", "signs": []}
