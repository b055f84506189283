"""Restarted after a power cut, each following process says on one stderr line that it
follows again and what, as `hub relay` and `hub follow` do: `hub agency run` and `hub replies
run` said nothing until a record came (and an idle one never said anything)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from ops import wiring
from ops.cli.main import app as cli

runner = CliRunner()
REPORT = SimpleNamespace(applied=0, duplicates=0, parked=0, rejected=0)


class _Idle:
    """A consumer or ingester that is stopped at once, as by Ctrl-C."""

    def run(self, *_: Any, **__: Any) -> SimpleNamespace:
        return REPORT

    def close(self) -> None:
        pass


@pytest.fixture
def dev(cli_store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", "walk.")
    frozen = gc.get_freeze_count()
    yield cli_store
    # A following command settles the heap for good (ops.heap.settle): give this test
    # process its collections back, as the tests after it (test_intake) expect.
    if not frozen:
        gc.unfreeze()


def test_the_agency_client_says_which_topic_it_follows(
    dev: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "open_agency_consumer", lambda *_, **__: _Idle())
    result = runner.invoke(cli, ["agency", "run", "--agency", "tobata.houkatsu"])
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]
    assert first == (
        "tobata.houkatsu: following walk.referrals.tobata.houkatsu into its inbox; Ctrl-C to stop"
    )
    once = runner.invoke(cli, ["agency", "run", "--agency", "tobata.houkatsu", "--once"])
    assert "following" not in once.stderr  # --once reads to the end and says what it did


def test_the_reply_ingester_says_what_it_follows_and_whether_the_timers_run(
    dev: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "open_reply_ingester", lambda *_, **__: _Idle())
    result = runner.invoke(cli, ["replies", "run"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "replies: following walk.replies.*, with the acknowledgement timers; Ctrl-C to stop"
    )
    quiet = runner.invoke(cli, ["replies", "run", "--no-timers"])
    assert quiet.stderr.splitlines()[0] == "replies: following walk.replies.*; Ctrl-C to stop"
