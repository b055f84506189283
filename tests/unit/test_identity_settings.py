"""Development identity is refused in production: the local issuer, its JWKS route, an
unset or plain-http JWKS URL, the development issuer name."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub.errors import AuthenticationError, ConfigurationError
from hub.identity import Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.cli.main import app as cli
from ops.identity import dev_issuer
from ops.identity.tokens import TokenVerifier, actor_from_claims
from ops.usecases import HubService

CITY = {
    "oidc_issuer": "https://idp.city.example.invalid/realms/hub",
    "oidc_jwks_url": "https://idp.city.example.invalid/realms/hub/certs",
}


def _production(**values: Any) -> Settings:
    return Settings(mode="production", **values)


def test_the_development_issuer_refuses_to_sign_in_production(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="refused in production"):
        dev_issuer.issue(_production(var_dir=tmp_path), subject="x-試験", role=Role.administrator)
    assert not (tmp_path / "oidc").exists(), "no key may be created in production"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({}, "HUB_OIDC_JWKS_URL is not set"),
        ({**CITY, "oidc_jwks_url": "http://idp.example.invalid/certs"}, "https://"),
        ({"oidc_jwks_url": CITY["oidc_jwks_url"]}, "development issuer"),
        # Empty, only a token whose own claim is empty would match (a review's attack).
        ({**CITY, "oidc_issuer": ""}, "HUB_OIDC_ISSUER is empty"),
        ({**CITY, "oidc_audience": " "}, "HUB_OIDC_AUDIENCE is empty"),
    ],
)
def test_production_needs_the_citys_provider(values: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        TokenVerifier(_production(**values))


def test_production_serves_no_development_jwks() -> None:
    app = create_app(cast(HubService, None), _production(**CITY))
    paths = {getattr(route, "path", "") for route in app.routes}
    assert "/dev/oidc/jwks.json" not in paths
    development = create_app(cast(HubService, None), Settings(mode="development"))
    assert "/dev/oidc/jwks.json" in {getattr(r, "path", "") for r in development.routes}


def test_the_development_jwks_is_served_before_any_token_was_issued(
    tmp_path: Any,
) -> None:
    """README: `hub serve` publishes the development issuer's public key; it answered 404
    until a first `hub dev token` or development sign-in had made the key."""
    from fastapi.testclient import TestClient

    from ops.identity import dev_issuer

    settings = Settings(mode="development", var_dir=tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings))
    answer = client.get("/dev/oidc/jwks.json")
    assert answer.status_code == 200, answer.text
    (key,) = answer.json()["keys"]
    assert key["kid"] == dev_issuer.key_id(dev_issuer.signing_key(settings))
    assert "d" not in key  # the public half only
    assert oct((tmp_path / "oidc" / dev_issuer.KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_hub_dev_token_and_hub_serve_refuse_in_production(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "production")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    from hub.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        token = runner.invoke(cli, ["dev", "token", "--role", "operator", "--subject", "x"])
        assert token.exit_code == 1
        assert "refused in production" in token.output
        serve = runner.invoke(cli, ["serve", "--port", "1"])
        assert serve.exit_code == 1
        assert "HUB_OIDC_JWKS_URL" in serve.output
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--subject", " "], "--subject: name who the token is for"),
        (["--subject", "x", "--ward", "tobato"], "--ward: unknown value 'tobato'; did you mean"),
        (["--subject", "x", "--agency", "tobata.houkatu"], "--agency: unknown value"),
    ],
)
def test_hub_dev_token_refuses_a_token_no_route_would_take(
    cli_store: Any, monkeypatch: pytest.MonkeyPatch, options: list[str], said: str
) -> None:
    """A blank subject, or a ward or agency the network lacks, made a token that every route
    refused with a 403 that did not say why."""
    monkeypatch.setenv("HUB_MODE", "development")
    from hub.settings import get_settings

    get_settings.cache_clear()
    refused = CliRunner().invoke(cli, ["dev", "token", "--role", "ward_officer", *options])
    assert refused.exit_code == 2, refused.output
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"Error: {said}"), line


def test_hub_dev_token_prints_a_token_the_verifier_accepts(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    from hub.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli,
            [
                "dev",
                "token",
                "--role",
                "ward_officer",
                "--subject",
                "officer-1",
                "--ward",
                "tobata",
            ],
        )
        assert result.exit_code == 0, result.output
        actor = TokenVerifier(get_settings()).actor(f"Bearer {result.output.strip()}")
    finally:
        get_settings.cache_clear()
    assert (actor.subject, actor.role, actor.ward) == ("officer-1", Role.ward_officer, "tobata")
    assert oct((tmp_path / "oidc" / dev_issuer.KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_a_keycloak_realm_role_maps_to_the_hub_role() -> None:
    claims = {"sub": "kc-user-1", "realm_access": {"roles": ["offline_access", "auditor"]}}
    assert actor_from_claims(claims).role is Role.auditor
    two = {"sub": "kc-user-2", "realm_access": {"roles": ["auditor", "analyst"]}}
    with pytest.raises(AuthenticationError, match="no hub role"):
        actor_from_claims(two)


def test_scope_claims_of_the_wrong_type_grant_no_scope() -> None:
    claims = {"sub": "x-1", "role": "ward_officer", "ward": ["tobata"], "agency_id": 7}
    actor = actor_from_claims(claims)
    assert actor.ward is None and actor.agency_id is None


def test_a_subject_the_hub_cannot_record_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="no usable actor"):
        actor_from_claims({"sub": " padded ", "role": "auditor"})


@pytest.mark.parametrize("role", ["operator", "system"])
def test_a_token_naming_the_operator_or_a_system_process_is_refused_in_production(
    role: str,
) -> None:
    """Both would act with no ward or agency scope; only a person's role passes the door."""
    with pytest.raises(AuthenticationError, match="no hub role"):
        actor_from_claims({"sub": "attacker-1", "role": role})
    with pytest.raises(AuthenticationError, match="no hub role"):
        actor_from_claims({"sub": "attacker-2", "realm_access": {"roles": [role]}})


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "odd-1", "realm_access": ["auditor"]},
        {"sub": "odd-2", "realm_access": {"roles": "auditor"}},
        {"sub": "odd-3", "role": ["auditor"]},
        {"sub": "odd-4", "role": {"name": "auditor"}},
    ],
)
def test_oddly_shaped_role_claims_are_refused_not_a_crash(claims: dict[str, object]) -> None:
    with pytest.raises(AuthenticationError, match="no hub role"):
        actor_from_claims(claims)


def test_the_dev_issuers_folders_are_private_whatever_the_umask(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"  # not there yet: `hub dev token` may be the first to make it
    settings = Settings(mode="development", var_dir=var)
    old = os.umask(0)
    try:
        dev_issuer.signing_key(settings)
    finally:
        os.umask(old)
    assert oct(var.stat().st_mode & 0o777) == "0o700"
    assert oct((var / "oidc").stat().st_mode & 0o777) == "0o700"
    assert oct((var / "oidc" / dev_issuer.KEY_FILE).stat().st_mode & 0o777) == "0o600"


def test_production_serves_no_page_that_runs_a_cdns_scripts() -> None:
    """/docs and /redoc load Swagger UI and ReDoc from a CDN: in production that code would
    run on the origin of the signed-in pages. The OpenAPI document itself stays."""
    production = TestClient(create_app(cast(HubService, None), _production(**CITY)))
    assert production.get("/docs").status_code == 404
    assert production.get("/redoc").status_code == 404
    assert production.get("/openapi.json").status_code == 200
    development = TestClient(create_app(cast(HubService, None), Settings(mode="development")))
    assert development.get("/docs").status_code == 200
