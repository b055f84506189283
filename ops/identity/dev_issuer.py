"""A local OIDC-style issuer for development and tests only: refused in production.

It signs tokens with an RSA key kept in ``<var>/oidc/`` (created on first use, 0600) and
publishes the public half as a JWKS file that the verifier and ``hub serve`` read.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.errors import ConfigurationError
from hub.files import private_file
from hub.identity import Role
from hub.settings import Settings

KEY_FILE = "dev-signing-key.pem"
JWKS_FILE = "jwks.json"


def _dir(settings: Settings) -> Path:
    return settings.var_dir / "oidc"


def jwks_path(settings: Settings) -> Path:
    return _dir(settings) / JWKS_FILE


def refuse_in_production(settings: Settings) -> None:
    if settings.mode == "production":
        raise ConfigurationError(
            "the development token issuer is refused in production (HUB_MODE=production)"
        )


class LocalKeys:
    """The development issuer's JWKS read from its file (re-read when it changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: tuple[float, jwt.PyJWKSet] | None = None

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys().keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key {kid!r} in the development JWKS")

    def _keys(self) -> jwt.PyJWKSet:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            raise jwt.PyJWKClientError("the development issuer has no keys yet") from None
        if self._loaded is None or self._loaded[0] != mtime:
            self._loaded = (mtime, jwt.PyJWKSet.from_json(self.path.read_text()))
        return self._loaded[1]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(*keys: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The public JWKS of private keys, each with its key id."""
    return {
        "keys": [
            {
                **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())),
                "kid": key_id(k),
                "use": "sig",
                "alg": "RS256",
            }
            for k in keys
        ]
    }


def key_id(key: rsa.RSAPrivateKey) -> str:
    numbers = key.public_key().public_numbers()
    return uuid.uuid5(uuid.NAMESPACE_OID, f"{numbers.n:x}").hex[:16]


def signing_key(settings: Settings) -> rsa.RSAPrivateKey:
    """The issuer's key, created with its JWKS file on first use."""
    refuse_in_production(settings)
    path = _dir(settings) / KEY_FILE
    if not path.exists():
        settings.private_var_dir("oidc")
        key = new_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        private_file(jwks_path(settings)).write_text(json.dumps(jwks_of(key)))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{path} is not an RSA key")
    jwks = jwks_path(settings)
    missing = not jwks.exists()
    private_file(jwks)  # 0600 like every file under var/, one an earlier version left 0644 too
    if missing:
        jwks.write_text(json.dumps(jwks_of(loaded)))
    return loaded


def sign(
    key: rsa.RSAPrivateKey,
    claims: dict[str, Any],
) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(key)})


def claims_for(
    settings: Settings,
    *,
    subject: str,
    role: Role,
    ward: str | None = None,
    agency_id: str | None = None,
    minutes: int = 60,
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.oidc_issuer,
        "aud": settings.oidc_audience,
        "sub": subject,
        "iat": now,
        "exp": now + minutes * 60,
        "role": role.value,
        # Each token its own, as a provider's are: a sign-in in the second a sign-out of the
        # same person ended its token is a new session, not that ended token again.
        "jti": uuid.uuid4().hex,
    }
    if ward:
        claims["ward"] = ward
    if agency_id:
        claims["agency_id"] = agency_id
    return claims


def issue(
    settings: Settings,
    *,
    subject: str,
    role: Role,
    ward: str | None = None,
    agency_id: str | None = None,
    minutes: int = 60,
) -> str:
    """A token of the development issuer (refused in production)."""
    key = signing_key(settings)
    claims = claims_for(
        settings, subject=subject, role=role, ward=ward, agency_id=agency_id, minutes=minutes
    )
    return sign(key, claims)
