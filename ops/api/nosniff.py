"""``X-Content-Type-Options: nosniff`` on every answer, the API's JSON as the pages: a
browser never reads a JSON answer that quotes a value someone typed as a script or a page."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"x-content-type-options", b"nosniff")


class NoSniff:
    """Pure ASGI middleware; an answer that says it already (the pages) keeps its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != HEADER[0] for name, _ in headers):
                    message["headers"] = [*headers, HEADER]
            await send(message)

        await self.app(scope, receive, send_with_header)
