"""Logs of record for the read-side benchmarks, made from the demo year generator.

The year's commands run through the hub in memory (the hub's own handlers, so the events
are the real mix), then the events are copied into the benchmark store through the hub's recorder
(re-encoded, so sealed with the store's own data keys; hash chain included) in large
transactions: a 100k-event log takes minutes
instead of the hours one commit per command would take on this disk. Logs are kept under
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
from ops.bench.stores import connect
from ops.demo.generator import generate_year

COPY_BATCH = 2000
ROOT = Path(__file__).resolve().parents[2]
# What decides the events of a generated log: the domain, its schemas, the generator.
LOG_SOURCES = ("hub/**/*.py", "hub/reference/*.json", "schemas/events/*.avsc", "ops/demo/*.py")


@cache
def code_digest() -> str:
    """A short digest of the code that writes the benchmark logs."""
    return source_digest(ROOT, LOG_SOURCES)[:10]


@dataclass(frozen=True)
class LogSpec:
    """The demo year at ``scale``, up to ``until`` (the whole year when None)."""

    scale: int
    until: date | None = None
    copy: str = ""  # a benchmark that changes its log (erasure) keeps a copy of its own

    @property
    def name(self) -> str:
        cut = f"_{self.until:%Y%m%d}" if self.until else ""
        own = f"_{self.copy}" if self.copy else ""
        return f"log_s{self.scale}{cut}{own}_{code_digest()}"

    def __str__(self) -> str:
        cut = f" up to {self.until}" if self.until else ""
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


def _sqlite_copy(settings: Settings, spec: LogSpec) -> HubApplication | None:
    """The same log in its SQLite copy, when that was built already."""
    source = log_settings(settings, "sqlite", spec)
    if source.sqlite_path is None or not source.sqlite_path.exists():
        return None
    return wiring.open_application(source, seed_network=False)


def _log_size(app: HubApplication) -> int:
    return int(app.recorder.max_notification_id() or 0)
