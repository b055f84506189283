"""The OpenTelemetry SDK's in-memory exporter for a test, leaving the global provider alone
(a test that sets it would trace every later test's commands into their logs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span the test's components record, kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.recorded_by(provider):
        yield exporter
    provider.shutdown()


def hex_ids(span: ReadableSpan) -> tuple[str, str, str | None]:
    """(trace id, span id, parent span id) of a finished span, as W3C hex."""
    context = span.get_span_context()
    parent = span.parent
    return (
        trace.format_trace_id(context.trace_id),
        trace.format_span_id(context.span_id),
        trace.format_span_id(parent.span_id) if parent is not None else None,
    )


def traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{trace_id}-{span_id}-01"
