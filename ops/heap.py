"""A long-running process's start-up heap, kept out of Python's full collections.

``hub relay``, ``hub agency run``, ``hub replies run``, ``hub follow`` and ``hub serve`` hold
what they built at their start for as long as they run: the imported modules, the schemas,
the network directory, and for the relay the governance state it folded while catching up.
Python's cycle collector scans every object alive in each full collection: ~100,000 of
them, 51–73 ms during which the relay read nothing, and 68 ms in an agency's client
(BENCHMARKS.md, end to end). ``gc.freeze`` moves what is alive to a generation that no
collection scans (1.0–1.7 ms a full collection after it). Frozen objects are still freed
by reference counting when dropped; only a cycle among them is never collected, which
objects made at start-up and kept to the end do not need.

``hub submit`` runs a file of commands through the application it opened, which holds the
same start-up heap: an eighth of a grouped command's time went to collections before it
settled (BENCHMARKS.md, group commit). It is bounded, so it puts the heap back when done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def settle() -> None:
    """Collect what start-up left behind, then keep every object alive out of the
    collections to come (call once caught up, before following)."""
    gc.collect()
    gc.freeze()


@contextmanager
def settled() -> Iterator[None]:
    """``settle`` for a bounded job; on leaving, what it froze goes back to the
    collections (unless the process had settled before: then it stays as it was)."""
    frozen_before = gc.get_freeze_count()
    settle()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()
