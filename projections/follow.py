"""Follow the notification log by polling: in order, without gaps or repeats.

Readers of the log (projections, the relay) read ``select_notifications`` after the last
position they stored; when caught up they wait for the next commit (``hub.log_waits``), the
interval at most. Generic: it knows notifications and positions only, nothing of what a
reader does with them.

Why polling has no gaps: both stores commit notifications in id order (SQLite has one
writer at a time; the library's PostgreSQL recorder locks the table for each insert), so a
reader that has seen id N never later finds a committed id below N.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from eventsourcing.persistence import ApplicationRecorder, Notification


class LogPoller:
    def __init__(
        self, recorder: ApplicationRecorder, *, batch_size: int = 500, interval: float = 0.2
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.recorder = recorder
        self.batch_size = batch_size
        self.interval = interval

    def read(self, after: int | None, *, stop: int | None = None) -> Sequence[Notification]:
        """At most one batch of notifications after position ``after`` (None: from the start)."""
        if after is None:
            return self.recorder.select_notifications(start=None, limit=self.batch_size, stop=stop)
        return self.recorder.select_notifications(
            start=after, limit=self.batch_size, stop=stop, inclusive_of_start=False
        )

    def batches(
        self, after: int | None, *, stop: int | None = None
    ) -> Iterator[Sequence[Notification]]:
        """Batches after ``after`` until the log (or ``stop``) is reached; memory stays flat."""
        position = after
        while True:
            batch = self.read(position, stop=stop)
            if not batch:
                return
            yield batch
            position = batch[-1].id
            if stop is not None and position >= stop:
                return

    def follow(
        self, after: int | None, stopping: threading.Event
    ) -> Iterator[Sequence[Notification]]:
        """Batches forever (waiting ``interval`` when caught up) until ``stopping`` is set."""
        position = after
        while not stopping.is_set():
            batch = self.read(position)
            if not batch:
                stopping.wait(self.interval)
                continue
            yield batch
            position = batch[-1].id
