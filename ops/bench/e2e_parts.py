"""The relay and the agency client of the end-to-end benchmark, each in a process of its own.

As in production (`hub relay`, `hub agency run`), so that neither shares a GIL with the
process executing commands. Settings come from the environment (HUB_*), as the parent's
benchmark store and topic prefix were handed down.

    python -m ops.bench.e2e_parts relay
    python -m ops.bench.e2e_parts agency <agency id> <inbox path> <referrals expected> <warm-up>

Each prints ``ready`` on stdout when it is (the relay after publishing what the log held at
its start). The agency side prints ``warm`` once the first ``warm-up`` referrals are in its
inbox, then, when every expected referral is, one JSON line: ``{"arrived": {referral id:
wall time}, "sizes": [record bytes], "positions": {referral id: position}, "stages":
{position: [sent, polled, offset committed]}, "cpu": seconds}`` (CPU since ``warm``); the
relay, when stopped, ``{"stages": {position: [read, acknowledged, position stored]},
"cpu_read": {position: CPU seconds when read}, "cpu_end": CPU seconds}`` (CPU time of the
process, all its threads).
Wall times (``time.time()``) compare across processes on one machine.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consumers.agency import AgencyConsumer
from consumers.config import ConsumerSettings
from consumers.stopping import StopFlag, stop_on_signals
from hub import topics
from hub.logging import configure_logging
from hub.settings import Settings
from ops import heap, wiring
from producers.relay import Relay


def run_relay(settings: Settings) -> None:
    relay = wiring.open_relay(settings)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stages: dict[int, list[float]] = {}
    cpu_read: dict[int, float] = {}
    try:
        relay.drain()  # what the log holds already (the cases opened untimed)
        _time_relay(relay, stages, cpu_read)
        print("ready", flush=True)
        relay.follow(stopping, caught_up=heap.settle)  # as `hub relay` follows
        cpu_end = time.process_time()
    finally:
        relay.close()
    print(json.dumps({"stages": stages, "cpu_read": cpu_read, "cpu_end": cpu_end}), flush=True)


def _time_relay(relay: Relay, stages: dict[int, list[float]], cpu_read: dict[int, float]) -> None:
    """Notes, for each position, when the relay read it, when the broker acknowledged its
    batch and when the batch's position was stored; and the process's CPU time when it
    read it."""
    select = relay.app.recorder.select_notifications
    flush = relay._flush
    record = relay.ledger.record
    batch: list[int] = []

    def timed_select(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        now, cpu = time.time(), time.process_time()
        if kwargs.get("stop") is None:  # not a rebuild's fold
            batch[:] = [n.id for n in found]
            for position in batch:
                stages[position] = [now]
                cpu_read[position] = cpu
        return found

    def timed_flush(futures: list[Any]) -> None:
        flush(futures)
        now = time.time()
        for position in batch:  # the chain head's flush, then the records': the last counts
            del stages[position][1:]
            stages[position].append(now)

    def timed_record(*args: Any, **kwargs: Any) -> None:
        record(*args, **kwargs)
        now = time.time()
        for position in batch:
            stages[position].append(now)

    relay.app.recorder.select_notifications = timed_select  # type: ignore[method-assign]
    relay._flush = timed_flush  # type: ignore[method-assign]
    relay.ledger.record = timed_record  # type: ignore[method-assign]


def run_agency(
    settings: Settings, agency_id: str, inbox_path: Path, expected: int, warm_up: int
) -> None:
    arrived: dict[str, float] = {}
    sizes: list[int] = []
    positions: dict[str, str] = {}
    stages: dict[str, list[float]] = {}
    stop = StopFlag()
    group = topics.agency_group(settings, agency_id, f"bench-{int(time.time() * 1000)}")
    consumer = wiring.open_agency_consumer(
        settings, agency_id, ConsumerSettings(agency_inbox_path=inbox_path), group=group
    )
    started = [0.0]

    def warm() -> None:
        print("warm", flush=True)
        started[0] = time.process_time()

    _watch_inbox(consumer, arrived, sizes, positions, (warm_up, warm), expected, stop)
    _time_polls(consumer, stages)
    print("ready", flush=True)
    if not warm_up:
        warm()
    heap.settle()  # as `hub agency run` does once started
    with stop_on_signals(stop):
        try:
            consumer.run(stop)
        finally:
            consumer.close()
    found = {
        "arrived": arrived,
        "sizes": sizes,
        "positions": positions,
        "stages": stages,
        "cpu": time.process_time() - started[0],
    }
    print(json.dumps(found), flush=True)


def _watch_inbox(
    consumer: AgencyConsumer,
    arrived: dict[str, float],
    sizes: list[int],
    positions: dict[str, str],
    warm_up: tuple[int, Callable[[], None]],
    expected: int,
    stop: StopFlag,
) -> None:
    """Notes when each referral's row is committed to the inbox (its poll's batch ends),
    and its record's position; calls ``warm_up[1]`` once ``warm_up[0]`` are in, stops
    after the last."""
    apply, batch, handle = consumer.inbox.apply, consumer.inbox.batch, consumer.handle
    handling = [""]
    pending: list[str] = []
    warming = [warm_up[0]]

    def timed_apply(entry: Any, *, late: bool = False) -> bool:
        done = apply(entry, late=late)
        if done and entry.event_type == "ReferralMade" and entry.referral_id:
            pending.append(str(entry.referral_id))
            positions[str(entry.referral_id)] = handling[0]
        return done

    @contextmanager
    def timed_batch() -> Iterator[None]:
        pending.clear()
        with batch():
            yield
        now = time.time()
        for referral in pending:
            arrived[referral] = now
        if warming[0] and len(arrived) >= warming[0]:
            warming[0] = 0
            warm_up[1]()
        if len(arrived) >= expected:
            stop.request()

    def sized_handle(record: Any) -> str:
        sizes.append(len(record.value))
        handling[0] = record.header("position") or ""
        return handle(record)

    consumer.inbox.apply = timed_apply  # type: ignore[method-assign]
    consumer.inbox.batch = timed_batch  # type: ignore[method-assign]
    consumer.handle = sized_handle  # type: ignore[method-assign]


def _time_polls(consumer: AgencyConsumer, stages: dict[str, list[float]]) -> None:
    """Notes, for each record (by its position header), its timestamp (the relay's ``send``),
    when the poll returned it and when its offset was committed."""
    source: Any = consumer.source
    poll, commit = source.poll, source.commit
    kafka = source._consumer
    fetch = kafka.poll
    created: dict[tuple[int, int], float] = {}
    polled: list[str] = []

    def timed_fetch(*args: Any, **kwargs: Any) -> Any:
        batches = fetch(*args, **kwargs)
        for records in batches.values():
            for r in records:
                created[(r.partition, r.offset)] = r.timestamp / 1000
        return batches

    def timed_poll() -> list[Any]:
        records = poll()
        now = time.time()
        polled.clear()
        for r in records:
            position = r.header("position") or ""
            stages[position] = [created.pop((r.partition, r.offset), 0.0), now]
            polled.append(position)
        return records

    def timed_commit(offsets: Any) -> None:
        commit(offsets)
        now = time.time()
        for position in polled:
            stages[position].append(now)

    kafka.poll = timed_fetch
    source.poll = timed_poll
    source.commit = timed_commit


if __name__ == "__main__":
    _settings = Settings()
    configure_logging(_settings.log_format, _settings.log_level)  # to stderr: stdout is ours
    if sys.argv[1] == "relay":
        run_relay(_settings)
    else:
        run_agency(_settings, sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
