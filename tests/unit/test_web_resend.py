"""A form sent again (a double click, a reload after the POST, back then submit): the command
is applied once and the person lands where the first sending took them, never on an error
page. Without a browser, over a real SQLite store."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ops.usecases import HubService
from ops.web.pages import RESENT_CHANGED
from tests.web_support import csrf_of, sign_in

WARD = "tobata"


def test_a_consultation_sent_twice_opens_one_case_and_both_land_on_it(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    form = re.search(r'action="/web/officer/consultation">(.*?)</form>', page, re.S)
    assert form
    command_id = re.search(r'name="command_id" value="([^"]+)"', form.group(1))
    assert command_id
    consultation = {
        "csrf_token": csrf_of(page),
        "command_id": command_id.group(1),
        "window_agency": f"{WARD}.houkatsu",
        "needs": ["elderly"],
        "person_name": "試験 花子",
    }
    first = client.post("/web/officer/consultation", data=consultation, follow_redirects=False)
    head = service.app.recorder.max_notification_id()
    again = client.post("/web/officer/consultation", data=consultation, follow_redirects=False)
    assert first.status_code == again.status_code == 303, again.text[:300]
    assert again.headers["location"] == first.headers["location"]
    assert service.app.recorder.max_notification_id() == head  # nothing written again
    assert client.get(again.headers["location"]).status_code == 200


def test_a_form_sent_again_with_other_choices_is_refused_in_japanese_and_writes_nothing(
    hub: tuple[HubService, TestClient],
) -> None:
    """Its command id was used already for what was sent first: the page said so with the
    hub's English line ('IdempotencyConflictError: command_id … was already used …')."""
    service, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    consultation = {
        "csrf_token": csrf_of(page),
        "command_id": "6f1c3a52-0d4e-4c1b-9a57-2b7f1e0c9d31",
        "window_agency": f"{WARD}.houkatsu",
        "needs": ["elderly"],
        "person_name": "試験 花子",
    }
    first = client.post("/web/officer/consultation", data=consultation, follow_redirects=False)
    assert first.status_code == 303
    head = service.app.recorder.max_notification_id()
    other = {**consultation, "needs": ["disability"]}
    again = client.post("/web/officer/consultation", data=other, follow_redirects=False)
    assert again.status_code == 422
    error = re.search(r'id="form-error"[^>]*>([^<]*)<', again.text)
    assert error is not None
    assert error.group(1) == RESENT_CHANGED
    assert service.app.recorder.max_notification_id() == head
