"""The provider's keys over time (ops/identity/provider_keys.py), with a fake JWKS endpoint
and a fake clock: a key removed from the JWKS stops being trusted, a key rotated in is
trusted at once, a short outage is ridden out on the last set, a long one is not."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from hub.errors import AuthenticationError
from hub.identity import Role
from hub.settings import Settings
from ops.identity import dev_issuer, tokens
from ops.identity.provider_keys import COOLDOWN_S, REFRESH_S, STALE_S, ProviderKeys
from ops.identity.tokens import TokenVerifier

CITY = Settings(
    mode="development",
    oidc_issuer="https://idp.city.example.invalid/realms/hub",
    oidc_jwks_url="https://idp.city.example.invalid/realms/hub/certs",
)


class Provider:
    """The JWKS endpoint: its keys, whether it answers (or answers garbage), and how often
    it was asked."""

    def __init__(self, *keys: Any) -> None:
        self.keys = list(keys)
        self.away = False
        self.garbage: Any = None
        self.fetches = 0

    def fetch(self) -> Any:
        self.fetches += 1
        if self.away:
            raise jwt.PyJWKClientConnectionError("the provider is away")
        if self.garbage is not None:
            return self.garbage
        return dev_issuer.jwks_of(*self.keys)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token(key: Any) -> str:
    claims = dev_issuer.claims_for(CITY, subject="officer-試験", role=Role.ward_officer)
    return dev_issuer.sign(key, {**claims, "ward": "tobata"})


@pytest.fixture
def setup() -> tuple[Provider, Clock, ProviderKeys]:
    provider, clock = Provider(dev_issuer.new_key()), Clock()
    return provider, clock, ProviderKeys("", fetch=provider.fetch, clock=clock)


def test_a_key_removed_from_the_jwks_is_trusted_no_more_after_a_refresh(
    setup: tuple[Provider, Clock, ProviderKeys],
) -> None:
    provider, clock, keys = setup
    old = provider.keys[0]
    assert keys.get_signing_key_from_jwt(token(old)).key_id == dev_issuer.key_id(old)
    provider.keys = [dev_issuer.new_key()]  # rotated out (say, after a compromise)
    clock.now += REFRESH_S - 1
    keys.get_signing_key_from_jwt(token(old))  # still the set fetched 299 s ago
    clock.now += 1
    with pytest.raises(jwt.PyJWKClientError, match="no key"):
        keys.get_signing_key_from_jwt(token(old))


def test_a_key_rotated_in_is_trusted_at_once_and_made_up_ids_cannot_hammer_the_provider(
    setup: tuple[Provider, Clock, ProviderKeys],
) -> None:
    provider, clock, keys = setup
    keys.get_signing_key_from_jwt(token(provider.keys[0]))
    fresh = dev_issuer.new_key()
    provider.keys.append(fresh)
    assert keys.get_signing_key_from_jwt(token(fresh)).key_id == dev_issuer.key_id(fresh)
    asked = provider.fetches
    for _ in range(5):  # an attacker's key ids: one early fetch per cooldown at most
        with pytest.raises(jwt.PyJWKClientError):
            keys.get_signing_key_from_jwt(token(dev_issuer.new_key()))
    assert provider.fetches == asked
    clock.now += COOLDOWN_S
    with pytest.raises(jwt.PyJWKClientError):
        keys.get_signing_key_from_jwt(token(dev_issuer.new_key()))
    assert provider.fetches == asked + 1


@pytest.mark.parametrize("failure", ["away", "no keys", "not an object"])
def test_a_short_outage_is_ridden_out_on_the_last_set_a_long_one_is_not(
    setup: tuple[Provider, Clock, ProviderKeys], failure: str
) -> None:
    """A provider away, or answering with no usable key set, is asked again once a
    cooldown, not on every request (each ask may wait for a fetch's timeout)."""
    provider, clock, keys = setup
    signed = token(provider.keys[0])
    keys.get_signing_key_from_jwt(signed)
    if failure == "away":
        provider.away = True
    else:
        provider.garbage = {"keys": []} if failure == "no keys" else ["not", "an", "object"]
    clock.now += REFRESH_S
    asked = provider.fetches
    for _ in range(100):
        keys.get_signing_key_from_jwt(signed)
    assert provider.fetches == asked + 1
    clock.now += COOLDOWN_S
    keys.get_signing_key_from_jwt(signed)
    assert provider.fetches == asked + 2
    clock.now = 1000.0 + STALE_S - 1
    keys.get_signing_key_from_jwt(signed)
    clock.now += 1
    with pytest.raises(jwt.PyJWKClientConnectionError):
        keys.get_signing_key_from_jwt(signed)


def test_the_verifier_does_not_keep_a_verification_longer_than_the_keys(
    setup: tuple[Provider, Clock, ProviderKeys], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verified token is checked again after REFRESH_S: a token of a key rotated out is
    then refused, though it has not expired."""
    provider, clock, keys = setup
    verifier = TokenVerifier(CITY)
    verifier.keys = keys
    old = provider.keys[0]
    signed = token(old)  # valid for an hour from now, as PyJWT's own clock checks
    wall = [time.time()]
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: wall[0]))
    assert verifier.actor(f"Bearer {signed}").subject == "officer-試験"
    # Verified again when the set it was verified with expires, not a full REFRESH_S after
    # its own check: here the check came 299 s into the set's life.
    verifier._verified.clear()
    clock.now += REFRESH_S - 1
    wall[0] += REFRESH_S - 1
    assert verifier.actor(f"Bearer {signed}").subject == "officer-試験"
    provider.keys = [dev_issuer.new_key()]  # rotated out
    clock.now += 1
    wall[0] += 1
    with pytest.raises(AuthenticationError):
        verifier.actor(f"Bearer {signed}")
