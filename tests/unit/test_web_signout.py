"""Signing out ends the session: the cookie's token is refused afterwards, by the pages
(a copy of the cookie, a form with the old CSRF token) and by the API (the same token as a
bearer), and no read of a person's details is recorded in its name."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from fastapi.testclient import TestClient

from hub.errors import AuthenticationError
from hub.identity import Actor, Role
from hub.settings import Settings
from ops.identity import dev_issuer
from ops.identity.tokens import TokenVerifier
from ops.usecases import HubService
from ops.web.session import COOKIE
from tests import factories as f
from tests.web_support import csrf_of, sign_in

WARD = "tobata"


def test_a_signed_out_session_is_refused_by_the_pages_and_the_api(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(Actor("officer-試験", Role.ward_officer, ward=WARD), case)
    sign_in(client, "ward_officer", ward=WARD)
    token = client.cookies[COOKIE]
    csrf = csrf_of(client.get(f"/web/cases/{case.case_id}").text)

    out = client.post("/web/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/signin"
    reads = len(service.access(Actor("auditor-試験", Role.auditor)))

    client.cookies.clear()
    client.cookies.set(COOKIE, token)  # the cookie kept (a copy, a shared PC's browser)
    page = client.get(f"/web/cases/{case.case_id}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/web/signin"
    person = client.post(
        f"/web/cases/{case.case_id}/person",
        data={"csrf_token": csrf, "read_purpose": "consultation"},
        follow_redirects=False,
    )
    assert person.status_code == 401, person.text
    client.cookies.clear()
    api = client.get(
        f"/cases/{case.case_id}/person",
        params={"purpose": "consultation"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 401, api.text
    assert len(service.access(Actor("auditor-試験", Role.auditor))) == reads


def test_signing_out_ends_that_session_only(hub: tuple[HubService, TestClient]) -> None:
    _, client = hub
    sign_in(client, "coordinator", ward=WARD)
    other = client.cookies[COOKIE]
    sign_in(client, "ward_officer", ward=WARD)
    csrf = csrf_of(client.get("/web/officer").text)
    assert client.post("/web/signout", data={"csrf_token": csrf}).status_code == 200
    client.cookies.clear()
    client.cookies.set(COOKIE, other)
    assert client.get("/web/coordinator", follow_redirects=False).status_code == 200


def test_signing_in_again_in_the_second_of_signing_out_is_a_new_session(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = hub
    moment = time.time()
    monkeypatch.setattr(dev_issuer, "time", SimpleNamespace(time=lambda: moment))
    sign_in(client, "ward_officer", ward=WARD)
    csrf = csrf_of(client.get("/web/officer").text)
    assert client.post("/web/signout", data={"csrf_token": csrf}).status_code == 200
    sign_in(client, "ward_officer", ward=WARD)
    assert client.get("/web/officer", follow_redirects=False).status_code == 200


class _Away:
    """The provider's JWKS endpoint, unreachable."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        raise jwt.PyJWKClientConnectionError("the identity provider is away")


def test_a_token_verified_before_is_ended_while_the_providers_keys_cannot_be_fetched(
    tmp_path: Path,
) -> None:
    settings = Settings(mode="development", var_dir=tmp_path)
    verifier = TokenVerifier(settings)
    token = dev_issuer.issue(settings, subject="officer-試験", role=Role.ward_officer, ward=WARD)
    verifier.actor(f"Bearer {token}")
    keys = verifier.keys
    verifier.keys = _Away()
    verifier.end(token)
    verifier.keys = keys  # back again: the ended token stays refused
    with pytest.raises(AuthenticationError, match="signed out"):
        verifier.actor(f"Bearer {token}")


def test_signing_out_in_a_second_tab_after_the_first_is_the_sign_in_page_not_a_refusal(
    hub: tuple[HubService, TestClient],
) -> None:
    """Two tabs of the pages: サインアウト in the first, then in the second (its page drawn
    while signed in). The browser holds no session any more: there is nothing to end."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)
    csrf = csrf_of(client.get("/web/officer").text)  # both tabs drew the same token
    first = client.post("/web/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert first.status_code == 303 and COOKIE not in client.cookies
    second = client.post("/web/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert second.status_code == 303 and second.headers["location"] == "/web/signin"
