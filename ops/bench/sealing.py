"""Sealed against plain, side by side in one run (BENCHMARKS.md): the write path and the
relay with the personal fields sealed at rest, against the same hub with
``HUB_SEAL_PERSONAL=false``."""

from __future__ import annotations

from dataclasses import replace

from hub.commands import COMMAND_ADAPTER
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench import workload
from ops.bench.logs import LogSpec
from ops.bench.measure import Row, Stopwatch, interleaved, throughput_row
from ops.bench.relay import TOPIC_PREFIX, RecordingProducer, _relay_once, log_prefix
from ops.bench.stores import fresh_store
from producers.provision import provision

WRITE_FIGURE = "write path sealed/plain"
RELAY_FIGURE = "relay sealed/plain"
TARGET = 0.8


def _plain(settings: Settings) -> Settings:
    return settings.model_copy(update={"seal_personal": False})


def write_bench(settings: Settings, store: StoreKind, cases: int, reps: int) -> Row:
    """The hub's write path sealing personal fields against the same hub writing them plain:
    the same commands, fresh stores each repetition, sides alternating by chunks."""
    settings = settings.model_copy(update={"store": store})
    raw_commands = workload.commands(cases)
    chunk = 8 * workload.COMMANDS_PER_CASE
    hubs: list[float] = []
    bases: list[float] = []
    for _ in range(reps):
        with (
            fresh_store(settings, store) as sealed_store,
            fresh_store(_plain(settings), store) as plain_store,
        ):
            sealed = wiring.open_application(sealed_store)
            plain = wiring.open_application(_plain(plain_store))
            try:
                seconds = {"sealed": 0.0, "plain": 0.0}
                for n, start in enumerate(range(0, len(raw_commands), chunk)):
                    part = raw_commands[start : start + chunk]
                    sides = [("sealed", sealed), ("plain", plain)]
                    for side, app in sides if n % 2 == 0 else reversed(sides):
                        with Stopwatch() as watch:
                            for raw in part:
                                app.execute(COMMAND_ADAPTER.validate_python(raw))
                        seconds[side] += watch.seconds
            finally:
                sealed.close()
                plain.close()
        hubs.append(len(raw_commands) / seconds["sealed"])
        bases.append(len(raw_commands) / seconds["plain"])
    note = f"{len(raw_commands)} commands per rep, {reps} reps; baseline: HUB_SEAL_PERSONAL=false"
    row = throughput_row(WRITE_FIGURE, store, hubs, bases, TARGET, note)
    return replace(row, unit="commands/s")


def relay_bench(settings: Settings, store: StoreKind, spec: LogSpec, events: int, reps: int) -> Row:
    """The relay draining a sealed log (decrypting every personal field) against the same
    log stored plain, to the same broker."""
    settings = settings.model_copy(update={"store": store, "kafka_topic_prefix": TOPIC_PREFIX})
    log = log_prefix(settings, store, spec, events)
    recorder = RecordingProducer()
    _relay_once(settings, log, recorder)
    agencies = sorted(
        {
            s.topic.removeprefix(f"{TOPIC_PREFIX}referrals.")
            for b in recorder.batches
            for s in b
            if s.topic.startswith(f"{TOPIC_PREFIX}referrals.")
        }
    )
    provision(settings, agencies)
    producer = wiring.open_producer(settings)
    try:
        hubs, bases = interleaved(
            reps,
            lambda: len(log) / _relay_once(settings, log, producer),
            lambda: len(log) / _relay_once(_plain(settings), log, producer),
        )
    finally:
        producer.close()
    note = f"first {len(log)} events of the {spec}, {reps} reps; baseline: the log stored plain"
    return throughput_row(RELAY_FIGURE, store, hubs, bases, TARGET, note)
