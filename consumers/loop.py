"""The loop both consumers share: poll, handle each record in order, commit what was handled.

Offsets are committed only after the records' effects (inbox rows, hub commands), so a crash
in between redelivers records whose event ids make them no-ops.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from consumers.ports import InRecord, Source
from consumers.stopping import StopFlag


def step(
    source: Source,
    handle: Callable[[InRecord], object],
    stop: StopFlag,
    batch: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> bool:
    """Handles one poll's records (inside ``batch``: the effects committed when it ends) and
    commits their offsets; whether there were any."""
    records = source.poll()
    done: dict[tuple[str, int], int] = {}
    with batch():
        for record in records:
            if stop.requested:
                break
            handle(record)
            done[(record.topic, record.partition)] = record.offset + 1
    if done:
        source.commit(done)
    return bool(records)


def run(
    source: Source,
    handle: Callable[[InRecord], object],
    stop: StopFlag,
    *,
    once: bool = False,
    tick: Callable[[], object] | None = None,
    batch: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> None:
    """Consumes until stopped (or, with ``once``, until caught up); ``tick`` after each poll."""
    while not stop.requested:
        had_records = step(source, handle, stop, batch)
        if tick is not None and not stop.requested:
            tick()
        if once and not had_records and source.caught_up():
            break
