"""W3C trace context through the hub (docs/TRACING.md), on the OpenTelemetry API only.

One referral's path is one trace: the command's span (``HubApplication.execute``), the
relay's publish span, the agency client's consume span, the agency's reply span and the
reply ingester's consume span, each the child of the one before. Across processes the
context travels as a ``traceparent`` string: in the stored event's own attributes (beside,
never inside, its payload, so governance and every record value ignore it) and in Kafka
record headers. Which spans are recorded and where they go is the composition root's choice
(``ops/tracing.py``); without a configured provider nothing is recorded, and an incoming
``traceparent`` is still passed on unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
# The attribute of a stored domain event holding its command's traceparent (absent when
# the command came without one: old logs and untraced runs store exactly what they did).
EVENT_ATTRIBUTE = "traceparent"
TRACER_NAME = "kitakyushu-hub"

_W3C = TraceContextTextMapPropagator()
_VALID = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")

Headers = Sequence[tuple[str, bytes]]

# The provider spans are recorded by: None, the process's global one (ops/tracing.py sets
# it). Tests give their own for a while (``recorded_by``) and leave the global one alone.
_provider: trace.TracerProvider | None = None


@contextmanager
def recorded_by(provider: trace.TracerProvider) -> Iterator[None]:
    """Records the spans of the block with ``provider`` instead of the global one."""
    global _provider
    before, _provider = _provider, provider
    try:
        yield
    finally:
        _provider = before


def valid(traceparent: str | None) -> str | None:
    """``traceparent`` if it is a well-formed W3C value, else None (ignored, never refused)."""
    if traceparent is None:
        return None
    value = traceparent.strip()
    if not _VALID.match(value) or value.startswith("ff") or set(value[3:35]) == {"0"}:
        return None
    return value


def current() -> str | None:
    """The traceparent of the current span, or None outside any trace."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_of(traceparent: str | None) -> otel_context.Context | None:
    """The context a valid ``traceparent`` continues (None: start a new trace, or none)."""
    value = valid(traceparent)
    return _W3C.extract({TRACEPARENT: value}) if value else None


@contextmanager
def continued(traceparent: str | None) -> Iterator[None]:
    """Runs the block inside the trace of ``traceparent`` (as it is, if None or invalid)."""
    parent = context_of(traceparent)
    if parent is None:
        yield
        return
    token = otel_context.attach(parent)
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def span(
    name: str,
    parent: str | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span]:
    """A span named ``name``, child of ``parent`` (a traceparent) or of the current span."""
    if _provider is None and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # Nothing records spans in this process: the API's no-op span would only carry the
        # parent's context, so carry it directly (a no-op span cost ~25 µs a command).
        with continued(parent):
            yield trace.get_current_span()
        return
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=_provider)
    with tracer.start_as_current_span(
        name,
        context=context_of(parent),
        kind=kind,
        attributes=dict(attributes or {}),
        # The SDK would keep the error's message and traceback on the span: a message names
        # case ids, and one of a payload no model reads quotes the stored value.
        record_exception=False,
        set_status_on_exception=False,
    ) as current_span:
        try:
            yield current_span
        except Exception as error:
            current_span.set_attribute("error.type", type(error).__name__)
            current_span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def of_event(domain_event: Any) -> str | None:
    """The traceparent stored with a domain event (None for events without one)."""
    return valid(getattr(domain_event, EVENT_ATTRIBUTE, None))


def stamp_event(domain_event: Any, traceparent: str) -> None:
    """Keeps ``traceparent`` with a pending domain event: the library stores its attributes
    (``vars``) and sets them again when it reads the event back."""
    object.__setattr__(domain_event, EVENT_ATTRIBUTE, traceparent)


def of_headers(headers: Mapping[str, bytes] | Headers | None) -> str | None:
    """The traceparent of Kafka record headers (a mapping or kafka-python's pairs)."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        if key == TRACEPARENT and value is not None:
            try:
                return valid(bytes(value).decode("ascii"))
            except UnicodeDecodeError:
                return None
    return None


def with_header(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """``headers`` plus the current span's traceparent, if there is one."""
    traceparent = current()
    if traceparent is None:
        return headers
    return [*headers, (TRACEPARENT, traceparent.encode("ascii"))]
