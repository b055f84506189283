"""Graceful stop: SIGINT/SIGTERM only flip a flag; the loop finishes its record and commits."""

from __future__ import annotations

import signal
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
