"""Write path: commands through ``HubApplication.execute`` against a bare library save.

Hub side (timed): validate each command dict into a command, ``execute`` it (reference
checks, aggregate rules, receipt, one atomic save, hash chain).
Baseline (timed): a bare eventsourcing ``Application`` on the library's own recorder saves
the very same domain events (captured once from an in-memory hub run), one ``save`` per
command, without receipts. Both sides start from an empty store each repetition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Recording

from hub.application import HubApplication
from hub.commands import COMMAND_ADAPTER
from hub.domain.others import CommandReceipt
from hub.errors import HubError
from hub.settings import Settings, StoreKind
from hub.transcoding import register_payloads
from ops import wiring
from ops.bench import workload
from ops.bench.measure import Row, Stopwatch, throughput_row
from ops.bench.stores import fresh_store, raw_env

FIGURE = "write path"
TARGET = 0.8


class RawApplication(Application[UUID]):
    """The library alone: the hub's payload transcodings and nothing else."""

    name = "raw"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_payloads(transcoder)


class _CapturingHub(HubApplication):
    """Records, per command, the domain events the hub saved (receipts left out)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.batches: list[list[Any]] = []
        super().__init__(env)
        self.batches.clear()  # the network's import is not a command

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        recordings = super().save(*objs, **kwargs)
        self.batches.append(
            [
                r.domain_event
                for r in recordings
                if not isinstance(r.domain_event, CommandReceipt.Event)
            ]
        )
        return recordings


def capture(raw_commands: Sequence[dict[str, Any]]) -> list[list[Aggregate.Event]]:
    app = _CapturingHub(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for raw in raw_commands:
        app.execute(COMMAND_ADAPTER.validate_python(raw))
    return app.batches


def run_pair(
    settings: Settings,
    raw_commands: Sequence[dict[str, Any]],
    batches: Sequence[Sequence[Any]],
    chunk: int,
) -> tuple[float, float]:
    """One repetition: both sides on empty stores, alternating chunks of commands.

    Alternating every ``chunk`` commands (and which side goes first) spreads the machine's
    noise, mostly fsync latency, evenly over both sides. Returns seconds (hub, baseline).
    """
    with (
        fresh_store(settings, settings.store) as hub_store,
        fresh_store(settings, settings.store) as raw_store,
    ):
        hub = wiring.open_application(hub_store)
        raw = RawApplication(env=raw_env(raw_store))
        try:
            hub_seconds = raw_seconds = 0.0
            for n, start in enumerate(range(0, len(raw_commands), chunk)):
                sides = [
                    ("hub", lambda s=start: _hub_chunk(hub, raw_commands[s : s + chunk])),
                    ("raw", lambda s=start: _raw_chunk(raw, batches[s : s + chunk])),
                ]
                for side, run in sides if n % 2 == 0 else reversed(sides):
                    seconds = run()
                    if side == "hub":
                        hub_seconds += seconds
                    else:
                        raw_seconds += seconds
        finally:
            hub.close()
            raw.close()
    return hub_seconds, raw_seconds


def _hub_chunk(app: HubApplication, raw_commands: Sequence[dict[str, Any]]) -> float:
    with Stopwatch() as watch:
        for raw in raw_commands:
            app.execute(COMMAND_ADAPTER.validate_python(raw))
    return watch.seconds


def _raw_chunk(app: RawApplication, batches: Sequence[Sequence[Any]]) -> float:
    with Stopwatch() as watch:
        for batch in batches:
            app.save(*batch)
    return watch.seconds


def bench(settings: Settings, store: StoreKind, cases: int, reps: int) -> Row:
    settings = settings.model_copy(update={"store": store})
    raw_commands = workload.commands(cases)
    batches = capture(raw_commands)
    if len(batches) != len(raw_commands):
        raise HubError("write path: the workload must make exactly one save per command")
    events = sum(len(b) for b in batches)
    chunk = 8 * workload.COMMANDS_PER_CASE
    hubs: list[float] = []
    bases: list[float] = []
    for _ in range(reps):
        hub_seconds, raw_seconds = run_pair(settings, raw_commands, batches, chunk)
        hubs.append(events / hub_seconds)
        bases.append(events / raw_seconds)
    note = (
        f"{len(raw_commands)} commands → {events} events per rep, {reps} reps, "
        f"sides alternating every {chunk} commands"
    )
    return throughput_row(FIGURE, store, hubs, bases, TARGET, note)
