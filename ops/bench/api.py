"""The HTTP API: commands over HTTP against the same commands through the Python API, and
an agency's inbox read at 50 concurrent clients.

Commands (timed, alternating chunks): the workload's commands POSTed one by one to a real
``hub serve`` (uvicorn, loopback, one keep-alive client, an operator's bearer token) against
the very same commands validated and given to ``HubApplication.execute`` in this process.
Each side has its own fresh store of the same kind.

Inbox reads: 50 clients each read one agency's inbox a bounded number of times; the
baseline is ``/health`` read the same way in the same run (the server's floor: transport,
framework, no token, no store), so the figure is what the token check, the policy and the
view add at that concurrency.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from hub.application import HubApplication
from hub.commands import COMMAND_ADAPTER
from hub.errors import ConfigurationError, HubError
from hub.identity import Role
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench import workload
from ops.bench.measure import Row, Stopwatch, throughput_row
from ops.bench.stores import child_env, fresh_store
from ops.identity import dev_issuer

COMMANDS_FIGURE = "API commands"
INBOX_FIGURE = "API inbox read p99"
TARGET = 0.7
CLIENTS = 50
SLACK_MS = 50.0
STARTUP_SECONDS = 60


class Server:
    def __init__(self, url: str, token: str, settings: Settings) -> None:
        self.url = url
        self.token = token  # an operator's
        self.settings = settings

    def agency_token(self, agency_id: str) -> str:
        return dev_issuer.issue(
            self.settings, subject="bench-agency", role=Role.member_agency, agency_id=agency_id
        )


@contextmanager
def served(settings: Settings) -> Iterator[Server]:
    """``hub serve`` on a free loopback port over ``settings``' store, with a dev token."""
    import socket
    import subprocess
    import sys

    if settings.mode != "development":
        raise ConfigurationError("the API benchmark signs its tokens locally: HUB_MODE=development")
    with tempfile.TemporaryDirectory(prefix="hub-bench-api-") as tmp:
        # The store's key-encryption key goes with it: in development it is a file under
        # var/, and a server with a var/ of its own would make another one and read none
        # of the store's sealed fields (its views quarantined every such event).
        kek = SecretStr(settings.key_encryption_secret())
        local = settings.model_copy(update={"var_dir": Path(tmp), "kek": kek})
        token = dev_issuer.issue(local, subject="bench-operator", role=Role.operator)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        log = (Path(tmp) / "serve.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "serve", "--port", str(port)],
            env=child_env(local),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url, process)
            yield Server(url, token, local)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _wait(url: str, process: Any) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HubError("hub serve exited before answering (see its log)")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise HubError(f"hub serve did not answer in {STARTUP_SECONDS}s")


# Commands --------------------------------------------------------------------------------------


def _post(client: httpx.Client, raw: dict[str, Any]) -> None:
    body = {k: v for k, v in raw.items() if k not in ("command_id", "type")}
    response = client.post(
        f"/commands/{raw['type']}", json=body, headers={"Idempotency-Key": raw["command_id"]}
    )
    if response.status_code != 201:
        raise HubError(f"the API refused a benchmark command: {response.status_code}")


def _http_chunk(client: httpx.Client, commands: Sequence[dict[str, Any]]) -> float:
    with Stopwatch() as watch:
        for raw in commands:
            _post(client, raw)
    return watch.seconds


def _python_chunk(app: HubApplication, commands: Sequence[dict[str, Any]]) -> float:
    with Stopwatch() as watch:
        for raw in commands:
            app.execute(COMMAND_ADAPTER.validate_python(raw))
    return watch.seconds


