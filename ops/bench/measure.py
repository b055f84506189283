"""Interleaved repetitions and the rows of the results table."""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


def growth_pair(
    figures: tuple[str, str], store: str, base: dict[str, Any], big: dict[str, Any], note: str
) -> list[Row]:
    """The time and peak-memory rows (``figures``) of one task run on a small log (``base``)
    and a large one (``big``), each with ``seconds``, ``max_rss_kib`` and ``log_events``:
    time within 1.05 × the events ratio, memory within 1.2×."""
    factor = big["log_events"] / base["log_events"]
    limit = 1.05 * factor  # 10.5× for 10× the events
    time_ratio = big["seconds"] / base["seconds"]
    memory_ratio = big["max_rss_kib"] / base["max_rss_kib"]
    return [
        Row(
            figures[0],
            store,
            big["seconds"],
            base["seconds"],
            time_ratio,
            f"≤ {limit:.1f}× (1.05 × events ratio)",
            time_ratio <= limit,
            unit="s",
            note=note,
        ),
        Row(
            figures[1],
            store,
            big["max_rss_kib"] / 1024,
            base["max_rss_kib"] / 1024,
            memory_ratio,
            "≤ 1.2×",
            memory_ratio <= 1.2,
            unit="MiB (peak RSS, VmHWM)",
            note=note,
        ),
    ]


def missing_row(figure: str, store: str, target: str, why: str) -> Row:
    return Row(figure, store, None, None, None, target, None, note=f"not measured: {why}")


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def peak_rss_kib() -> int:
    """This process's own peak resident memory, KiB. Not ``ru_maxrss``: a child started by
    ``subprocess`` inherits its parent's RSS there (Linux keeps the larger of the two across
    ``exec``), so a child's figure never drops below what its parent held when it started.
    ``VmHWM`` is the high-water mark of this process's own memory map."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _own_peak_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _children() -> list[int]:
    mine = str(os.getpid())
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == mine:  # the field after the state: the parent's pid
            found.append(int(name))
    return found


class ChildrenPeak:
    """The peak resident memory of this process's children while in the block: each
    child's own ``VmHWM``, last seen (it only grows), summed over the children. A rebuild
    decodes the log in a second process (``projections.decoding``) that is gone before the
    parent's own figure is read; a thread looks every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._seen: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while True:
            for pid in _children():
                peak = _own_peak_kib(pid)
                if peak is not None:
                    self._seen[pid] = max(peak, self._seen.get(pid, 0))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def kib(self) -> int:
        return sum(self._seen.values())
