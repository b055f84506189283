"""The real HTTP API for tests: ``hub serve`` in a subprocess on a free port, tokens signed
with keys the test creates, and an httpx client."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from hub.identity import Role
from hub.settings import Settings
from ops.identity import dev_issuer
from tests.ports import free_port

STARTUP_SECONDS = 120  # a loaded shared machine starts a Python server slowly


@dataclass
class Server:
    url: str
    settings: Settings  # the server's: its var dir (the dev issuer's keys) and its store
    process: subprocess.Popen[bytes]
    verify: ssl.SSLContext | bool = True  # trusts the CA of a server with HTTPS of its own

    def token(
        self,
        role: Role,
        subject: str | None = None,
        ward: str | None = None,
        agency_id: str | None = None,
        **claims: Any,
    ) -> str:
        key = dev_issuer.signing_key(self.settings)
        body = dev_issuer.claims_for(
            self.settings,
            subject=subject or f"{role.value}-試験",
            role=role,
            ward=ward,
            agency_id=agency_id,
        )
        return dev_issuer.sign(key, {**body, **claims})

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, verify=self.verify)


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid4())}


@contextmanager
def running_server(
    var_dir: Path, env: dict[str, str] | None = None, tls: tuple[Path, Path, Path] | None = None
) -> Iterator[Server]:
    """``hub serve`` as an operator starts it, on a free loopback port; stopped afterwards.
    ``tls``: its certificate chain, its key and the CA that signed it, to serve HTTPS."""
    env = env or {}
    settings = Settings(
        var_dir=var_dir,
        mode="development",
        sqlite_path=var_dir / "hub.sqlite",
        store=env.get("HUB_STORE", "sqlite"),  # type: ignore[arg-type]
        postgres_schema=env.get("HUB_POSTGRES_SCHEMA", ""),
    )
    dev_issuer.signing_key(settings)  # the test's keys, before the server reads them
    port = free_port()
    environment = {
        **os.environ,
        "HUB_VAR_DIR": str(var_dir),
        "HUB_MODE": "development",
        "HUB_SQLITE_PATH": str(var_dir / "hub.sqlite"),
        **env,
    }
    log_path = var_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "ops.cli", "serve", "--port", str(port)),
                *(("--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])) if tls else ()),
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        verify = ssl.create_default_context(cafile=str(tls[2])) if tls else True
        _wait_until_up(url, process, log_path, verify)
        yield Server(url, settings, process, verify)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(
    url: str, process: subprocess.Popen[bytes], log_path: Path, verify: ssl.SSLContext | bool
) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hub serve exited: {log_path.read_text()[-2000:]}", pytrace=False)
        try:
            if httpx.get(f"{url}/health", timeout=2.0, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"hub serve did not answer in {STARTUP_SECONDS}s", pytrace=False)


def post_command(client: httpx.Client, command: Any) -> httpx.Response:
    """A command of tests/factories as the API takes it: the id in Idempotency-Key."""
    body = command.model_dump(mode="json", exclude={"command_id", "type"})
    return client.post(
        f"/commands/{type(command).__name__}",
        json=body,
        headers={"Idempotency-Key": str(command.command_id)},
    )


@contextmanager
def server_on(store: str, var_dir: Path) -> Iterator[Server]:
    """The server over a fresh store: a SQLite file, or a PostgreSQL schema dropped after."""
    if store == "sqlite":
        with running_server(var_dir) as running:
            yield running
        return
    import psycopg

    from ops.services import postgres
    from tests.conftest import unique

    settings = Settings(mode="development")
    try:
        postgres.up(settings)
    except Exception as error:
        pytest.fail(f"PostgreSQL could not start: {error}", pytrace=False)
    schema = unique("api").replace("-", "_")
    connect = {**settings.postgres_connection(), "autocommit": True}
    with psycopg.connect(**connect) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        env = {"HUB_STORE": "postgres", "HUB_POSTGRES_SCHEMA": schema}
        with running_server(var_dir, env) as running:
            yield running
    finally:
        with psycopg.connect(**connect) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
