"""An incoming W3C ``traceparent`` header: the request (and the command it records) continues
that trace (docs/TRACING.md). A malformed one is ignored, as the W3C recommendation says."""

from __future__ import annotations

from opentelemetry import context as otel_context
from starlette.types import ASGIApp, Receive, Scope, Send

from hub import tracing


class TraceContext:
    """Pure ASGI middleware for the API and the web pages alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(tracing.TRACEPARENT.encode())
        parent = tracing.context_of(header.decode("latin-1") if header else None)
        if parent is None:
            await self.app(scope, receive, send)
            return
        token = otel_context.attach(parent)
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
