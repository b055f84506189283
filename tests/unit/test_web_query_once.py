"""A page's address that gives a parameter twice is refused, as the API refuses it: the page
showed the last value, where a link, a bookmark or a log read later may be taken for the
first."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ops.usecases import HubService
from tests.web_support import hub, sign_in

__all__ = ["hub"]  # the fixture


@pytest.mark.parametrize(
    ("role", "ward", "address", "name"),
    [
        ("analyst", "", "/web/analysis?fy=2025&fy=2026", "fy"),
        ("auditor", "", "/web/audit?as_of=2025-05-01&to=2025-06-01&as_of=2025-05-02", "as_of"),
        ("ward_officer", "tobata", "/web/officer?kana=a&kana=b", "kana"),
        ("analyst", "", "/web/analysis?%E6%B0%8F=1&%E6%B0%8F=2", "（項目名）"),
    ],
)
def test_a_parameter_given_twice_is_refused_on_a_japanese_page_naming_it(
    hub: tuple[HubService, TestClient], role: str, ward: str, address: str, name: str
) -> None:
    _, client = hub
    sign_in(client, role, ward=ward)

    page = client.get(address)

    assert page.status_code == 400, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert f"アドレスの項目 {name} が2回以上指定されています" in page.text


def test_a_parameter_given_once_each_is_drawn_and_the_api_still_says_problem_json(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    sign_in(client, "analyst")
    assert client.get("/web/analysis?fy=2025").status_code == 200

    refused = client.get("/indicators?fy=2025&fy=2026")
    assert refused.headers["content-type"].startswith("application/problem+json")
