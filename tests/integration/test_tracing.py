"""One referral's trace across the real components and the real broker (docs/TRACING.md):
the command's span, the relay's publish span, the agency client's consume span, the agency's
reply span and the reply ingester's consume span, each the child of the one before."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from consumers.config import ConsumerSettings
from consumers.stopping import StopFlag
from hub import topics, tracing
from hub.application import HubApplication
from ops.cli.agency import send_answer
from ops.wiring import open_agency_consumer, open_reply_ingester
from tests.agency_support import AGENCY, OTHER_AGENCY, refer
from tests.integration.streams import IMPORTED, new_relay, provisioned, read_topic, store_settings
from tests.tracing_support import hex_ids, spans, traceparent

pytestmark = pytest.mark.integration
__all__ = ["spans"]  # the fixture

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def only(spans: list[Any], name: str) -> Any:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{name}: {[s.name for s in spans]}"
    return found[0]


def test_one_trace_runs_from_the_command_through_the_relay_and_the_agency_and_back(
    kafka_broker: object, spans: InMemorySpanExporter, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [AGENCY, OTHER_AGENCY])
    app = HubApplication(env=sqlite_env)
    other_case, _ = refer(app)  # a command outside the caller's trace starts its own
    with tracing.continued(traceparent(CALLER_TRACE, CALLER_SPAN)):
        case_id, referral_id = refer(app)

    relay = new_relay(settings, app)
    try:
        relay.drain()
    finally:
        relay.producer.close()
    consumer = open_agency_consumer(
        settings, AGENCY, ConsumerSettings(agency_inbox_path=tmp_path / "inbox.sqlite")
    )
    consumer.run(StopFlag(), once=True)
    send_answer(consumer.inbox, settings, AGENCY, str(referral_id), "accepted", None)
    consumer.close()
    ingester = open_reply_ingester(settings, app)
    ingester.run(StopFlag(), once=True)
    ingester.close()
    assert ingester.report.applied == 1

    found = [s for s in spans.get_finished_spans() if hex_ids(s)[0] == CALLER_TRACE]
    refer_span = only(found, "command ReferCase")
    publish = only(found, "publish ReferralMade")
    consume = only(found, f"consume {topics.referrals(settings, AGENCY)}")
    reply = only(found, "reply accepted")
    ingest = only(found, f"consume {topics.replies(settings, AGENCY)}")
    answer = only(found, "command AnswerReferral")
    chain = [refer_span, publish, consume, reply, ingest, answer]
    assert hex_ids(refer_span)[2] == CALLER_SPAN
    for parent, child in itertools.pairwise(chain):
        assert hex_ids(child)[2] == hex_ids(parent)[1], (parent.name, child.name)
    assert {hex_ids(s)[0] for s in chain} == {CALLER_TRACE}

    # The trace went through the log beside the events, and through headers only.
    answered = [
        tracing.of_event(app.mapper.to_domain_event(n))
        for n in app.recorder.select_notifications(start=1, limit=10_000)
        if n.originator_id == case_id
    ]
    assert answered and all(t and CALLER_TRACE in t for t in answered)
    received = read_topic(settings, topics.referrals(settings, AGENCY))
    traced = [r for r in received if r.key == str(case_id)]
    assert traced and all(CALLER_TRACE in r.headers["traceparent"] for r in traced)
    others = [r.headers["traceparent"] for r in received if r.key == str(other_case)]
    assert others and not [t for t in others if CALLER_TRACE in t]
    # Events stored without a trace (the network's import, as every event of an old log)
    # are published as before, without the header.
    audit = read_topic(settings, topics.audit(settings))
    imported = [r for r in audit if int(r.headers.get("position", 0)) <= IMPORTED]
    assert imported and not [r for r in imported if "traceparent" in r.headers]
    received += audit + read_topic(settings, topics.analytics(settings))
    assert not [r for r in received if CALLER_TRACE.encode() in r.raw]
    assert not [r for r in received if bytes.fromhex(CALLER_TRACE) in r.raw]


def test_the_analysts_records_carry_no_trace_that_joins_them_to_other_streams_or_cases(
    kafka_broker: object, spans: InMemorySpanExporter, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    """The caller's trace id is on the agency's record of the same event and on every
    command of the trace, whatever case it names: on analytics.events it would undo the
    pseudonyms (docs/STREAMS.md, what analysts get)."""
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [AGENCY, OTHER_AGENCY])
    app = HubApplication(env=sqlite_env)
    with tracing.continued(traceparent(CALLER_TRACE, CALLER_SPAN)):
        first, _ = refer(app)
        refer(app, OTHER_AGENCY)
    relay = new_relay(settings, app)
    try:
        relay.drain()
    finally:
        relay.producer.close()
    app.close()

    agency = read_topic(settings, topics.referrals(settings, AGENCY))
    assert [r for r in agency if r.key == str(first) and CALLER_TRACE in r.headers["traceparent"]]
    analytics = [
        r for r in read_topic(settings, topics.analytics(settings)) if r.schema.endswith("Made")
    ]
    assert len({r.key for r in analytics}) == 2  # both cases, pseudonymised
    assert [r.headers for r in analytics if "traceparent" in r.headers] == []
