"""Shared fixtures: the real services (started as `hub services up` does) and fresh stores.

Service fixtures fail, never skip: a test that needs Kafka or PostgreSQL must not pass
quietly without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.errors import HubError
from hub.settings import Settings, get_settings
from ops.services import kafka, postgres

# The tests use the public development secrets: they say so, as the README's two commands do
# (the default mode, production, refuses them). The tests' subprocesses inherit it.
os.environ["HUB_MODE"] = "development"


def unique(prefix: str = "test") -> str:
    """A random name for shared resources (topics, schemas, users)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite store (and var folder) under ``tmp_path`` for commands that read their
    settings from the environment, as the CLI does; the folder is returned."""
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """The `hub` CLI binds structlog to the sys.stderr of the moment; under CliRunner that
    file is closed once the command returns. Put back the set-up each test started with."""
    import structlog

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def kafka_broker(settings: Settings) -> kafka.KafkaStatus:
    try:
        return kafka.up(settings)
    except HubError as error:
        pytest.fail(f"Kafka could not start: {error}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_service(settings: Settings) -> postgres.PostgresStatus:
    try:
        return postgres.up(settings)
    except HubError as error:
        pytest.fail(f"PostgreSQL could not start: {error}", pytrace=False)


@pytest.fixture
def pg_env(postgres_service: postgres.PostgresStatus, settings: Settings) -> Iterator[dict]:
    """eventsourcing env vars for a fresh PostgreSQL schema, dropped after the test."""
    import psycopg

    schema = unique("test").replace("-", "_")
    env = settings.model_copy(update={"postgres_schema": schema}).eventsourcing_env("postgres")
    connect = {**settings.postgres_connection(), "autocommit": True}
    with psycopg.connect(**connect) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield env
    finally:
        with psycopg.connect(**connect) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """eventsourcing env vars for a fresh SQLite file."""
    return Settings(sqlite_path=tmp_path / "store.sqlite").eventsourcing_env("sqlite")
