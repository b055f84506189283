"""A demo run's own topics, named by the run's home and the time it started.

Each run plays on topics of its own (``<prefix>demo-<home>-<run>.``) and deletes those of
earlier runs, or the broker would fill with them: the earlier runs of its own home (whose
store it has just wiped), and any run started long enough ago to have ended. A run of
another home that may still be playing is left alone, so two demos on one broker do not
break each other."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

# Longer than any demo plays (the year at --scale 3 takes minutes).
ENDED_AFTER = timedelta(hours=6)


def home_key(home: Path) -> str:
    return hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:8]


def new_run_id(home: Path, now: datetime) -> str:
    """``<home>-<start><random>``: the start in hex seconds, then 4 random hex digits."""
    return f"{home_key(home)}-{int(now.timestamp()):x}{secrets.token_hex(2)}"


def earlier_runs_topics(topics: Iterable[str], base: str, run_id: str, now: datetime) -> list[str]:
    """The topics of ``base``'s demo runs that the run ``run_id`` deletes."""
    home = run_id.split("-", 1)[0]
    mine = f"{base}demo-{run_id}."
    doomed = []
    for topic in topics:
        if not topic.startswith(f"{base}demo-") or topic.startswith(mine):
            continue
        run = topic[len(f"{base}demo-") :].split(".", 1)[0]
        other_home, _, started = run.partition("-")
        if other_home == home or _started_before(started, now - ENDED_AFTER):
            doomed.append(topic)
    return sorted(doomed)


def _started_before(started: str, cut: datetime) -> bool:
    """A run id without a start (a release before runs were named so) counts as ended."""
    try:
        return int(started[:-4], 16) < cut.timestamp()
    except ValueError:
        return True
