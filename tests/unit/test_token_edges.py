"""Tokens at the edges of their claims' types: a time that is no time (a string, a
boolean, a number past any date) is a token refused (401), never a crash (500); a token that
says it is no access token (Keycloak's ``typ``) is refused."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from hub.errors import AuthenticationError
from hub.identity import Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.identity.tokens import TokenVerifier
from ops.usecases import HubService


def _token(settings: Settings, **changes: Any) -> str:
    claims = dev_issuer.claims_for(settings, subject="auditor-試験", role=Role.auditor)
    return dev_issuer.sign(dev_issuer.signing_key(settings), {**claims, **changes})


def _settings(tmp_path: Path) -> Settings:
    return Settings(mode="development", var_dir=tmp_path)


LATER = int(time.time()) + 600  # only ever sent as a string below: refused whatever its value
ODD_TIMES = [
    {"exp": 10**400},  # an integer no float holds
    {"exp": 2**80},  # past the year 9999
    {"exp": str(LATER)},  # a string, not a JSON number
    {"exp": True},
    {"iat": str(int(time.time()))},
    {"iat": -(10**400)},
    {"nbf": -(10**400)},
    {"nbf": "0"},
]


@pytest.mark.parametrize("changes", ODD_TIMES)
def test_a_time_claim_that_is_no_time_is_a_token_refused(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(AuthenticationError):
        TokenVerifier(settings).actor(f"Bearer {_token(settings, **changes)}")


def test_an_expiry_past_any_date_is_401_at_the_api_not_500(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings), raise_server_exceptions=False)
    token = _token(settings, exp=10**400)
    response = client.get("/audit/verify", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_token_with_ordinary_times_is_accepted(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    now = int(time.time())  # not the module's import time: a full run takes 15 minutes
    token = _token(settings, nbf=now - 5, exp=now + 600.5)
    assert TokenVerifier(settings).actor(f"Bearer {token}").role is Role.auditor


@pytest.mark.parametrize("kind", ["ID", "Refresh", "Logout", ["Bearer"]])
def test_a_token_that_says_it_is_no_access_token_is_refused(tmp_path: Path, kind: Any) -> None:
    """Keycloak's ID token names the client as audience too, and travels where an access
    token does not (the logout URL's id_token_hint): it is no bearer."""
    settings = _settings(tmp_path)
    with pytest.raises(AuthenticationError, match="not an access token"):
        TokenVerifier(settings).actor(f"Bearer {_token(settings, typ=kind)}")


@pytest.mark.parametrize("kind", ["Bearer", "at+jwt"])
def test_an_access_token_that_says_so_is_accepted(tmp_path: Path, kind: str) -> None:
    settings = _settings(tmp_path)
    assert TokenVerifier(settings).actor(f"Bearer {_token(settings, typ=kind)}").subject
