"""Python's cycle collector held back while a long read of the log runs.

A rebuild creates and drops millions of small objects (each event's payload, the rows the
folds hold), and the collector, started by allocations alone, scanned the objects alive
again and again: a tenth of a rebuild of the 1.0M-event log (BENCHMARKS.md, scale run).
Reference counting still frees nearly all of them at once; what is left in cycles (an
error's traceback, say) waits for the caller's ``collect`` at a quiet point (the young
objects only) or for the whole collection on leaving. The collector is process-wide:
paused here, it is paused for every thread.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _collect_young() -> int:
    return gc.collect(1)


@contextmanager
def collected_by_hand() -> Iterator[Callable[[], int]]:
    """The collector paused; yields ``collect`` (of the objects made since the last one),
    to run where the caller holds little. On leaving, one whole collection, then the
    collector as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield _collect_young
    finally:
        gc.collect()
        if enabled:
            gc.enable()
