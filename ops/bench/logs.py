"""Logs of record for the read-side benchmarks, made from the demo year generator.

The year's commands run through the hub in memory (the hub's own handlers, so the events
are the real mix), then the stored events are copied into the benchmark store through the
hub's recorder (hash chain included) in large transactions: a 100k-event log takes minutes
instead of the hours one commit per command would take on this disk. Logs are kept under
``var/bench/`` (SQLite) or in a PostgreSQL schema ``bench_log_s<scale>_<code>`` and reused
while the code that made them is the same: ``<code>`` is a digest of the hub's domain, its
schemas and the generator, so a log written by other code is never read back.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from hub.application import HubApplication
from hub.errors import HubError
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench.stores import connect
from ops.demo.generator import generate_year

COPY_BATCH = 2000
ROOT = Path(__file__).resolve().parents[2]
# What decides the events of a generated log: the domain, its schemas, the generator.
LOG_SOURCES = ("hub/**/*.py", "hub/reference/*.json", "schemas/events/*.avsc", "ops/demo/*.py")


@cache
def code_digest() -> str:
    """A short digest of the code that writes the benchmark logs."""
    digest = hashlib.sha256()
    for path in sorted({p for pattern in LOG_SOURCES for p in ROOT.glob(pattern)}):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@dataclass(frozen=True)
class LogSpec:
    """The demo year at ``scale``, up to ``until`` (the whole year when None)."""

    scale: int
    until: date | None = None

    @property
    def name(self) -> str:
        cut = f"_{self.until:%Y%m%d}" if self.until else ""
        return f"log_s{self.scale}{cut}_{code_digest()}"

    def __str__(self) -> str:
        cut = f" up to {self.until}" if self.until else ""
        return f"demo year ×{self.scale}{cut}"


def log_settings(settings: Settings, store: StoreKind, spec: LogSpec) -> Settings:
    if store == "sqlite":
        path = settings.var_dir / "bench" / f"{spec.name}.sqlite"
        return settings.model_copy(update={"store": "sqlite", "sqlite_path": path})
    return settings.model_copy(
        update={"store": "postgres", "postgres_schema": f"bench_{spec.name}"}
    )


def generated_events(spec: LogSpec) -> list[StoredEvent]:
    """The year of ``spec`` through an in-memory hub: its stored events in log order."""
    app = wiring.open_memory_application()
    for command in generate_year(scale=spec.scale, until=spec.until).timeline():
        with suppress(HubError):  # the generator's planned refusals, if any
            app.execute(command)
    events: list[StoredEvent] = []
    position = 0
    while batch := app.recorder.select_notifications(
        start=position, limit=10_000, inclusive_of_start=False
    ):
        events += [
            StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in batch
        ]
        position = batch[-1].id
    return events


def ensure_log(settings: Settings, store: StoreKind, spec: LogSpec) -> tuple[Settings, int]:
    """Settings of a store holding the log of ``spec`` (built if missing) and its size."""
    target = log_settings(settings, store, spec)
    if store == "postgres":
        with connect(settings) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{target.postgres_schema}"')
    app = wiring.open_application(target, seed_network=False)
    try:
        size = _log_size(app)
        if size == 0:
            events = _copied(settings, spec) if store == "postgres" else None
            events = events or generated_events(spec)
            for start in range(0, len(events), COPY_BATCH):
                app.recorder.insert_events(events[start : start + COPY_BATCH])
            size = _log_size(app)
    finally:
        app.close()
    return target, size


def _copied(settings: Settings, spec: LogSpec) -> list[StoredEvent] | None:
    """The same log's events from its SQLite copy, when that was built already."""
    source = log_settings(settings, "sqlite", spec)
    if source.sqlite_path is None or not source.sqlite_path.exists():
        return None
    app = wiring.open_application(source)
    try:
        notifications = app.recorder.select_notifications(start=None, limit=10**9)
    finally:
        app.close()
    return [
        StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
    ]


def _log_size(app: HubApplication) -> int:
    return int(app.recorder.max_notification_id() or 0)
