"""The trace context beside the events (docs/TRACING.md): stored with a traced command's
events, never in their payloads; nothing stored without a trace; malformed values ignored."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub import codec, tracing
from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import CaseClosedError, ConfigurationError
from ops import tracing as ops_tracing
from tests import factories as f
from tests.tracing_support import hex_ids, spans, traceparent

__all__ = ["spans"]  # the fixture

NAME = "試験 花子"
CALLER = traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")


def stored_after(app: HubApplication, position: int) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(start=position + 1, limit=100)]


def test_a_command_outside_any_trace_stores_its_events_as_before(
    sqlite_env: dict[str, str],
) -> None:
    app = HubApplication(env=sqlite_env)
    start = app.recorder.max_notification_id() or 0
    app.execute(f.open_case())
    states = stored_after(app, start)
    assert len(states) == 2  # the case's event and the receipt
    assert not [s for s in states if b"traceparent" in s]


def test_a_traced_command_keeps_its_spans_context_with_every_event_it_made(
    sqlite_env: dict[str, str], spans: InMemorySpanExporter
) -> None:
    app = HubApplication(env=sqlite_env)
    start = app.recorder.max_notification_id() or 0
    with tracing.continued(CALLER):
        app.execute(f.open_case())
    (command,) = spans.get_finished_spans()
    trace_id, span_id, parent = hex_ids(command)
    assert (command.name, parent) == ("command OpenCase", "00f067aa0ba902b7")
    events = [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=start + 1, limit=100)
    ]
    assert [tracing.of_event(e) for e in events] == [traceparent(trace_id, span_id)] * 2
    # Governance and every record value read the payload and its envelope only.
    assert not [e for e in events if "traceparent" in codec.event_record(e)]


def test_a_refused_command_records_its_error_on_its_span(
    sqlite_env: dict[str, str], spans: InMemorySpanExporter
) -> None:
    app = HubApplication(env=sqlite_env)
    with pytest.raises(Exception, match="agency"):
        app.execute(f.referral(f.open_case().case_id, "no.such-agency"))
    (command,) = spans.get_finished_spans()
    assert not command.status.is_ok


def test_a_failed_commands_span_names_the_error_and_holds_no_id_or_value_of_it(
    sqlite_env: dict[str, str], spans: InMemorySpanExporter
) -> None:
    # A case whose log holds a value no model reads (written below the edge): loading it
    # fails with a message quoting that value, here a synthetic name.
    app = HubApplication(env=sqlite_env)
    opened = f.open_case(ward="moji")
    app.execute(opened)
    referral = f.referral(opened.case_id, "moji.houkatsu")
    app.execute(referral)
    case = app.get_case(opened.case_id)
    payload: Any = ev.ReferralEscalated.model_construct(
        occurred_at=f.at(1),
        case_id=opened.case_id,
        referral_id=referral.referral_id,
        agency_id="moji.houkatsu",
        coordinator="moji.coordinator",
        overdue_minutes=NAME,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case._referral_escalated(payload)
        app.save(case)

    with tracing.continued(CALLER), pytest.raises(Exception, match=NAME):
        app.execute(f.referral(opened.case_id, "moji.houkatsu"))
    with pytest.raises(CaseClosedError):
        closed = f.open_case(ward="moji")
        app.execute(closed)
        app.execute(f.build(c.CloseCase, case_id=closed.case_id, reason="moved_away"))
        app.execute(f.referral(closed.case_id, "moji.houkatsu"))

    failed = [s for s in spans.get_finished_spans() if not s.status.is_ok]
    for span in failed:  # its name, attributes, events and status, as an exporter sends them
        seen = json.dumps(json.loads(span.to_json()), ensure_ascii=False)
        assert NAME not in seen
        assert str(opened.case_id) not in seen and str(closed.case_id) not in seen
    assert [(s.attributes or {}).get("error.type") for s in failed] == [
        "MapperDeserialisationError",
        "CaseClosedError",
    ]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00-not-a-trace-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # no trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n-x",
    ],
)
def test_a_malformed_traceparent_is_ignored(value: str | None) -> None:
    assert tracing.valid(value) is None
    assert tracing.context_of(value) is None
    assert tracing.of_headers([("traceparent", (value or "").encode())]) is None


def test_a_traceparent_header_is_read_from_kafka_headers() -> None:
    assert tracing.of_headers({"traceparent": CALLER.encode()}) == CALLER
    assert tracing.of_headers([("event_id", b"x"), ("traceparent", CALLER.encode())]) == CALLER
    assert tracing.of_headers([("traceparent", b"\xff\xfe")]) is None


def test_the_exporter_setting_is_checked_and_otlp_names_its_missing_package() -> None:
    assert ops_tracing.span_processor("none") is None
    assert ops_tracing.span_processor("console") is not None
    with pytest.raises(ConfigurationError, match="opentelemetry-exporter-otlp-proto-http"):
        ops_tracing.span_processor("otlp")
    with pytest.raises(ConfigurationError, match="one of none, console, otlp"):
        ops_tracing.span_processor("jaeger")
