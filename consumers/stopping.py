"""Graceful stop: SIGINT/SIGTERM only flip a flag; the loop finishes its record and commits."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopFlag:
    def __init__(self) -> None:
        self.requested = False
        self.signal: int | None = None

    def request(self, signum: int = 0, _frame: FrameType | None = None) -> None:
        self.requested = True
        self.signal = signum or None


@contextmanager
def stop_on_signals(flag: StopFlag) -> Iterator[StopFlag]:
    previous = {sig: signal.signal(sig, flag.request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def set_on_signals(event: threading.Event) -> None:
    """SIGINT/SIGTERM set ``event``, once: a later signal returns without touching it.

    ``Event.set`` takes the event's lock, and a handler runs in the main thread between two
    of its steps: a second signal (Ctrl-C twice, a supervisor's TERM after an operator's)
    handled inside the first one's ``set`` waited for the lock its own thread held, and the
    process never stopped (`hub follow` after a power cut's restart script sent two)."""
    requested = False

    def request(_signum: int, _frame: FrameType | None) -> None:
        nonlocal requested
        if requested:
            return
        requested = True
        event.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request)
