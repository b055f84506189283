"""A following relay says once when it has caught up with the log (``hub relay`` then keeps
its start-up heap out of the cycle collector's full collections: ``ops.heap``)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from hub.application import HubApplication
from hub.settings import Settings
from ops.wiring import open_ledger
from producers.relay import Relay
from tests import factories as f
from tests.faults import history
from tests.unit.test_access_log import FakeProducer


def test_a_following_relay_says_once_that_it_has_caught_up_then_goes_on(tmp_path: Path) -> None:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    app = HubApplication(env=settings.eventsourcing_env())
    history.apply(app, history.generate(7301, 3))
    relay = Relay(settings, app, open_ledger(settings), FakeProducer(), batch_size=9)
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def caught_up() -> None:
        end = app.recorder.max_notification_id() or 0
        seen.append((relay.state.position, end))
        app.execute(f.discovery(occurred_at=f.at(400)))  # recorded while it follows

    def stop_when_published() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stop.is_set():
            if seen and relay.state.position > seen[0][1]:
                break
            time.sleep(0.01)
        stop.set()

    watcher = threading.Thread(target=stop_when_published)
    watcher.start()
    try:
        relay.follow(stop, poll_seconds=0.05, caught_up=caught_up)
    finally:
        stop.set()
        watcher.join()
        app.close()
    assert len(seen) == 1
    position, end = seen[0]
    assert position == end > 0  # the whole log read at the start was published first
    assert relay.state.position > end  # and the event recorded after was published too


def test_after_settling_the_objects_alive_are_left_out_of_every_collection() -> None:
    # In a process of its own: freezing the test process's heap would outlive this test.
    program = (
        "import gc\n"
        "from ops import heap\n"
        "kept = [[n] for n in range(10_000)]\n"
        "before = len(gc.get_objects())\n"
        "heap.settle()\n"
        "after = len(gc.get_objects())\n"
        "assert gc.get_freeze_count() >= len(kept), gc.get_freeze_count()\n"
        "assert after < before - len(kept), (before, after)\n"
        "assert all(len(k) == 1 for k in kept)\n"  # frozen, still there
        "with heap.settled():\n"  # a bounded job inside a settled process
        "    pass\n"
        "assert gc.get_freeze_count() >= len(kept), 'a bounded job thawed the process'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
