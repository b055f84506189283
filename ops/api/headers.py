"""The headers every answer carries, a page, the API's JSON and a 500 alike.

- ``X-Content-Type-Options: nosniff``: a browser never reads a JSON answer that quotes a
  value someone typed as a script or a page.
- HTTP Strict Transport Security: an answer given over HTTPS tells the browser to come back
  only over HTTPS for a year, so a later plain-HTTP link or a typed address cannot expose a
  session cookie or a person's details to the network (RFC 6797). Sent over HTTPS only, as
  the RFC asks: ``hub serve --ssl-certfile`` or a TLS proxy that forwards the scheme.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")
HSTS = (b"strict-transport-security", b"max-age=31536000")


class AnswerHeaders:
    """Pure ASGI middleware for the API and the web pages alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = [NOSNIFF, HSTS] if scope.get("scheme") == "https" else [NOSNIFF]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [h for h in added if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
