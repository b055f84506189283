"""HTTP Strict Transport Security: an answer given over HTTPS tells the browser to come back
only over HTTPS for a year, so a later plain-HTTP link or a typed address cannot expose a
session cookie or a person's details to the network (RFC 6797). Sent over HTTPS only, as the
RFC asks: ``hub serve --ssl-certfile`` or a TLS proxy that forwards the scheme."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"strict-transport-security", b"max-age=31536000")


class StrictTransport:
    """Pure ASGI middleware for the API and the web pages alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HEADER]
            await send(message)

        await self.app(scope, receive, send_with_header)