def commands_row(settings: Settings, store: StoreKind, cases: int, reps: int) -> Row:
    settings = settings.model_copy(update={"store": store})
    raw_commands = workload.commands(cases)
    chunk = 4 * workload.COMMANDS_PER_CASE
    https: list[float] = []
    pythons: list[float] = []
    for _ in range(reps):
        with (
            fresh_store(settings, store) as http_store,
            fresh_store(settings, store) as python_store,
            served(http_store) as server,
            httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}
            ) as client,
        ):
            app = wiring.open_application(python_store)
            try:
                http_seconds = python_seconds = 0.0
                for n, start in enumerate(range(0, len(raw_commands), chunk)):
                    part = raw_commands[start : start + chunk]
                    if n % 2 == 0:
                        http_seconds += _http_chunk(client, part)
                        python_seconds += _python_chunk(app, part)
                    else:
                        python_seconds += _python_chunk(app, part)
                        http_seconds += _http_chunk(client, part)
            finally:
                app.close()
        https.append(len(raw_commands) / http_seconds)
        pythons.append(len(raw_commands) / python_seconds)
    row = throughput_row(
        COMMANDS_FIGURE,
        store,
        https,
        pythons,
        TARGET,
        f"{len(raw_commands)} commands per rep, {reps} reps, one keep-alive client, "
        "HTTP (hub serve, bearer token, policy) vs HubApplication.execute in-process",
    )
    return Row(**{**row.__dict__, "unit": "commands/s"})


# Inbox reads -----------------------------------------------------------------------------------


async def _read_all(url: str, path: str, token: str | None, reads: int) -> list[float]:
    """Latencies (ms) of ``CLIENTS`` concurrent clients each reading ``path`` ``reads`` times."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=60.0
    ) as client:

        async def one_client() -> None:
            for _ in range(reads):
                start = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.HTTPError as error:  # a dropped connection: a row not measured
                    raise HubError(f"{path}: {type(error).__name__} under load") from error
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise HubError(f"{path} answered {response.status_code} under load")

        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return latencies


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def inbox_row(settings: Settings, store: StoreKind, cases: int, reads: int) -> Row:
    """p99 of one agency's inbox read by 50 concurrent clients, against /health."""
    settings = settings.model_copy(update={"store": store})
    raw_commands = workload.commands(cases)
    agency = next(r["agency_id"] for r in raw_commands if r["type"] == "ReferCase")
    with fresh_store(settings, store) as bench_store:
        app = wiring.open_application(bench_store)
        try:
            for raw in raw_commands:
                app.execute(COMMAND_ADAPTER.validate_python(raw))
        finally:
            app.close()
        with served(bench_store) as server:
            agency_token = server.agency_token(agency)
            path = f"/agencies/{agency}/inbox"
            asyncio.run(_read_all(server.url, path, agency_token, 2))  # warm the view
            shown = httpx.get(
                server.url + path, headers={"Authorization": f"Bearer {agency_token}"}, timeout=60
            ).json()
            if not shown:  # a read of nothing would be timed as quick as it is wrong
                raise HubError(f"the inbox of {agency} came back empty: the store was not read")
            inbox_ms: list[float] = []
            health_ms: list[float] = []
            for n in range(2):  # alternate which goes first
                if n % 2 == 0:
                    inbox_ms += asyncio.run(_read_all(server.url, path, agency_token, reads))
                    health_ms += asyncio.run(_read_all(server.url, "/health", None, reads))
                else:
                    health_ms += asyncio.run(_read_all(server.url, "/health", None, reads))
                    inbox_ms += asyncio.run(_read_all(server.url, path, agency_token, reads))
    hub99, base99 = _p(inbox_ms, 99), _p(health_ms, 99)
    note = (
        f"{CLIENTS} clients × {2 * reads} reads each; inbox of {agency}; "
        f"p50 {_p(inbox_ms, 50):.1f} ms vs /health {_p(health_ms, 50):.1f} ms"
    )
    return Row(
        INBOX_FIGURE,
        store,
        hub99,
        base99,
        hub99 / base99,
        f"≤ baseline + {SLACK_MS:.0f} ms",
        hub99 <= base99 + SLACK_MS,
        "ms",
        note,
    )


def bench(settings: Settings, store: StoreKind, cases: int, reps: int, reads: int) -> list[Row]:
    return [
        commands_row(settings, store, cases, reps),
        inbox_row(settings, store, cases, reads),
    ]
