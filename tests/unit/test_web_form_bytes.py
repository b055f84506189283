"""A page's form as a browser sends it, and nothing else: bytes that are no UTF-8 are said
beside their field, and a form sent another way (multipart, with a file) is refused, never
kept as the U+FFFD or the "UploadFile(…)" text the form parser makes of them."""

from __future__ import annotations

import re
from urllib.parse import urlencode
from uuid import uuid4

from fastapi.testclient import TestClient

from hub.identity import Actor, Role
from ops.usecases import HubService
from ops.web.pages import NOT_UTF8
from tests.web_support import csrf_of, sign_in

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _consultation(client: TestClient) -> dict[str, str]:
    sign_in(client, "ward_officer", ward="tobata")
    return {
        "csrf_token": csrf_of(client.get("/web/officer").text),
        "command_id": str(uuid4()),
        "window_agency": "tobata.houkatsu",
        "needs": "elderly",
    }


def _officer() -> Actor:
    return Actor("officer-試験", Role.ward_officer, ward="tobata")


def test_a_name_with_bytes_that_are_no_utf8_is_said_beside_it_and_nothing_written(
    hub: tuple[HubService, TestClient],
) -> None:
    """%ED%A0%80 (a lone surrogate in UTF-8's shape) was read as U+FFFD and the case opened
    with the name '���試験'."""
    service, client = hub
    body = urlencode(_consultation(client)) + "&person_name=%ED%A0%80%E8%A9%A6%E9%A8%93"
    sent = client.post("/web/officer/consultation", content=body, headers=FORM)
    assert sent.status_code == 422, sent.text
    found = re.search(r'id="person_name-error">([^<]*)<', sent.text)
    assert found and found.group(1) == NOT_UTF8
    assert "\ufffd" not in sent.text
    assert service.cases(_officer()) == []


def test_a_form_in_utf8_is_still_taken(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    body = urlencode({**_consultation(client), "person_name": "試験 花子"})
    sent = client.post("/web/officer/consultation", content=body, headers=FORM)
    assert sent.status_code == 200, sent.text  # followed to the case page
    assert len(service.cases(_officer())) == 1


def test_a_multipart_form_with_a_file_for_a_name_is_refused_and_nothing_written(
    hub: tuple[HubService, TestClient],
) -> None:
    """The file was kept as the person's name "UploadFile(filename='x.txt', …)"."""
    service, client = hub
    files = {"person_name": ("x.txt", b"\xe8\xa9\xa6", "text/plain")}
    sent = client.post("/web/officer/consultation", data=_consultation(client), files=files)
    assert sent.status_code == 400, sent.text
    assert "application/x-www-form-urlencoded" in sent.text
    assert "UploadFile" not in sent.text
    assert service.cases(_officer()) == []


def test_a_search_with_bytes_that_are_no_utf8_is_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    form = _consultation(client)
    body = f"csrf_token={form['csrf_token']}&kana=%FF&birth_date=&address="
    sent = client.post("/web/officer/search", content=body, headers=FORM)
    assert sent.status_code == 400, sent.text
    assert NOT_UTF8 in sent.text


def test_a_development_sign_in_whose_subject_is_no_utf8_is_said_beside_it(
    hub: tuple[HubService, TestClient],
) -> None:
    """The subject was read as '��' and the browser signed in as it."""
    _, client = hub
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', client.get("/web/signin").text)
    assert token
    body = f"csrf_token={token.group(1)}&subject=%FF%FE&role=auditor"
    sent = client.post("/web/signin/dev", content=body, headers=FORM, follow_redirects=False)
    assert sent.status_code == 422, sent.text
    found = re.search(r'id="subject-error">([^<]*)<', sent.text)
    assert found and found.group(1) == NOT_UTF8
