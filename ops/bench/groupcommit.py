"""Group commit: a ``hub submit`` of 10k commands written in groups, against one
transaction per command and against the bare library saving the same groups.

Three sides, each on a fresh store, alternating every ``CHUNK`` lines (rotating which goes
first, so the machine's noise, mostly fsync latency, falls evenly on all three):
- group (timed): ``submit_lines`` on the chunk's JSON lines: parse, validate, reference
  checks, aggregate rules, receipts, ``execute_many``: one transaction per group.
- per command (timed): the same lines, each parsed and ``execute``d alone: one transaction
  per command, the path every command took before group commit.
- raw (timed): a bare eventsourcing ``Application`` on the library's own recorder saving
  the very events the hub saved (receipts included), in the same groups: one ``save`` per
  group, captured once from an in-memory hub run.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

from hub.application import GROUP_SIZE, HubApplication
from hub.errors import HubError
from hub.intake import parse_command_line, submit_lines
from hub.settings import Settings, StoreKind
from ops import heap, wiring
from ops.bench import workload
from ops.bench.measure import Row, Stopwatch
from ops.bench.stores import fresh_store, raw_env
from ops.bench.writepath import RawApplication

FIGURE_PATH = "group commit: submit"
FIGURE_RAW = "group commit: against the library"
TARGET_PATH = {"postgres": 5.0, "sqlite": 2.0}
TARGET_RAW = 0.8
CHUNK = 4 * GROUP_SIZE


class _CapturingHub(HubApplication):
    """Records the events of every transaction (one group), receipts included."""

    def __init__(self, env: dict[str, str]) -> None:
        self.groups: list[list[Any]] = []
        super().__init__(env)
        self.groups.clear()  # the network's import is not a command

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        recordings = super()._record(processing_event)
        self.groups.append([r.domain_event for r in recordings])
        return recordings


def lines_of(commands: int) -> list[bytes]:
    cases = -(-commands // workload.COMMANDS_PER_CASE)
    return [json.dumps(raw).encode() for raw in workload.commands(cases)[:commands]]


def capture(chunks: Sequence[Sequence[bytes]]) -> list[list[list[Any]]]:
    """Per chunk, the groups of events the hub saves for it (on an in-memory store)."""
    app = _CapturingHub(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    out: list[list[list[Any]]] = []
    for chunk in chunks:
        app.groups = []
        report = submit_lines(app, chunk)
        if report.rejected or report.duplicates:
            raise HubError(f"group commit: the workload must apply whole: {report.rejected[:1]}")
        out.append(app.groups)
    return out


def _group_chunk(app: HubApplication, chunk: Sequence[bytes]) -> float:
    with Stopwatch() as watch:
        report = submit_lines(app, chunk)
    if report.written != len(chunk):
        raise HubError(f"group commit: {len(chunk) - report.written} lines not written")
    return watch.seconds


def _alone_chunk(app: HubApplication, chunk: Sequence[bytes]) -> float:
    with Stopwatch() as watch:
        for line in chunk:
            app.execute(parse_command_line(line))  # type: ignore[arg-type]
    return watch.seconds


def _raw_chunk(app: RawApplication, groups: Sequence[Sequence[Any]]) -> float:
    with Stopwatch() as watch:
        for group in groups:
            app.save(*group)
    return watch.seconds


def run_once(
    settings: Settings, chunks: Sequence[Sequence[bytes]], groups: Sequence[Sequence[Any]]
) -> tuple[float, float, float]:
    """One repetition on three empty stores: seconds (group, per command, raw)."""
    with (
        fresh_store(settings, settings.store) as group_store,
        fresh_store(settings, settings.store) as alone_store,
        fresh_store(settings, settings.store) as raw_store,
    ):
        grouped = wiring.open_application(group_store)
        alone = wiring.open_application(alone_store)
        raw = RawApplication(env=raw_env(raw_store))
        seconds = [0.0, 0.0, 0.0]
        try:
            with heap.settled():  # as `hub submit` runs once its application is open
                for n, chunk in enumerate(chunks):
                    sides: list[Callable[[], float]] = [
                        lambda c=chunk: _group_chunk(grouped, c),  # type: ignore[misc]
                        lambda c=chunk: _alone_chunk(alone, c),  # type: ignore[misc]
                        lambda g=groups[n]: _raw_chunk(raw, g),  # type: ignore[misc]
                    ]
                    for step in range(3):
                        side = (n + step) % 3
                        seconds[side] += sides[side]()
        finally:
            grouped.close()
            alone.close()
            raw.close()
    return seconds[0], seconds[1], seconds[2]


def bench(settings: Settings, store: StoreKind, commands: int, reps: int) -> list[Row]:
    settings = settings.model_copy(update={"store": store})
    lines = lines_of(commands)
    chunks = [lines[i : i + CHUNK] for i in range(0, len(lines), CHUNK)]
    groups = capture(chunks)
    events = sum(len(g) for chunk in groups for g in chunk)
    saves = sum(len(chunk) for chunk in groups)
    runs = [run_once(settings, chunks, groups) for _ in range(reps)]
    per_command = [len(lines) / alone for _, alone, _ in runs]
    grouped = [len(lines) / group for group, _, _ in runs]
    raw_events = [events / raw for _, _, raw in runs]
    hub_events = [events / group for group, _, _ in runs]
    path_ratio = statistics.median(alone / group for group, alone, _ in runs)
    raw_ratio = statistics.median(raw / group for group, _, raw in runs)
    target = TARGET_PATH[store]
    note = (
        f"{len(lines)} commands → {events} events with receipts in {saves} transactions "
        f"(groups of ≤ {GROUP_SIZE}), {reps} rep(s), sides alternating every {CHUNK} lines"
    )
    return [
        Row(
            FIGURE_PATH,
            store,
            statistics.median(grouped),
            statistics.median(per_command),
            path_ratio,
            f"≥ {target:g}×",
            path_ratio >= target,
            "commands/s",
            f"{note}; baseline: the same lines, one transaction per command",
        ),
        Row(
            FIGURE_RAW,
            store,
            statistics.median(hub_events),
            statistics.median(raw_events),
            raw_ratio,
            f"≥ {TARGET_RAW}×",
            raw_ratio >= TARGET_RAW,
            "events/s",
            f"{note}; baseline: the library saving the same events in the same groups",
        ),
    ]
