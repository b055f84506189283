"""The break-glass review page in a real headless Chromium against ``hub serve``: an auditor
signs in, finds the declaration awaiting review through the navigation, records a verdict by
keyboard alone and sees it move to the reviewed list; then the administrator finds the case's
erasure (made by ``hub privacy erase``) awaiting confirmation. The refusals and the role matrix
are tested without a browser in tests/unit/test_web_reviews.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from hub.commands import derived_id
from hub.fiscal import JST
from hub.identity import Role
from tests.api_support import Server, key, running_server
from tests.browser import (
    assert_accessible,
    choose,
    chromium,
    next_page,
    press_enter_on,
    tick,
    type_into,
)
from tests.e2e.test_web_pages import shot, sign_in, text_of

pytestmark = pytest.mark.e2e

WARD, AGENCY = "tobata", "tobata.houkatsu"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path) as running:
        yield running


def declared(server: Server) -> tuple[str, str]:
    """A case of WARD and a declaration on it naming health, through the API: their ids."""
    start = datetime.now(JST).replace(microsecond=0)
    with server.client(server.token(Role.ward_officer, ward=WARD)) as officer:
        opened = officer.post(
            "/commands/OpenCase",
            json={"occurred_at": start.isoformat(), "ward": WARD},
            headers=key(),
        )
        assert opened.status_code in (200, 201), opened.text
        case_id = str(opened.json()["aggregate_ids"][0])
        command_id = uuid4()
        declaration = officer.post(
            "/commands/DeclareEmergency",
            json={
                "occurred_at": start.isoformat(),
                "case_id": case_id,
                "agencies": [AGENCY],
                "data_categories": ["identity", "contact"],
                "reason": "安否不明（試験）",
                "expires_at": (start + timedelta(days=1)).isoformat(),
                "sensitive_categories": ["health"],
                "sensitive_reason": "持病と服薬の確認（試験）",
            },
            headers={"Idempotency-Key": str(command_id)},
        )
        assert declaration.status_code in (200, 201), declaration.text
        return case_id, str(derived_id(UUID(str(command_id)), "declaration_id"))


def test_an_auditor_reviews_an_emergency_and_sees_it_reviewed(
    server: Server, tmp_path: Path
) -> None:
    case_id, did = declared(server)
    with chromium() as browser:
        sign_in(browser, server, "auditor-試験5", "auditor", "")
        link = browser.find_element("css selector", 'nav a[href="/web/reviews"]')
        assert link.text == "緊急時提供の審査"
        next_page(browser, link.click)
        awaiting = text_of(browser, "awaiting")
        assert case_id in awaiting and "健康情報" in awaiting and "令和" in awaiting
        assert "JST" in awaiting and "officer" in awaiting
        assert browser.find_element("css selector", "#awaiting dd.declaration-id").text == did
        assert_accessible(browser)
        shot(browser, "web-reviews.png", tmp_path)

        choose(browser, f"verdict-{did}", "justified")
        type_into(browser, f"note-{did}", "試験の所見")
        # Sent without its confirmation box: said beside the box, what was chosen kept.
        press_enter_on(browser, f"review-{did}")
        said = browser.find_element("id", f"confirm-{did}-error")
        assert said.is_displayed() and "取り消せません" in said.text
        assert browser.find_element("id", f"note-{did}").get_attribute("value") == "試験の所見"
        assert_accessible(browser)
        tick(browser, f"confirm-{did}", "yes")
        press_enter_on(browser, f"review-{did}")
        assert "審査（正当（必要な提供だった））を記録しました" in browser.page_source
        assert browser.find_element("id", "none-awaiting").is_displayed()
        reviewed = text_of(browser, f"reviewed-{did}")
        assert did[:8] in reviewed and "監査担当：正当" in reviewed
        assert "いのちネット担当係長の判定待ち" in reviewed
        assert_accessible(browser)

        erase(server, case_id)
        sign_in(browser, server, "kanri-試験5", "administrator", "")
        link = browser.find_element("css selector", 'nav a[href="/web/erasures"]')
        next_page(browser, link.click)
        assert "消去 1件、未確認 1機関" in text_of(browser, "summary")
        row = text_of(browser, "erasures")
        assert case_id in row and "戸畑区 地域包括支援センター" in row and "未確認" in row
        assert_accessible(browser)


def erase(server: Server, case_id: str) -> None:
    """``hub privacy erase`` on the server's store, as an operator runs it."""
    var_dir = server.settings.var_dir
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ops.cli", "privacy", "erase", "--case", case_id),
            *("--decided-by", "試験 保健福祉局", "--reason", "保存期間満了（試験）"),
        ],
        env={
            **os.environ,
            "HUB_VAR_DIR": str(var_dir),
            "HUB_MODE": "development",
            "HUB_SQLITE_PATH": str(var_dir / "hub.sqlite"),
            "HUB_OPERATOR": "kanri-試験5",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
