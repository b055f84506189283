"""Where the hub's spans go (docs/TRACING.md): the composition root's one tracing choice.

``HUB_TRACE_EXPORTER`` picks the exporter of the process: ``none`` (the default: no provider,
nothing recorded, an incoming ``traceparent`` still passed on), ``console`` (one JSON span a
line on stderr, never mixed with a command's output) or ``otlp`` (OTLP over HTTP, configured
by the standard ``OTEL_EXPORTER_OTLP_*`` variables; needs the package
``opentelemetry-exporter-otlp-proto-http``, which the hub does not install itself).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanProcessor,
)

from hub import tracing as hub_tracing
from hub.errors import ConfigurationError
from hub.settings import Settings

TRACEPARENT_VARIABLE = "TRACEPARENT"
OTLP_PACKAGE = "opentelemetry-exporter-otlp-proto-http"

_configured: TracerProvider | None = None


def span_processor(exporter: str) -> SpanProcessor | None:
    """The processor for ``exporter`` (None for ``none``); a named error if it cannot be."""
    if exporter == "none":
        return None
    if exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr, formatter=_one_line))
    if exporter == "otlp":
        return BatchSpanProcessor(_otlp_exporter())
    raise ConfigurationError(f"HUB_TRACE_EXPORTER is one of none, console, otlp, not {exporter!r}")


def _one_line(span: ReadableSpan) -> str:
    return span.to_json(indent=None) + "\n"


def _otlp_exporter() -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )
    except ImportError:
        raise ConfigurationError(
            f"HUB_TRACE_EXPORTER=otlp needs the package {OTLP_PACKAGE} "
            f"(`.venv/bin/pip install {OTLP_PACKAGE}`), or choose console or none"
        ) from None
    return OTLPSpanExporter()


def configure(settings: Settings, service: str) -> TracerProvider | None:
    """Installs the process's tracer provider for ``settings.trace_exporter`` (once)."""
    global _configured
    processor = span_processor(settings.trace_exporter)
    if processor is None or _configured is not None:
        return _configured
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider


def continue_from_environment() -> Callable[[], None]:
    """A ``TRACEPARENT`` in the environment (a caller's trace, as CI tools pass it on) is the
    parent of what this command does; a malformed one is ignored. Returns what ends that."""
    parent = hub_tracing.context_of(os.environ.get(TRACEPARENT_VARIABLE))
    if parent is None:
        return lambda: None
    token = otel_context.attach(parent)
    return lambda: otel_context.detach(token)
