"""Bearer tokens at the real server: anything but a valid token of the configured issuer,
for this audience, signed by its key and not expired, is 401."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hub.identity import Role
from ops.identity import dev_issuer
from tests.api_support import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(Path(tmp_path_factory.mktemp("api-identity"))) as running:
        yield running


def _claims(server: Server, **changes: object) -> dict[str, object]:
    claims = dev_issuer.claims_for(server.settings, subject="auditor-試験", role=Role.auditor)
    return {**claims, **changes}


def _status(server: Server, token: str) -> int:
    with server.client(token) as client:
        response = client.get("/audit/verify")
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    return response.status_code


def _signed(server: Server, **changes: object) -> str:
    return dev_issuer.sign(dev_issuer.signing_key(server.settings), _claims(server, **changes))


def test_a_valid_token_is_accepted(server: Server) -> None:
    assert _status(server, _signed(server)) == 200


def test_an_expired_token_is_401(server: Server) -> None:
    past = int(time.time()) - 3600
    assert _status(server, _signed(server, iat=past - 60, exp=past)) == 401


def test_a_token_for_another_audience_is_401(server: Server) -> None:
    assert _status(server, _signed(server, aud="another-service")) == 401


def test_a_token_of_another_issuer_is_401(server: Server) -> None:
    assert _status(server, _signed(server, iss="https://idp.example.invalid/realms/x")) == 401


def test_a_token_signed_with_another_key_is_401(server: Server) -> None:
    other = dev_issuer.new_key()
    assert _status(server, dev_issuer.sign(other, _claims(server))) == 401


def test_a_token_with_the_right_kid_but_another_key_is_401(server: Server) -> None:
    real = dev_issuer.signing_key(server.settings)
    forged = jwt.encode(
        _claims(server),
        dev_issuer.new_key(),
        algorithm="RS256",
        headers={"kid": dev_issuer.key_id(real)},
    )
    assert _status(server, forged) == 401


def test_an_unsigned_token_is_401(server: Server) -> None:
    unsigned = jwt.encode(_claims(server), key=None, algorithm="none")
    assert _status(server, unsigned) == 401


def test_a_token_without_expiry_is_401(server: Server) -> None:
    claims = _claims(server)
    del claims["exp"]
    token = dev_issuer.sign(dev_issuer.signing_key(server.settings), claims)
    assert _status(server, token) == 401


def test_garbage_and_other_schemes_are_401(server: Server) -> None:
    assert _status(server, "not-a-token") == 401
    with server.client() as client:
        basic = client.get("/audit/verify", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status_code == 401


def test_the_development_jwks_is_served_locally(server: Server) -> None:
    with server.client() as client:
        keys = client.get("/dev/oidc/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [dev_issuer.key_id(dev_issuer.signing_key(server.settings))]
    assert all("d" not in k for k in keys), "the JWKS must hold public keys only"


def test_a_token_accepted_once_is_refused_once_it_has_expired(server: Server) -> None:
    soon = int(time.time()) + 2
    token = _signed(server, exp=soon)
    assert _status(server, token) == 200
    time.sleep(max(0.0, soon - time.time()) + 1.0)
    assert _status(server, token) == 401


def _on_the_rsa_kid_as_es256(server: Server, **changes: object) -> str:
    """The attacker's token: signed with its own EC key, its header saying ES256 under the
    key id of the provider's RSA key (PyJWT would hand the RSA key to the EC verifier)."""
    real = dev_issuer.signing_key(server.settings)
    return jwt.encode(
        _claims(server, **changes),
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": dev_issuer.key_id(real)},
    )


def test_a_token_whose_algorithm_is_not_its_keys_is_401_not_500(server: Server) -> None:
    forged = _on_the_rsa_kid_as_es256(server)
    assert _status(server, forged) == 401
    with server.client(forged) as client:
        cases = client.get("/cases")
    assert cases.status_code == 401, cases.text
    assert cases.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in cases.text and "PEM" not in cases.text


def test_the_pages_send_a_token_whose_algorithm_is_not_its_keys_to_sign_in(
    server: Server,
) -> None:
    forged = _on_the_rsa_kid_as_es256(server, role=Role.ward_officer.value, ward="tobata")
    with httpx.Client(base_url=server.url, cookies={"hub_session": forged}) as client:
        page = client.get("/web/officer")
    assert page.status_code == 303, page.text
    assert page.headers["location"] == "/web/signin"
