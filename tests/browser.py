"""A real headless Chromium for the web pages' tests: Debian's chromium and chromedriver
(installed by ops/setup.sh), axe-core from npm (ops/setup.sh caches it), keyboard helpers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

AXE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "kitakyushu-hub"
    / "npm"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1400",
    "--lang=ja",
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A fresh browser (its own profile directory), quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail(
            "Debian's chromium and chromium-driver are not installed: run bash ops/setup.sh",
            pytrace=False,
        )
    profile = tempfile.mkdtemp(prefix="hub-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    browser = webdriver.Chrome(options=options, service=Service(driver))
    browser.set_page_load_timeout(120)
    browser.set_script_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(browser: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page now shown."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run bash ops/setup.sh", pytrace=False)
    browser.execute_script(AXE.read_text("utf-8"))
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));"
    )
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def assert_accessible(browser: Any) -> None:
    found = axe_violations(browser)
    assert not found, f"{browser.current_url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v.get('help')} "
        f"{[n.get('target') for n in v.get('nodes', [])][:3]}"
        for v in found
    )


def focused(browser: Any) -> Any:
    return browser.switch_to.active_element


def tab_to(browser: Any, element_id: str, limit: int = 400) -> Any:
    """Press Tab until the element with ``element_id`` has the focus (keyboard alone)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if focused(browser).get_attribute("id") == element_id:
            return focused(browser)
        ActionChains(browser).send_keys(Keys.TAB).perform()
    raise AssertionError(f"Tab never reached #{element_id} on {browser.current_url}")


def assert_focus_visible(browser: Any) -> None:
    """The element with the focus shows it: an outline of 2px or more (WCAG 2.4.7)."""
    style, width, tag = browser.execute_script(
        "const e = document.activeElement, s = getComputedStyle(e);"
        "return [s.outlineStyle, s.outlineWidth, e.tagName + '#' + e.id];"
    )
    assert style != "none" and float(width.removesuffix("px")) >= 2, f"{tag}: focus not shown"


def type_date(browser: Any, element_id: str, day: str) -> None:
    """Type an ISO date into a date field, its parts in the order the browser's locale shows
    them (a date field has no text to type in ISO order)."""
    from selenium.webdriver.common.action_chains import ActionChains

    order = browser.execute_script(
        "return new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2026, 3, 1))"
        ".filter(p => ['year', 'month', 'day'].includes(p.type)).map(p => p.type);"
    )
    year, month, date_ = day.split("-")
    parts = {"year": year, "month": month, "day": date_}
    tab_to(browser, element_id)
    for part in order:
        ActionChains(browser).send_keys(parts[part]).perform()
    value = browser.find_element("id", element_id).get_attribute("value")
    assert value == day, f"#{element_id}: typed {day}, the field holds {value!r}"


def type_into(browser: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    tab_to(browser, element_id)
    ActionChains(browser).send_keys(text).perform()


def choose(browser: Any, element_id: str, value: str) -> None:
    """Choose an option of a select with the arrow keys only."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    element = tab_to(browser, element_id)
    values = [o.get_attribute("value") for o in element.find_elements("tag name", "option")]
    assert value in values, f"#{element_id} has no option {value!r}"
    for _ in range(values.index(value)):
        ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    assert element.get_attribute("value") == value, f"#{element_id}: arrows chose another"


def tick(browser: Any, name: str, value: str) -> None:
    """Tick a checkbox with Space, reached by Tab."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    box = browser.find_element("css selector", f'input[name="{name}"][value="{value}"]')
    for _ in range(400):
        if focused(browser) == box:
            break
        ActionChains(browser).send_keys(Keys.TAB).perform()
    else:
        raise AssertionError(f"Tab never reached the box {name}={value}")
    assert_focus_visible(browser)
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    assert box.is_selected()


def press_enter_on(browser: Any, element_id: str, *, navigates: bool = True) -> None:
    """Enter on an element reached by Tab; a form's button waits for the next page."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    tab_to(browser, element_id)
    assert_focus_visible(browser)
    if navigates:
        next_page(browser, lambda: ActionChains(browser).send_keys(Keys.ENTER).perform())
    else:
        ActionChains(browser).send_keys(Keys.ENTER).perform()


def click_through(browser: Any, element_id: str) -> None:
    """Click a form's button and wait for the page the server answers with."""
    next_page(browser, browser.find_element("id", element_id).click)


def _replaced(element: Any) -> Any:
    """``staleness_of``, also when chromedriver, asked in the middle of the navigation, says
    the element's node "does not belong to the document" as an unknown error (seen in CI
    with chrome 156) instead of a stale element reference."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(_: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return gone


def next_page(browser: Any, act: Any, seconds: float = 60) -> None:
    """Do ``act`` and wait until the page it leads to has replaced this one."""
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element("tag name", "html")
    act()
    WebDriverWait(browser, seconds).until(_replaced(old))
    WebDriverWait(browser, seconds).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )
