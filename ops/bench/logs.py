"""Logs of record for the read-side benchmarks, made from the demo year generator.

The year's commands run through the hub in memory (the hub's own handlers, so the events
are the real mix), then the events are copied into the benchmark store through the hub's recorder
(re-encoded, so sealed with the store's own data keys; hash chain included) in large
transactions: a 100k-event log takes minutes
instead of the hours one commit per command would take on this disk. A log with ``slice``
set is the demo year ×slice run through the hub once and written ``scale / slice`` times
with its ids remapped (``ops.bench.replicate``): a 1.0M-event log in a minute or two, a
10M-event one in minutes. Logs are kept under
``var/bench/`` (SQLite) or in a PostgreSQL schema ``bench_log_s<scale>_<code>_k<tag>`` and
reused while the code that made them is the same: ``<code>`` is a digest of the hub's domain,
its schemas and the generator, so a log written by other code is never read back; ``<tag>``
names the key-encryption key its data keys are wrapped with (``key_tag``).
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from hub.application import HubApplication
from hub.errors import HubError
from hub.settings import Settings, StoreKind
from hub.sources import source_digest
from ops import wiring
from ops.bench.logcopy import copy_log
from ops.bench.replicate import replicate
from ops.bench.stores import connect
from ops.demo.generator import generate_year

COPY_BATCH = 2000
ROOT = Path(__file__).resolve().parents[2]
# What decides the events of a generated log: the domain, its schemas, the generator.
LOG_SOURCES = (
    "hub/**/*.py",
    "hub/reference/*.json",
    "schemas/events/*.avsc",
    "ops/demo/*.py",
    "ops/bench/replicate.py",
)


@cache
def code_digest() -> str:
    """A short digest of the code that writes the benchmark logs."""
    return source_digest(ROOT, LOG_SOURCES)[:10]


@dataclass(frozen=True)
class LogSpec:
    """The demo year at ``scale``, up to ``until`` (the whole year when None); with
    ``slice``, the year ×slice written ``scale / slice`` times with its ids remapped."""

    scale: int
    until: date | None = None
    copy: str = ""  # a benchmark that changes its log (erasure) keeps a copy of its own
    slice: int = 0  # 0: the whole scale through the command path

    def __post_init__(self) -> None:
        if self.slice and self.scale % self.slice:
            raise ValueError(f"scale {self.scale} is not a multiple of the slice {self.slice}")

    @property
    def copies(self) -> int:
        return self.scale // self.slice if self.slice else 1

    @property
    def name(self) -> str:
        cut = f"_{self.until:%Y%m%d}" if self.until else ""
        own = f"_{self.copy}" if self.copy else ""
        written = f"r{self.slice}" if self.slice else ""
        return f"log_s{self.scale}{written}{cut}{own}_{code_digest()}"

    def __str__(self) -> str:
        cut = f" up to {self.until}" if self.until else ""
        if self.slice:
            return f"demo year ×{self.slice}{cut} written {self.copies} times, ids remapped"
        return f"demo year ×{self.scale}{cut}"


def key_tag(settings: Settings) -> str:
    """A short tag of the key-encryption key: a log's data keys are wrapped with it, so a
    log is reused only under the same one (another checkout or HUB_KEK reads none of it)."""
    secret = settings.key_encryption_secret().encode()
    return hashlib.sha256(b"bench log key tag\x1f" + secret).hexdigest()[:8]


def log_settings(settings: Settings, store: StoreKind, spec: LogSpec) -> Settings:
    name = f"{spec.name}_k{key_tag(settings)}"
    if store == "sqlite":
        path = settings.var_dir / "bench" / f"{name}.sqlite"
        return settings.model_copy(update={"store": "sqlite", "sqlite_path": path})
    return settings.model_copy(update={"store": "postgres", "postgres_schema": f"bench_{name}"})


def generated(spec: LogSpec) -> HubApplication:
    """The year of ``spec`` run through an in-memory hub (its log: the events to copy)."""
    app = wiring.open_memory_application()
    for command in generate_year(scale=spec.scale, until=spec.until).timeline():
        with suppress(HubError):  # the generator's planned refusals, if any
            app.execute(command)
    return app


def ensure_log(settings: Settings, store: StoreKind, spec: LogSpec) -> tuple[Settings, int]:
    """Settings of a store holding the log of ``spec`` (built if missing) and its size.

    The events are copied re-encoded by the target store's application (``copy_log``), so
    they are sealed with that store's own data keys, as the hub itself would have written.
    """
    target = log_settings(settings, store, spec)
    if store == "postgres":
        with connect(settings) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{target.postgres_schema}"')
    if spec.slice:
        return target, _replicated(settings, store, spec, target)
    app = wiring.open_application(target, seed_network=False)
    try:
        size = _log_size(app)
        if size == 0:
            source = _sqlite_copy(settings, spec) if store == "postgres" else None
            source = source or generated(spec)
            try:
                copy_log(source, app, COPY_BATCH)
            finally:
                source.close()
            size = _log_size(app)
    finally:
        app.close()
    return target, size


def _replicated(settings: Settings, store: StoreKind, spec: LogSpec, target: Settings) -> int:
    """The size of the replicated log of ``spec``, built (again, if a build was cut short)."""
    marker = _marker(settings, target)
    app = wiring.open_application(target, seed_network=False)
    try:
        size = _log_size(app)
        # Complete once the marker is written; a benchmark may add events after (erasure).
        if size and marker.exists() and size >= int(marker.read_text().strip() or 0):
            return size
    finally:
        app.close()
    if size:  # a build that did not finish: start again from an empty store
        _drop(settings, store, target)
    source = generated(LogSpec(spec.slice, spec.until))
    app = wiring.open_application(target, seed_network=False)
    try:
        size = replicate(source, app, spec.copies)
    finally:
        app.close()
        source.close()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{size}\n")
    return size


def _marker(settings: Settings, target: Settings) -> Path:
    """Written once a replicated log is complete, with its size."""
    name = target.sqlite_path.name if target.sqlite_path else target.postgres_schema
    return settings.var_dir / "bench" / f"{name}.complete"


def _drop(settings: Settings, store: StoreKind, target: Settings) -> None:
    if store == "sqlite":
        assert target.sqlite_path is not None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target.sqlite_path}{suffix}").unlink(missing_ok=True)
        return
    with connect(settings) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{target.postgres_schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{target.postgres_schema}"')


def _sqlite_copy(settings: Settings, spec: LogSpec) -> HubApplication | None:
    """The same log in its SQLite copy, when that was built already."""
    source = log_settings(settings, "sqlite", spec)
    if source.sqlite_path is None or not source.sqlite_path.exists():
        return None
    return wiring.open_application(source, seed_network=False)


def _log_size(app: HubApplication) -> int:
    return int(app.recorder.max_notification_id() or 0)
