"""One referral's trace across real processes (docs/TRACING.md): `hub command` continuing a
caller's TRACEPARENT, `hub relay`, `hub agency run`, `hub agency ack` and `hub replies run`,
each exporting its spans on stderr (HUB_TRACE_EXPORTER=console); the API takes a
``traceparent`` header into the command it records."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hub import topics, tracing
from hub.application import HubApplication
from hub.identity import Role
from tests import factories as f
from tests.agency_support import AGENCY, OTHER_AGENCY, T0, WARD, cli_env, hub_cli
from tests.api_support import post_command, running_server
from tests.integration.streams import provisioned, store_settings
from tests.tracing_support import traceparent

pytestmark = pytest.mark.integration

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


def run(env: dict[str, str], *args: str, caller: str | None = None) -> list[dict[str, Any]]:
    """Runs ``hub args`` and returns the spans it exported (one JSON object a line)."""
    extra = {"TRACEPARENT": caller} if caller else {}
    done = subprocess.run(
        hub_cli(*args), env={**env, **extra}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return [json.loads(line) for line in done.stderr.splitlines() if line.startswith('{"name"')]


def named(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name]
    assert len(found) == 1, (name, [s["name"] for s in spans])
    return found[0]


def ids(span: dict[str, Any]) -> tuple[str, str, str | None]:
    """(trace id, span id, parent span id) of a span as the console exporter prints it."""
    parent = span["parent_id"]
    return (
        span["context"]["trace_id"].removeprefix("0x"),
        span["context"]["span_id"].removeprefix("0x"),
        parent.removeprefix("0x") if parent else None,
    )


def test_the_trace_of_a_referral_runs_through_every_process_it_crosses(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [AGENCY, OTHER_AGENCY])
    env = cli_env(
        settings,
        HUB_SQLITE_PATH=sqlite_env["SQLITE_DBNAME"],
        HUB_STORE="sqlite",
        HUB_VAR_DIR=str(tmp_path),
        HUB_TRACE_EXPORTER="console",
        HUB_AGENCY_INBOX_PATH=str(tmp_path / "inbox.sqlite"),
    )
    env.pop("TRACEPARENT", None)
    case = f.open_case(ward=WARD, occurred_at=T0)
    referral = f.referral(case.case_id, AGENCY, occurred_at=T0, urgency="urgent")
    caller = traceparent(CALLER_TRACE, CALLER_SPAN)
    spans = run(env, "command", case.model_dump_json(), caller=caller)
    spans += run(env, "command", referral.model_dump_json(), caller=caller)
    spans += run(env, "relay", "--once")
    spans += run(env, "agency", "run", "--agency", AGENCY, "--once")
    referral_id = str(referral.referral_id)
    spans += run(env, "agency", "ack", referral_id[:8], "accepted", "--agency", AGENCY)
    spans += run(env, "replies", "run", "--once", "--no-timers")

    chain = [
        named(spans, "command ReferCase"),
        named(spans, "publish ReferralMade"),
        named(spans, f"consume {topics.referrals(settings, AGENCY)}"),
        named(spans, "reply accepted"),
        named(spans, f"consume {topics.replies(settings, AGENCY)}"),
        named(spans, "command AnswerReferral"),
    ]
    assert ids(chain[0])[2] == CALLER_SPAN
    for parent, child in itertools.pairwise(chain):
        assert ids(child)[2] == ids(parent)[1], (parent["name"], child["name"])
    assert {ids(s)[0] for s in chain} == {CALLER_TRACE}
    services = [s["resource"]["attributes"]["service.name"] for s in chain]
    assert services == [
        "hub command",
        "hub relay",
        "hub agency",
        "hub agency",
        "hub replies",
        "hub replies",
    ]


def test_the_api_takes_an_incoming_traceparent_into_the_command_it_records(
    tmp_path: Path,
) -> None:
    caller = traceparent(CALLER_TRACE, CALLER_SPAN)
    with running_server(tmp_path) as server:
        officer = server.client(server.token(Role.ward_officer, "officer-試験", ward=WARD))
        command = f.open_case(ward=WARD)
        officer.headers["traceparent"] = caller
        assert post_command(officer, command).status_code == 201
        other = f.open_case(ward=WARD)
        officer.headers["traceparent"] = "00-not-a-trace-01"  # malformed: ignored, not refused
        assert post_command(officer, other).status_code == 201
        officer.close()
    app = HubApplication(env=server.settings.eventsourcing_env())
    try:
        stored = {
            n.originator_id: tracing.of_event(app.mapper.to_domain_event(n))
            for n in app.recorder.select_notifications(start=1, limit=10_000)
        }
    finally:
        app.close()
    # No exporter configured: the server records nothing and passes the caller's context on.
    assert stored[command.case_id] == caller
    assert stored[other.case_id] is None


def test_the_api_exports_its_own_spans_only_never_a_case_id_or_a_query(tmp_path: Path) -> None:
    """FastAPI (0.165+) traces every request once a tracer provider is set, with the path
    (a case id) and the query as attributes; the hub's spans carry no such thing
    (docs/TRACING.md), so FastAPI's own telemetry stays off."""
    with running_server(tmp_path, {"HUB_TRACE_EXPORTER": "console"}) as server:
        officer = server.client(server.token(Role.ward_officer, "officer-試験", ward=WARD))
        command = f.open_case(ward=WARD, person=f.person())
        assert post_command(officer, command).status_code == 201
        person = officer.get(f"/cases/{command.case_id}/person", params={"purpose": "consultation"})
        assert person.status_code == 200, person.text
        officer.close()
    printed = (tmp_path / "serve.log").read_text()
    spans = [json.loads(line) for line in printed.splitlines() if line.startswith('{"name"')]
    assert [s["name"] for s in spans] == ["command OpenCase"], [s["name"] for s in spans]
    assert str(command.case_id) not in printed and "consultation" not in printed
