"""The city provider's signing keys (its JWKS), as ``hub serve`` trusts them over time.

PyJWT's ``PyJWKClient(cache_keys=True)`` keeps every key it once found for the life of the
process: a key the provider removed from its JWKS (rotated out after a compromise) would go
on signing tokens the hub accepts until a restart. Here the set is fetched again every
``REFRESH_S``, and a key the last successful fetch no longer lists is trusted no more. A
token naming a key not in the set makes one early fetch (a key just rotated in), at most
every ``UNKNOWN_COOLDOWN_S``, so a flood of made-up key ids cannot hammer the provider. When
a fetch fails, the last set is used for up to ``STALE_S`` after it was fetched: a short
outage of the provider does not sign everyone out at once; a longer one refuses every token
("the identity provider's keys cannot be fetched").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from hub.logging import get_logger

REFRESH_S = 300.0
STALE_S = 3600.0
UNKNOWN_COOLDOWN_S = 30.0

log = get_logger(__name__)


class ProviderKeys:
    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = (
            fetch or jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False).fetch_data
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = 0.0
        self._unknown_at = -UNKNOWN_COOLDOWN_S

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        found = _key(self._current(), kid)
        if found is None:
            with self._lock:
                moment = self._clock()
                early = moment - self._unknown_at >= UNKNOWN_COOLDOWN_S
                if early:
                    self._unknown_at = moment
            if early:
                try:
                    found = _key(self._refresh(), kid)
                except jwt.PyJWKClientConnectionError:
                    found = None  # an unknown key stays unknown while the provider is away
        if found is None:
            raise jwt.PyJWKClientError(f"no key {kid!r} in the provider's JWKS")
        return found

    def _current(self) -> jwt.PyJWKSet:
        keys, age = self._keys, self._clock() - self._fetched_at
        if keys is not None and age < REFRESH_S:
            return keys
        try:
            return self._refresh()
        except jwt.PyJWKClientConnectionError:
            if keys is None or age >= STALE_S:
                raise
            log.warning("identity.jwks_stale", age_s=round(age))
            return keys

    def _refresh(self) -> jwt.PyJWKSet:
        keys = jwt.PyJWKSet.from_dict(self._fetch())
        with self._lock:
            self._keys, self._fetched_at = keys, self._clock()
        return keys


def _key(keys: jwt.PyJWKSet, kid: Any) -> jwt.PyJWK | None:
    return next((key for key in keys.keys if key.key_id == kid), None)
