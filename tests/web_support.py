"""The web pages without a browser, for unit tests: the app over a real SQLite store in a
test client, a development sign-in as any role, and a page's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hub.settings import Settings
from ops.api.app import create_app
from ops.usecases import HubService
from ops.wiring import open_service


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubService, TestClient]]:
    """The service and a client of its app (a server error is answered, not raised)."""
    settings = Settings(mode="development", var_dir=tmp_path, sqlite_path=tmp_path / "hub.sqlite")
    service = open_service(settings)
    try:
        yield service, TestClient(create_app(service, settings), raise_server_exceptions=False)
    finally:
        service.close()


def sign_in(client: TestClient, role: str, ward: str = "", agency: str = "") -> None:
    client.cookies.clear()
    page = client.get("/web/signin")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert token
    form = {"subject": f"{role}-試験", "role": role, "ward": ward, "agency": agency}
    signed = client.post(
        "/web/signin/dev", data={**form, "csrf_token": token.group(1)}, follow_redirects=False
    )
    assert signed.status_code == 303, signed.text


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page draws no CSRF token"
    return found.group(1)


def ticked(box: str) -> dict[str, str]:
    """A form's confirmation box as a browser sends it once ticked (``ops.web.confirm``):
    the forms of steps that cannot be undone ask for it."""
    return {box: "yes"}


def focused(page: str) -> str:
    """The one control of ``page`` that takes the focus as it loads (``autofocus``): its tag."""
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*\sautofocus[^>]*>", page)
    assert len(tags) == 1, f"{len(tags)} controls take the focus: {tags}"
    return tags[0]


def consent_form(page: str, ward: str = "tobata", **fields: str) -> dict[str, str]:
    """The case page's consent form as a ward officer sends it (a year from 1 December
    2026, for the ward's 地域包括支援センター), with ``fields`` changed or added."""
    return {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "scope": f"{ward}.houkatsu",
        "purposes": "consultation",
        "data_categories": "identity",
        "valid_from": "2026-12-01",
        "valid_until": "2027-11-30",
        **fields,
    }


def officer_case(service: HubService, client: TestClient, ward: str = "tobata") -> tuple[UUID, str]:
    """A case opened in ``ward``, the client signed in as that ward's officer, and the case
    page it is shown."""
    from hub.identity import Actor, Role
    from tests import factories as f

    case = f.open_case(ward=ward)
    service.execute(Actor("officer-試験", Role.ward_officer, ward=ward), case)
    sign_in(client, "ward_officer", ward=ward)
    return case.case_id, client.get(f"/web/cases/{case.case_id}").text
