"""The log of record goes away (PostgreSQL stopped, or killed mid-stream) and comes back.

A private server (tests/faults/private_postgres.py) is taken away, not the shared one: stopping the
shared cluster would break other tests, and their fixtures would start it again under us.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub import commands as c
from hub.application import HubApplication
from hub.domain.network import NETWORK_ID
from hub.errors import StoreUnavailableError
from hub.settings import get_settings
from ops.cli.main import app as cli
from projections.runner import catch_up, open_projection, rebuild
from tests import factories as f
from tests.faults.private_postgres import PrivatePostgres, private_postgres

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FOLLOWERS = ("case_state", "inbox")


@pytest.fixture
def server(postgres_service: object) -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        yield pg


def store_env(pg: PrivatePostgres) -> dict[str, str]:
    # The library retries a lost connection 10 times; 1 s per try keeps an outage short.
    return {**pg.settings.eventsourcing_env("postgres"), "POSTGRES_CONNECT_TIMEOUT": "1"}


def notifications(app: HubApplication) -> int:
    """How many events the log holds (ids may have gaps: aborted transactions use some)."""
    return len(app.recorder.select_notifications(start=1, limit=1_000_000))


def referred_case(app: HubApplication) -> c.ReceiveConsultation:
    opened = f.consultation()
    app.execute(opened)
    app.execute(f.referral(c.derived_id(opened.command_id, "case_id"), "kokurakita.hogo"))
    return opened


def views(env: dict[str, str]) -> dict[str, Any]:
    return {name: open_projection(name, env).view.dump() for name in FOLLOWERS}


def assert_followers_resume(app: HubApplication, env: dict[str, str]) -> None:
    """Each follower catches up from its stored position, to what a replay from scratch
    gives: nothing missed, nothing applied twice."""
    for name in FOLLOWERS:
        catch_up(open_projection(name, env), app)
    resumed = views(env)
    for name in FOLLOWERS:
        rebuild(open_projection(name, env), app)
    assert resumed == views(env)


def test_commands_fail_clearly_while_the_store_is_away_then_succeed(
    server: PrivatePostgres,
) -> None:
    env = store_env(server)
    app = HubApplication(env=env)
    try:
        for _ in range(3):
            referred_case(app)
        for name in FOLLOWERS:
            catch_up(open_projection(name, env), app)
        before = notifications(app)

        waiting = f.consultation()
        server.stop()
        try:
            with pytest.raises(StoreUnavailableError) as away:
                app.execute(waiting)
            assert len(str(away.value).splitlines()) == 1
        finally:
            server.start()

        assert notifications(app) == before, "a refused command left events behind"
        outcome = app.execute(waiting)
        assert not outcome.duplicate and len(outcome.events) == 2
        assert app.execute(waiting).duplicate
        referred_case(app)
        assert_followers_resume(app, env)
    finally:
        app.close()


def test_a_store_killed_mid_stream_leaves_no_command_half_written(
    server: PrivatePostgres,
) -> None:
    """Immediate shutdown (a crash) while commands flow; every command is then submitted
    again, as a user would: each one ends up applied exactly once, all of it or none."""
    env = store_env(server)
    app = HubApplication(env=env)
    commands = [f.consultation() for _ in range(40)]
    failures: list[BaseException] = []
    progressed = threading.Event()

    def submit_all() -> None:
        for number, command in enumerate(commands):
            try:
                app.execute(command)
            except StoreUnavailableError as error:
                failures.append(error)
            if number == 10:
                progressed.set()

    worker = threading.Thread(target=submit_all)
    worker.start()
    try:
        assert progressed.wait(120), "the commands never started"
        server.stop("immediate")
    finally:
        server.start()
        worker.join(timeout=300)
    assert not worker.is_alive()

    for command in commands:  # the user resubmits the whole file
        app.execute(command)
    per_command = 3  # CaseOpened, ConsultationReceived and the command receipt
    imported = len(app.recorder.select_events(NETWORK_ID))  # the network a new store begins with
    assert notifications(app) == imported + per_command * len(commands)
    for command in commands:
        case = app.get_case(c.derived_id(command.command_id, "case_id"))
        assert case.version == 2, f"case of {command.command_id} is half written"
    assert_followers_resume(app, env)
    app.close()


def test_the_cli_says_the_store_is_away_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port where no server listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HUB_STORE", "postgres")
    monkeypatch.setenv("HUB_POSTGRES_PORT", str(port))
    get_settings.cache_clear()
    lines = tmp_path / "commands.jsonl"
    lines.write_text(f.consultation().model_dump_json() + "\n", encoding="utf-8")
    try:
        for args in (["submit", str(lines)], ["command", f.discovery().model_dump_json()]):
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 4, result.output  # a service away
            assert "Traceback" not in result.output
            errors = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(errors) == 1 and "event store is unavailable" in errors[0], errors
    finally:
        get_settings.cache_clear()
