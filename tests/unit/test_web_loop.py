"""A page's form does its work off the event loop: a slow store holds that one form, never
every other request of the server (the API's, /health) while it answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from ops.usecases import HubService
from tests.web_support import csrf_of, sign_in

# Seconds a held store waits at most: reached only when the form holds the event loop (the
# fault tested), as /health, which releases the store, could not be answered meanwhile.
HOLD_AT_MOST = 10.0


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/web/officer/consultation", {"window_agency": "tobata.houkatsu", "needs": "elderly"}),
        ("/web/officer/search", {"kana": "シケン", "birth_date": "", "address": ""}),
    ],
)
def test_health_is_answered_while_a_form_waits_on_a_slow_store(
    hub: tuple[HubService, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    form: dict[str, str],
) -> None:
    service, client = hub
    sign_in(client, "ward_officer", ward="tobata")
    data = {"csrf_token": csrf_of(client.get("/web/officer").text), "command_id": str(uuid4())}
    cookies = dict(client.cookies)

    released, answered = threading.Event(), threading.Event()

    def slowly(method: Any) -> Any:
        def slow(*args: Any, **kwargs: Any) -> Any:
            # A store that takes its time (a lock, a far PostgreSQL), until /health is in.
            released.wait(HOLD_AT_MOST)
            answered.set()
            return method(*args, **kwargs)

        return slow

    monkeypatch.setattr(service, "execute_stamped", slowly(service.execute_stamped))
    monkeypatch.setattr(service, "search_people", slowly(service.search_people))

    async def both() -> bool:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as browser:
            sent = asyncio.create_task(browser.post(path, data={**data, **form}))
            await asyncio.sleep(0.1)  # the form is in the store's hands
            health = await browser.get("/health")
            first = not answered.is_set()  # /health was answered while the store held on
            released.set()
            assert health.status_code == 200
            assert (await sent).status_code in (200, 303)
            return first

    assert asyncio.run(both()), "the form held the event loop: /health waited for the store"
