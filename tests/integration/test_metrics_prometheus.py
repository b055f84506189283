"""A real Prometheus scrapes the hub's long-running processes (the API, the relay, an agency
client, the reply ingester, `hub follow`) while a stream of commands runs, and answers the
relay's lag, the agency's consumer lag, the commands and the referrals over its HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from uuid import uuid4

import pytest

from hub.application import HubApplication
from hub.identity import Role
from hub.settings import Settings
from producers.provision import provision
from tests import factories as f
from tests.api_support import post_command, running_server
from tests.ports import free_ports
from tests.prometheus_support import Prometheus, running_prometheus

pytestmark = pytest.mark.integration

WARD = "tobata"
AGENCY = "tobata.houkatsu"
COORDINATOR = "tobata.coordinator"
CASES = 12
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def _process(name: str, home: Path, env: dict[str, str], *args: str) -> Iterator[None]:
    log = home / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
        assert process.poll() is None, f"{name} exited: {log.read_text()[-2000:]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _up(prometheus: Prometheus, jobs: set[str]) -> bool:
    health = prometheus.targets()
    return all(health.get(job) == "up" for job in jobs)


def test_prometheus_answers_the_relay_lag_while_commands_stream_through_the_processes(
    kafka_broker: object, tmp_path: Path
) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    prefix = f"t{uuid4().hex[:10]}."
    settings = Settings(
        mode="development", var_dir=var, sqlite_path=var / "hub.sqlite", kafka_topic_prefix=prefix
    )
    provision(settings, [AGENCY, COORDINATOR])  # escalations go to the coordinator
    env = {
        "HUB_MODE": "development",
        "HUB_VAR_DIR": str(var),
        "HUB_SQLITE_PATH": str(var / "hub.sqlite"),
        "HUB_KAFKA_TOPIC_PREFIX": prefix,
    }
    jobs = ("api", "relay", "agency", "replies", "follow")
    ports = dict(zip(jobs, free_ports(len(jobs)), strict=True))
    with ExitStack() as stack:
        server = stack.enter_context(
            running_server(var, {**env, "HUB_METRICS_PORT": str(ports["api"])})
        )
        for job, args in {
            "relay": ["relay", "--batch-size", "3"],
            "agency": ["agency", "run", "--agency", AGENCY],
            "replies": ["replies", "run"],
            "follow": ["follow"],
        }.items():
            stack.enter_context(
                _process(job, tmp_path, env, *args, "--metrics-port", str(ports[job]))
            )
        prometheus = stack.enter_context(running_prometheus(tmp_path / "prometheus", ports))
        prometheus.wait_for("every process scraped", lambda: _up(prometheus, set(ports)), 180)
        prometheus.wait_for(
            "the relay's lag", lambda: prometheus.value('hub_relay_lag{job="relay"}') is not None
        )

        seen: list[float | None] = []
        token = server.token(Role.ward_officer, "officer-試験", ward=WARD)
        with server.client(token) as officer:
            for _ in range(CASES):
                case_id = uuid4()
                opened = post_command(officer, f.open_case(case_id=case_id, ward=WARD))
                assert opened.status_code == 201, opened.text
                referred = post_command(
                    officer, f.referral(case_id, AGENCY, urgency="life_at_risk")
                )
                assert referred.status_code == 201, referred.text
                seen.append(prometheus.value('hub_relay_lag{job="relay"}'))
                time.sleep(0.3)
        assert None not in seen and all(lag >= 0 for lag in seen if lag is not None), seen

        app = HubApplication(env=settings.eventsourcing_env())
        last = app.recorder.max_notification_id()
        app.close()
        assert last is not None and last >= 2 * CASES

        def caught_up() -> bool:
            # The log may grow past ``last`` meanwhile (the hub's own answers and timers).
            position = prometheus.value('hub_relay_position{job="relay"}')
            lag = prometheus.value('hub_relay_lag{job="relay"}')
            return lag == 0 and position is not None and position >= last

        prometheus.wait_for(f"the relay at position {last} with no lag", caught_up)
        moved = prometheus.value('max_over_time(hub_relay_position{job="relay"}[10m])')
        first = prometheus.value('min_over_time(hub_relay_position{job="relay"}[10m])')
        assert moved is not None and moved >= last and first is not None and first < last
        recorded = 'sum(hub_command_seconds_count{job="api",outcome="recorded"})'
        prometheus.wait_for(
            f"{2 * CASES} commands recorded", lambda: prometheus.value(recorded) == 2 * CASES
        )
        prometheus.wait_for(
            "the agency caught up",
            lambda: prometheus.value(f'hub_consumer_lag{{job="agency",agency="{AGENCY}"}}') == 0,
        )
        unanswered = 'sum(hub_referrals_unanswered{job="follow",urgency="life_at_risk"})'
        prometheus.wait_for(
            f"{CASES} unanswered referrals", lambda: prometheus.value(unanswered) == CASES
        )
        prometheus.wait_for(
            "the views caught up",
            lambda: prometheus.value('max(hub_projection_lag{job="follow"})') == 0,
        )
        assert prometheus.value('hub_dead_letters_total{job="agency"}') == 0
        assert prometheus.value('hub_escalations_total{job="replies"}') is not None
