"""A demo deletes the topics of earlier runs, never those of another home's run that may
still be playing (two `hub demo --home` on one broker deleted each other's topics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops.demo.runs import ENDED_AFTER, earlier_runs_topics, home_key, new_run_id

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
BASE = "t1."


def _topics(run_id: str) -> list[str]:
    return [f"{BASE}demo-{run_id}.referrals.moji.houkatsu", f"{BASE}demo-{run_id}.audit.consent"]


def test_a_run_deletes_its_homes_earlier_runs_and_runs_long_ended_only(tmp_path: Path) -> None:
    mine = new_run_id(tmp_path / "a", NOW)
    earlier_here = new_run_id(tmp_path / "a", NOW - timedelta(minutes=3))
    playing_elsewhere = new_run_id(tmp_path / "b", NOW - timedelta(minutes=3))
    ended_elsewhere = new_run_id(tmp_path / "c", NOW - ENDED_AFTER - timedelta(minutes=1))
    before_homes = "1a2b3c4d"  # a run id of a release before runs were named by home
    topics = [
        *_topics(mine),
        *_topics(earlier_here),
        *_topics(playing_elsewhere),
        *_topics(ended_elsewhere),
        *_topics(before_homes),
        "t1.referrals.moji.houkatsu",  # the tenant's own, no demo's
        "t2.demo-x.audit.consent",  # another tenant's demo
    ]

    doomed = earlier_runs_topics(topics, BASE, mine, NOW)

    assert doomed == sorted(
        [*_topics(earlier_here), *_topics(ended_elsewhere), *_topics(before_homes)]
    )


def test_a_run_id_names_its_home_and_differs_between_runs(tmp_path: Path) -> None:
    first, second = new_run_id(tmp_path, NOW), new_run_id(tmp_path, NOW)
    assert first.split("-")[0] == second.split("-")[0] == home_key(tmp_path)
    assert home_key(tmp_path / "other") != home_key(tmp_path)
    assert int(first.split("-")[1][:-4], 16) == int(NOW.timestamp())  # when it started
