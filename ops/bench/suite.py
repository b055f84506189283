"""Every figure of the benchmark, for the stores asked, in one run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from hub.errors import HubError
from hub.settings import Settings, StoreKind
from ops.bench import (
    api,
    endtoend,
    erasure,
    groupcommit,
    rebuild,
    relay,
    restart,
    scale,
    sealing,
    writepath,
)
from ops.bench.logs import LogSpec
from ops.bench.measure import Row, missing_row
from ops.bench.pgref import commit_rate


@dataclass(frozen=True)
class Plan:
    write_cases: int
    write_reps: int
    rebuild_log: LogSpec
    rebuild_reps: int
    relay_events: int
    relay_reps: int
    growth_small: LogSpec
    growth_large: LogSpec
    e2e_commands: int
    e2e_rate: float
    pgbench_seconds: int
    api_cases: int = 40
    api_reps: int = 3
    api_reads: int = 20
    restart_reps: int = 5
    group_commands: int = 10_000
    group_reps: int = 1
    erase_reps: int = 5
    # The scale run (``--only scale``): 1.0M and 10M events, the relay's sample.
    scale_small: LogSpec = LogSpec(56, slice=1)  # noqa: RUF009 (frozen, shared safely)
    scale_large: LogSpec = LogSpec(560, slice=1)  # noqa: RUF009
    scale_sample: int = 20_000

    @classmethod
    def quick(cls, events: int | None = None) -> Plan:
        return cls(
            write_cases=max(1, (events or 32) // 8),
            write_reps=1,
            rebuild_log=LogSpec(1, date(2025, 4, 8)),
            rebuild_reps=1,
            relay_events=events or 100,
            relay_reps=1,
            growth_small=LogSpec(1, date(2025, 4, 8), slice=1),
            growth_large=LogSpec(3, date(2025, 4, 8), slice=1),
            e2e_commands=20,
            e2e_rate=200,
            pgbench_seconds=2,
            api_cases=4,
            api_reps=1,
            api_reads=3,
            restart_reps=1,
            group_commands=300,
            erase_reps=1,
            scale_small=LogSpec(1, date(2025, 4, 8), slice=1),
            scale_large=LogSpec(4, date(2025, 4, 8), slice=1),
            scale_sample=200,
        )

    @classmethod
    def full(cls, events: int | None = None) -> Plan:
        return cls(
            write_cases=max(1, (events or 1200) // 8),
            write_reps=3,
            rebuild_log=LogSpec(1),
            rebuild_reps=3,
            relay_events=events or 2000,
            relay_reps=3,
            # The year ×1 written 6 and 56 times, ids remapped (ops/bench/replicate.py).
            growth_small=LogSpec(6, slice=1),  # 108k events
            growth_large=LogSpec(56, slice=1),  # 1.0M events
            e2e_commands=600,
            e2e_rate=200,
            pgbench_seconds=10,
        )


Progress = Callable[[str], None]


FIGURES = (
    "write",
    "relay",
    "restart",
    "rebuild",
    "growth",
    "e2e",
    "api",
    "sealing",
    "group",
    "erase",
)
# Asked for by name only (``--only scale``): minutes of building and hours of disk on a
# first run, so neither the default run nor CI makes them.
EXTRA_FIGURES = ("scale",)


def run(
    settings: Settings,
    stores: list[StoreKind],
    plan: Plan,
    progress: Progress = print,
    only: frozenset[str] = frozenset(FIGURES),
) -> tuple[list[Row], str]:
    """The rows of the figures in ``only`` for ``stores``, and the physical reference line."""
    rows: list[Row] = []
    reference = "PostgreSQL not benchmarked in this run"
    if "postgres" in stores and only & {"write", "group"}:
        progress("pgbench: raw commit rate")
        rate, how = commit_rate(settings, plan.pgbench_seconds)
        reference = (
            f"pgbench, one client, {rate:,.0f} commits/s (`{how}`)" if rate else f"none: {how}"
        )
    for store in stores:
        steps: list[tuple[str, str, Callable[[StoreKind], list[Row]], str]] = [
            (
                "write",
                "write path",
                lambda s: [writepath.bench(settings, s, plan.write_cases, plan.write_reps)],
                "≥ 0.8×",
            ),
            (
                "relay",
                "relay",
                lambda s: [
                    relay.bench(settings, s, plan.rebuild_log, plan.relay_events, plan.relay_reps)
                ],
                "≥ 0.5×",
            ),
            (
                "restart",
                "relay restart",
                lambda s: restart.bench(
                    settings, s, plan.growth_small, plan.growth_large, plan.restart_reps
                ),
                "≤ 1.5×",
            ),
            (
                "rebuild",
                "rebuild",
                lambda s: rebuild.bench(settings, s, plan.rebuild_log, plan.rebuild_reps),
                "≥ 0.5×",
            ),
            (
                "growth",
                "growth",
                lambda s: rebuild.growth_rows(settings, s, plan.growth_small, plan.growth_large),
                "time ≤ 1.05 × events ratio, memory ≤ 1.2×",
            ),
            (
                "e2e",
                "end to end p50/p99",
                lambda s: endtoend.bench(settings, s, plan.e2e_commands, plan.e2e_rate),
                "p99 ≤ baseline + 50 ms",
            ),
            (
                "sealing",
                "sealed/plain",
                lambda s: [
                    sealing.write_bench(settings, s, plan.write_cases, plan.write_reps),
                    sealing.relay_bench(
                        settings, s, plan.rebuild_log, plan.relay_events, plan.relay_reps
                    ),
                ],
                "≥ 0.8×",
            ),
            (
                "api",
                "HTTP API",
                lambda s: api.bench(settings, s, plan.api_cases, plan.api_reps, plan.api_reads),
                "≥ 0.7×; inbox p99 ≤ baseline + 50 ms",
            ),
            (
                "group",
                "group commit",
                lambda s: groupcommit.bench(settings, s, plan.group_commands, plan.group_reps),
                "≥ 5× (PostgreSQL), ≥ 2× (SQLite) per command; ≥ 0.8× the library",
            ),
            (
                "erase",
                "erasure",
                lambda s: [
                    erasure.bench(
                        settings, s, plan.growth_small, plan.growth_large, plan.erase_reps
                    )
                ],
                "≤ 1.5×",
            ),
            (
                "scale",
                "scale run",
                lambda s: scale.bench(
                    settings, s, plan.scale_small, plan.scale_large, plan.scale_sample, progress
                ),
                "time ≤ 1.05 × events ratio, memory ≤ 1.2×",
            ),
        ]
        for key, name, step, target in steps:
            if key not in only:
                continue
            progress(f"{store}: {name}")
            try:
                rows += step(store)
            except (HubError, OSError) as error:
                rows.append(missing_row(name, store, target, f"{type(error).__name__}: {error}"))
    return rows, reference
