"""The relay and the agency client of the end-to-end benchmark, each in a process of its own.

As in production (`hub relay`, `hub agency run`), so that neither shares a GIL with the
process executing commands. Settings come from the environment (HUB_*), as the parent's
benchmark store and topic prefix were handed down.

    python -m ops.bench.e2e_parts relay
    python -m ops.bench.e2e_parts agency <agency id> <inbox path> <referrals expected>

Each prints ``ready`` on stdout when it is (the relay after publishing what the log held at
its start). The agency side then, when every expected referral is in its inbox, prints one
JSON line: ``{"arrived": {referral id: wall time}, "sizes": [record bytes]}``. Wall times
(``time.time()``) compare across processes on one machine.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from consumers.agency import AgencyConsumer
from consumers.config import ConsumerSettings
from consumers.stopping import StopFlag, stop_on_signals
from hub import topics
from hub.logging import configure_logging
from hub.settings import Settings
from ops import wiring

RELAY_POLL_SECONDS = 0.005


def run_relay(settings: Settings) -> None:
    relay = wiring.open_relay(settings)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        relay.drain()  # what the log holds already (the cases opened untimed)
        print("ready", flush=True)
        relay.follow(stopping, RELAY_POLL_SECONDS)
    finally:
        relay.close()


def run_agency(settings: Settings, agency_id: str, inbox_path: Path, expected: int) -> None:
    arrived: dict[str, float] = {}
    sizes: list[int] = []
    stop = StopFlag()
    group = topics.agency_group(settings, agency_id, f"bench-{int(time.time() * 1000)}")
    consumer = wiring.open_agency_consumer(
        settings, agency_id, ConsumerSettings(agency_inbox_path=inbox_path), group=group
    )
    _watch_inbox(consumer, arrived, sizes, expected, stop)
    print("ready", flush=True)
    with stop_on_signals(stop):
        try:
            consumer.run(stop)
        finally:
            consumer.close()
    print(json.dumps({"arrived": arrived, "sizes": sizes}), flush=True)


def _watch_inbox(
    consumer: AgencyConsumer,
    arrived: dict[str, float],
    sizes: list[int],
    expected: int,
    stop: StopFlag,
) -> None:
    """Notes when each referral's row is committed to the inbox; stops after the last."""
    apply = consumer.inbox.apply
    handle = consumer.handle

    def timed_apply(entry: Any) -> bool:
        done = apply(entry)
        if done and entry.event_type == "ReferralMade" and entry.referral_id:
            arrived[str(entry.referral_id)] = time.time()
            if len(arrived) >= expected:
                stop.request()
        return done

    def sized_handle(record: Any) -> str:
        sizes.append(len(record.value))
        return handle(record)

    consumer.inbox.apply = timed_apply  # type: ignore[method-assign]
    consumer.handle = sized_handle  # type: ignore[method-assign]


if __name__ == "__main__":
    _settings = Settings()
    configure_logging(_settings.log_format, _settings.log_level)  # to stderr: stdout is ours
    if sys.argv[1] == "relay":
        run_relay(_settings)
    else:
        run_agency(_settings, sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
