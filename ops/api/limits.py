"""Request bodies are bounded: anything larger is refused with 413 before it is parsed."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ops.api.problems import PROBLEM, BodyTooLargeError, is_page


class BodyLimit:
    """Pure ASGI middleware: reads the body up to ``limit`` bytes, then passes it on."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(scope, receive, send, self.limit)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await _too_large(scope, receive, send, self.limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    # A form of the pages too large (a long text pasted into a remark) is the pages' Japanese
    # refusal, not the API's problem+json.
    refusal = getattr(scope["app"].state, "page_refusal", None) if "app" in scope else None
    if refusal is not None and is_page(str(scope.get("path", ""))):
        error = BodyTooLargeError(f"送信された内容が大きすぎます（{limit}バイトまで）")
        page = await run_in_threadpool(refusal, Request(scope), error)
        page.status_code = 413
        page.headers["connection"] = "close"
        await page(scope, receive, send)
        return
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": "request body too large",
        "status": 413,
        "detail": f"a request body is at most {limit} bytes",
        "error": BodyTooLargeError.__name__,
    }
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
