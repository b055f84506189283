"""Rebuild: every projection from scratch against reading the same notifications.

Hub side: drop every projection's view and replay the whole log into them in one pass
(``projections.runner.rebuild_all``: read and decode each batch once, fold each view in
memory, write each view with its tracking row every ``FOLD_CHUNK`` events and at the end,
reading rows back from the view when a later chunk touches them). Baseline: the same reads,
batch by batch with the same batch size, doing nothing with them. Figures are log events
per second of a full rebuild (all projections).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from typing import Any

from hub.application import HubApplication
from hub.errors import HubError
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench.logs import LogSpec, ensure_log, log_settings
from ops.bench.measure import (
    ChildrenPeak,
    Row,
    Stopwatch,
    growth_pair,
    peak_rss_kib,
    rotated,
    throughput_row,
)
from projections.decoding import decode
from projections.follow import LogPoller
from projections.runner import PROJECTIONS, rebuild_all

FIGURE = "rebuild"
TARGET = 0.5
BATCH = 500


def rebuild_views(app: HubApplication, target: Settings) -> float:
    with Stopwatch() as watch:
        projections = wiring.open_projections(target, PROJECTIONS, rebuilding=True)
        rebuild_all(projections, app, batch_size=BATCH)
    return watch.seconds


def read_all(app: HubApplication) -> float:
    with Stopwatch() as watch:
        for _batch in LogPoller(app.recorder, batch_size=BATCH).batches(None):
            pass
    return watch.seconds


def read_and_decode(app: HubApplication) -> float:
    with Stopwatch() as watch:
        for batch in LogPoller(app.recorder, batch_size=BATCH).batches(None):
            decode(app, batch)
    return watch.seconds


def bench(settings: Settings, store: StoreKind, spec: LogSpec, reps: int) -> list[Row]:
    """The rebuild row, and a reference row: reading and decoding alone against reading,
    the part of any rebuild that no view's code can avoid."""
    target, size = ensure_log(settings, store, spec)
    app = wiring.open_application(target)
    try:
        hubs, bases, decodes = rotated(
            reps,
            lambda: size / rebuild_views(app, target),
            lambda: size / read_all(app),
            lambda: size / read_and_decode(app),
        )
    finally:
        app.close()
    note = f"{spec}: {size} events, {len(PROJECTIONS)} projections, {reps} reps"
    floor = throughput_row(FIGURE, store, decodes, bases, TARGET, note)
    return [
        throughput_row(FIGURE, store, hubs, bases, TARGET, note),
        replace(
            floor,
            figure="rebuild floor: read + decode, no view",
            target="(reference)",
            met=None,
            note=f"{spec}: the same reads, each event decoded once (JSON, pydantic), {reps} reps",
        ),
    ]


# Growth: one rebuild per subprocess, so peak memory belongs to that run alone ---------------


def measure_once(
    settings: Settings, store: StoreKind, spec: LogSpec, task: str = "rebuild"
) -> dict[str, Any]:
    """Rebuilds every projection of the log of ``spec`` (``task`` "rebuild"), or only reads
    and decodes it ("decode": the floor no view's code can go under); seconds and peak RSS
    (KiB)."""
    target = log_settings(settings, store, spec)
    app = wiring.open_application(target)
    try:
        size = int(app.recorder.max_notification_id() or 0)
        with ChildrenPeak() as children:  # a rebuild's decoding process
            seconds = rebuild_views(app, target) if task == "rebuild" else read_and_decode(app)
    finally:
        app.close()
    peak = peak_rss_kib() + children.kib
    return {"events": size, "log_events": size, "seconds": seconds, "max_rss_kib": peak}


def growth_run(
    settings: Settings, store: StoreKind, spec: LogSpec, task: str = "rebuild"
) -> dict[str, Any]:
    ensure_log(settings, store, spec)
    started = time.perf_counter()
    until = spec.until.isoformat() if spec.until else ""
    args = [store, str(spec.scale), until, str(spec.slice), task]
    done = subprocess.run(
        [sys.executable, "-m", "ops.bench.rebuild", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HubError(f"the {task} of the {spec} on {store} failed: {last[:300]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    return result


def growth_rows(settings: Settings, store: StoreKind, small: LogSpec, large: LogSpec) -> list[Row]:
    """Rebuild time and peak memory of the ``large`` log against the run on ``small``, and
    for reference the time of reading and decoding alone, on the same logs."""
    base = growth_run(settings, store, small)
    big = growth_run(settings, store, large)
    sizes = f"{base['events']} → {big['events']} events ({big['events'] / base['events']:.1f}×)"
    figures = ("growth: rebuild time", "growth: peak memory")
    rows = growth_pair(figures, store, base, big, sizes)
    floor = [growth_run(settings, store, spec, "decode")["seconds"] for spec in (small, large)]
    rows.append(
        Row(
            "growth floor: read + decode, no view: time",
            store,
            floor[1],
            floor[0],
            floor[1] / floor[0],
            "(reference)",
            None,
            unit="s",
            note=f"{sizes}, the same logs, each in a fresh process",
        )
    )
    return rows


if __name__ == "__main__":
    # The settings come from the environment (HUB_*), as the parent's did.
    _store, _scale, _until, _slice = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    _task = sys.argv[5] if len(sys.argv) > 5 else "rebuild"
    _spec = LogSpec(_scale, date.fromisoformat(_until) if _until else None, slice=_slice)
    print(json.dumps(measure_once(Settings(), _store, _spec, _task)))  # type: ignore[arg-type]
