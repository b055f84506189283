"""Fresh, empty stores for one benchmark run: a SQLite file or a PostgreSQL schema."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from pydantic import SecretStr

from hub.settings import Settings, StoreKind


def connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(**settings.postgres_connection(), autocommit=True)


@contextmanager
def fresh_store(settings: Settings, store: StoreKind) -> Iterator[Settings]:
    """Settings that point at an empty store, removed afterwards."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
            yield settings.model_copy(
                update={"store": "sqlite", "sqlite_path": Path(tmp) / "bench.sqlite"}
            )
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with connect(settings) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield settings.model_copy(update={"store": "postgres", "postgres_schema": schema})
    finally:
        with connect(settings) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def raw_env(settings: Settings) -> dict[str, str]:
    """The library's own recorders on the same store: no hash chain, nothing of the hub."""
    env = settings.eventsourcing_env()
    env.pop("APPLICATION_RECORDER_TOPIC", None)
    return env


def child_env(settings: Settings) -> dict[str, str]:
    """The environment a child process needs to build the same ``Settings`` (HUB_*)."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        env[f"HUB_{name.upper()}"] = text
    return env
