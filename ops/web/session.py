"""Sign-in for the pages: a session cookie carrying the OIDC token, and a CSRF token.

The cookie holds the provider's access token itself (HttpOnly, SameSite=Strict, Secure in
production), so the pages trust exactly what the API trusts: the same ``TokenVerifier``.
Each form carries a CSRF token derived from the session token with a server-side key: a
page of another site can neither read the cookie nor compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from hub.errors import AuthenticationError, PermissionDeniedError
from hub.identity import Actor
from hub.settings import Settings
from ops.identity.tokens import TokenVerifier, production

COOKIE = "hub_session"
CSRF_FIELD = "csrf_token"
# Before sign-in there is no session to derive a token from: the sign-in page sets a random
# pre-session cookie (SameSite=Strict, so another site's POST never carries it) and its forms
# carry the HMAC of it. A cross-site POST that would sign the victim in as the attacker
# (login CSRF) has neither.
SIGNIN_COOKIE = "hub_signin"
# In production (HTTPS, Secure cookies) the names carry the __Host- prefix: a browser then
# takes such a cookie only from this host itself, for every path. Another host of the city's
# domain is the same site (SameSite does not stop it) and could otherwise plant a session or a
# pre-session nonce of its choosing for the whole domain (cookie tossing: login CSRF again).
HOST_PREFIX = "__Host-"


class Sessions:
    def __init__(self, settings: Settings, verifier: TokenVerifier) -> None:
        self.verifier = verifier
        self.secure = production(settings)
        self._prefix = HOST_PREFIX if self.secure else ""
        self.cookie = self.named(COOKIE)
        self.signin_cookie = self.named(SIGNIN_COOKIE)
        self._key = secrets.token_bytes(32)  # per process: a restart asks forms anew

    def named(self, cookie: str) -> str:
        """A cookie's name as this server sets it (``__Host-`` first in production)."""
        return self._prefix + cookie

    def actor(self, request: Request) -> Actor:
        """The signed-in actor, or AuthenticationError (the page sends them to sign in)."""
        token = request.cookies.get(self.cookie)
        if not token:
            raise AuthenticationError("サインインしてください（no session）")
        return self.verifier.actor(f"Bearer {token}")

    def csrf(self, request: Request) -> str:
        token = request.cookies.get(self.cookie, "")
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, sent: str | None) -> None:
        if not request.cookies.get(self.cookie) or not sent:
            raise PermissionDeniedError("フォームの確認用トークンがありません（CSRF）")
        if not _same(self.csrf(request), sent):
            raise PermissionDeniedError("フォームの確認用トークンが一致しません（CSRF）")

    def signin_nonce(self, request: Request) -> str:
        """The pre-session cookie's value: the one the browser sent, or a new one."""
        return request.cookies.get(self.signin_cookie) or secrets.token_urlsafe(32)

    def signin_csrf(self, nonce: str) -> str:
        return hmac.new(self._key, b"signin:" + nonce.encode(), hashlib.sha256).hexdigest()

    def keep_signin_nonce(self, response: Response, nonce: str) -> None:
        self._set(response, self.signin_cookie, nonce)

    def _set(self, response: Response, name: str, value: str) -> None:
        """A cookie of this server: HttpOnly, SameSite=Strict, for every path, Secure in
        production (where its name starts __Host-)."""
        response.set_cookie(
            name, value, httponly=True, samesite="strict", secure=self.secure, path="/"
        )

    def check_signin_csrf(self, request: Request, sent: str | None) -> None:
        """Refuse a sign-in form that the sign-in page of this server did not draw."""
        nonce = request.cookies.get(self.signin_cookie)
        if not nonce or not sent:
            raise PermissionDeniedError("サインインの確認用トークンがありません（CSRF）")
        if not _same(self.signin_csrf(nonce), sent):
            raise PermissionDeniedError("サインインの確認用トークンが一致しません（CSRF）")

    def sign_in(self, response: Response, token: str) -> None:
        self.verifier.actor(f"Bearer {token}")  # refuse a bad token before it is kept
        self._set(response, self.cookie, token)

    def sign_out(self, request: Request, response: Response) -> None:
        """End the session: its token is refused from now on (a copy of the cookie, or the
        token as a bearer, no longer acts), and the browser forgets the cookie."""
        token = request.cookies.get(self.cookie)
        if token:
            self.verifier.end(token)
        response.delete_cookie(
            self.cookie, path="/", httponly=True, samesite="strict", secure=self.secure
        )


def _same(expected: str, sent: str) -> bool:
    """Compared as bytes: ``hmac.compare_digest`` raises TypeError on a str with a character
    outside ASCII, and the token sent is whatever the form held."""
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "surrogatepass"))
