"""Bearer tokens to actors: signature, expiry, issuer and audience checked by PyJWT.

The keys come from the provider's JWKS (``HUB_OIDC_JWKS_URL``), fetched and cached by
``PyJWKClient``; in development an empty URL means the local issuer's JWKS file. Claims map
to an ``Actor``: ``sub``; the role from ``role`` (or one hub role among Keycloak's
``realm_access.roles``); the scope from ``ward`` and ``agency_id``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any, Protocol

import jwt

from hub.errors import AuthenticationError, ConfigurationError, InvalidActorError
from hub.identity import Actor, Role
from hub.settings import DEV_OIDC_ISSUER, Settings
from ops.identity import dev_issuer
from ops.identity.provider_keys import REFRESH_S, ProviderKeys

ALGORITHMS = ["RS256", "ES256"]  # asymmetric only: a shared secret would be a password store
ROLES = frozenset(role.value for role in Role)
# The roles a person can hold at the city's identity provider. ``operator`` (the CLI's
# configured operator) and ``system`` (the hub's own processes) act without a ward or agency
# scope: a token naming either is refused in production; development keeps them so tests and
# the benchmark can seed data of every kind through one door.
PERSON_ROLES = ROLES - {Role.operator.value, Role.system.value}
CACHE_SIZE = 1024  # verified tokens kept until they expire
# A NumericDate (RFC 7519) is a JSON number of seconds since 1970; a provider's times lie
# between then and the last second of 9999. Anything else (a string, a boolean, a number
# past any date) is no time of a real provider, and would not fit a float.
TIMES = ("exp", "iat", "nbf")
LATEST = 253402300799  # 9999-12-31T23:59:59Z
# Keycloak marks what a token is in its ``typ`` claim: an ID token ("ID") names the client as
# its audience too, and travels where an access token never does (the logout URL's
# id_token_hint, the browser); only an access token is a bearer here.
ACCESS_TYPES = frozenset({"Bearer", "at+jwt"})


class KeySource(Protocol):
    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


def production(settings: Settings) -> bool:
    return settings.mode == "production"


def check_identity_settings(settings: Settings) -> None:
    """Refuse development identity settings in production (the dev issuer, no JWKS URL)."""
    if not production(settings):
        return
    if not settings.oidc_jwks_url:
        raise ConfigurationError(
            "HUB_OIDC_JWKS_URL is not set: production needs the city's identity provider"
        )
    if not settings.oidc_jwks_url.startswith("https://"):
        raise ConfigurationError("HUB_OIDC_JWKS_URL must be an https:// URL in production")
    if settings.oidc_issuer == DEV_OIDC_ISSUER:
        raise ConfigurationError(
            "HUB_OIDC_ISSUER is the development issuer: set the city's provider in production"
        )
    for name, value in (("ISSUER", settings.oidc_issuer), ("AUDIENCE", settings.oidc_audience)):
        if not value.strip():  # only tokens whose own claim is empty would match it
            raise ConfigurationError(f"HUB_OIDC_{name} is empty: production names the city's")


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        check_identity_settings(settings)
        # token -> (actor, its exp, verified again after): a verification is kept no longer
        # than the provider's keys are (a key removed from the JWKS stops its tokens too).
        self._verified: dict[str, tuple[Actor, float, float]] = {}
        self._ended: dict[bytes, float] = {}  # tokens signed out of, until they expire
        self._lock = threading.Lock()
        self.roles = PERSON_ROLES if production(settings) else ROLES
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.keys: KeySource = (
            ProviderKeys(settings.oidc_jwks_url)
            if settings.oidc_jwks_url
            else dev_issuer.LocalKeys(dev_issuer.jwks_path(settings))
        )

    def actor(self, authorization: str | None) -> Actor:
        """The actor of an ``Authorization: Bearer …`` header, or AuthenticationError."""
        if not authorization:
            raise AuthenticationError("no bearer token (Authorization: Bearer …)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header is not a bearer token")
        token = token.strip()
        if _digest(token) in self._ended:
            raise AuthenticationError("the session of this token was signed out")
        cached = self._verified.get(token)
        if cached is not None and min(cached[1], cached[2]) > time.time():
            return cached[0]
        claims = self.claims(token)
        actor = actor_from_claims(claims, self.roles)
        # A token's signature is checked once per REFRESH_S; until then (or its expiry) the
        # same string is the same verified claims (a client sends it on every request).
        with self._lock:
            if len(self._verified) >= CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            # Kept no longer than the keys that verified it count (a key rotated out).
            trusted = getattr(self.keys, "trusted_for", lambda: REFRESH_S)()
            self._verified[token] = (actor, float(claims["exp"]), time.time() + trusted)
        return actor

    def end(self, token: str) -> None:
        """Sign out of ``token``: from now on the pages and the API refuse it, until it
        expires. Held by this process (``hub serve`` is one): a restart forgets it."""
        cached = self._verified.get(token)  # verified when the page was drawn: no fetch
        try:
            expires = cached[1] if cached else float(self.claims(token)["exp"])
        except AuthenticationError:
            return  # refused already: nothing to end
        with self._lock:
            moment = time.time()
            for digest in [d for d, until in self._ended.items() if until <= moment]:
                del self._ended[digest]
            self._ended[_digest(token)] = expires
            self._verified.pop(token, None)

    def claims(self, token: str) -> dict[str, Any]:
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            algorithm = jwt.get_unverified_header(token).get("alg")
            # The key decides the algorithm, never the token: an ES256 header on the RSA key's
            # id (or any other pairing) is refused before the key is used.
            if algorithm not in ALGORITHMS or algorithm != key.algorithm_name:
                raise AuthenticationError("the token's algorithm is not its key's")
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the token is not for this audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("the token is from another issuer") from None
        except jwt.PyJWKClientConnectionError:
            raise AuthenticationError("the identity provider's keys cannot be fetched") from None
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            # Whatever else decoding an attacker's token raises is a token not accepted.
            raise AuthenticationError(f"the token is not valid ({type(error).__name__})") from None
        for name in TIMES:
            if name in claims and not _numeric_date(claims[name]):
                raise AuthenticationError(f"the token's {name} is not a time (NumericDate)")
        kind = claims.get("typ", "Bearer")
        if not isinstance(kind, str) or kind not in ACCESS_TYPES:
            raise AuthenticationError("the token is not an access token (claim 'typ')")
        return claims


def _numeric_date(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value <= LATEST  # NaN is neither; an integer of any size compares


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def actor_from_claims(claims: dict[str, Any], roles: frozenset[str] = PERSON_ROLES) -> Actor:
    """The actor a verified token names; a role outside ``roles`` is refused."""
    role = claims.get("role")
    if role is None:
        realm = claims.get("realm_access")
        granted = realm.get("roles") if isinstance(realm, dict) else None
        known = [r for r in granted if r in roles] if isinstance(granted, list) else []
        role = known[0] if len(known) == 1 else None
    if not isinstance(role, str) or role not in roles:
        raise AuthenticationError("the token names no hub role (claim 'role')")
    ward, agency = claims.get("ward"), claims.get("agency_id")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise AuthenticationError("the token has no subject")
    try:
        return Actor(
            subject=claims["sub"],
            role=Role(role),
            ward=ward if isinstance(ward, str) and ward else None,
            agency_id=agency if isinstance(agency, str) and agency else None,
        )
    except InvalidActorError as error:
        raise AuthenticationError(f"the token names no usable actor ({error})") from None
