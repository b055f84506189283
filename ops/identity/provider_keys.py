"""The city provider's signing keys (its JWKS), as ``hub serve`` trusts them over time.

PyJWT's ``PyJWKClient(cache_keys=True)`` keeps every key it once found for the life of the
process: a key the provider removed from its JWKS (rotated out after a compromise) would go
on signing tokens the hub accepts until a restart. Here the set is fetched again once it is
``REFRESH_S`` old, and a key the last successful fetch no longer lists is trusted no more
(``trusted_for`` tells the token cache how long the current set still counts). A token
naming a key not in the set makes one early fetch (a key just rotated in), at most every
``COOLDOWN_S``, so a flood of made-up key ids cannot hammer the provider.

When a fetch fails (the provider away, or an answer that is no usable key set), the last
set is used for up to ``STALE_S`` after it was fetched, and the provider is not asked again
for ``COOLDOWN_S``: a short outage neither signs everyone out at once nor holds every
request for a fetch's timeout; a longer one refuses every token ("the identity provider's
keys cannot be fetched"). One fetch runs at a time, of at most ``FETCH_TIMEOUT_S``.
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
COOLDOWN_S = 30.0
FETCH_TIMEOUT_S = 5.0

log = get_logger(__name__)


class ProviderKeys:
    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fetch is None:
            client = jwt.PyJWKClient(
                url, cache_keys=False, cache_jwk_set=False, timeout=FETCH_TIMEOUT_S
            )
            fetch = client.fetch_data
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._fetching = threading.Lock()  # one fetch at a time; the others use what is held
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = 0.0
        self._asked_at = -COOLDOWN_S  # the last fetch tried early or after a failure

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        keys = self._current()
        found = _key(keys, kid)
        if found is None and self._may_ask():  # a key just rotated in?
            found = _key(self._refreshed(keys), kid)
        if found is None:
            raise jwt.PyJWKClientError(f"no key {kid!r} in the provider's JWKS")
        return found

    def trusted_for(self) -> float:
        """Seconds the current set still counts before it must be fetched again."""
        return max(0.0, REFRESH_S - (self._clock() - self._fetched_at))

    def _current(self) -> jwt.PyJWKSet:
        keys = self._keys
        if keys is not None and self._clock() - self._fetched_at < REFRESH_S:
            return keys
        if keys is None or self._may_ask():
            keys = self._refreshed(keys)
        if keys is None or self._clock() - self._fetched_at >= STALE_S:
            raise jwt.PyJWKClientConnectionError("the identity provider's keys are out of date")
        return keys

    def _may_ask(self) -> bool:
        with self._lock:
            moment = self._clock()
            if moment - self._asked_at < COOLDOWN_S:
                return False
            self._asked_at = moment
            return True

    def _refreshed(self, held: jwt.PyJWKSet | None) -> jwt.PyJWKSet | None:
        """The set fetched now, or ``held`` when the fetch fails (logged, not raised)."""
        if not self._fetching.acquire(blocking=False):
            return held  # another thread is fetching: go on with what is held
        try:
            data = self._fetch()
            if not isinstance(data, dict):
                raise ValueError("the JWKS is not a JSON object")
            keys = jwt.PyJWKSet.from_dict(data)
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError, TypeError) as error:
            log.warning("identity.jwks_not_fetched", error=type(error).__name__)
            return held
        else:
            self._keys, self._fetched_at = keys, self._clock()
            return keys
        finally:
            self._fetching.release()


def _key(keys: jwt.PyJWKSet | None, kid: Any) -> jwt.PyJWK | None:
    if keys is None:
        return None
    return next(
        (k for k in keys.keys if k.key_id == kid and k.public_key_use in ("sig", None)), None
    )
