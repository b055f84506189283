"""A long-running process's start-up heap, kept out of Python's full collections.

The relay holds what it built while catching up for as long as it follows: the network
directory, the schemas, the governance state, the imported modules. Python's cycle
collector scans every object alive in each full collection, and one of them stopped the
relay for 58–73 ms while records waited to be read (BENCHMARKS.md, end to end).
``gc.freeze`` moves what is alive to a generation no collection scans. Frozen objects are
still freed by reference counting when dropped; only a cycle among them is never
collected, which objects made at start-up and kept to the end do not need.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left behind, then keep every object alive out of the
    collections to come (call once caught up, before following)."""
    gc.collect()
    gc.freeze()
