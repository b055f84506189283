"""Interleaved repetitions and the rows of the results table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    store: str
    hub: float | None
    baseline: float | None
    ratio: float | None
    target: str
    met: bool | None
    unit: str = ""
    note: str = ""


def interleaved(
    reps: int, hub: Callable[[], float], baseline: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Runs hub and baseline ``reps`` times each, alternating which goes first.

    Each callable returns its own figure (e.g. events/s) for one repetition.
    """
    hubs, bases = rotated(reps, hub, baseline)
    return hubs, bases


def rotated(reps: int, *sides: Callable[[], float]) -> list[list[float]]:
    """Runs every side ``reps`` times, rotating which goes first; figures per side."""
    figures: list[list[float]] = [[] for _ in sides]
    for rep in range(reps):
        for step in range(len(sides)):
            index = (rep + step) % len(sides)
            figures[index].append(sides[index]())
    return figures


def throughput_row(
    figure: str, store: str, hubs: list[float], bases: list[float], minimum: float, note: str = ""
) -> Row:
    """A row for an events/s figure: medians and the median of the per-repetition ratios."""
    ratio = statistics.median(h / b for h, b in zip(hubs, bases, strict=True))
    return Row(
        figure=figure,
        store=store,
        hub=statistics.median(hubs),
        baseline=statistics.median(bases),
        ratio=ratio,
        target=f"≥ {minimum}×",
        met=ratio >= minimum,
        unit="events/s",
        note=note,
    )


def missing_row(figure: str, store: str, target: str, why: str) -> Row:
    return Row(figure, store, None, None, None, target, None, note=f"not measured: {why}")


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
