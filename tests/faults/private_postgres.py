"""A private PostgreSQL server the fault tests may stop and start at will.

The shared cluster of ``hub services up`` serves every other test (and every other test
session on the machine, each of which restarts it if it finds it down); taking it away would
break them and race with them. This server runs the same installed binaries on its own port
and data directory, provisioned like the shared one (role and database from the settings).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from ops.services import postgres

START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)  # not root: the current user owns the server


@dataclass
class PrivatePostgres:
    """One throw-away server: ``stop()`` and ``start()`` it; ``settings`` point at it."""

    data: Path
    port: int
    version: str

    @property
    def settings(self) -> Settings:
        return Settings(store="postgres", postgres_host="127.0.0.1", postgres_port=self.port)

    def _ctl(self, *args: str) -> None:
        result = subprocess.run(
            _as_postgres(
                postgres._bin(self.version, "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-t",
                str(int(START_TIMEOUT_S)),
                *args,
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceUnavailableError(
                f"pg_ctl {args[0]} failed: {(result.stderr or result.stdout).strip()[-500:]}"
            )

    def start(self) -> None:
        self._ctl(
            "start",
            "-l",
            str(self.data / "server.log"),
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1",
        )

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def running(self) -> bool:
        result = subprocess.run(
            _as_postgres(postgres._bin(self.version, "pg_ctl"), "-D", str(self.data), "status"),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def psql(self, sql: str, dbname: str = "postgres") -> None:
        self._psql(dbname, None, "-c", sql)

    def script(self, sql: str, dbname: str = "postgres") -> None:
        """Run ``sql`` as psql runs a file of it (``\\gexec`` and all)."""
        self._psql(dbname, sql)

    def _psql(self, dbname: str, stdin: str | None, *args: str) -> None:
        subprocess.run(
            _as_postgres(
                postgres._bin(self.version, "psql"),
                "-h",
                str(self.data),
                "-p",
                str(self.port),
                "-d",
                dbname,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                *args,
            ),
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )


@contextmanager
def private_postgres(
    settings: Settings | None = None, *, host_auth: str = "trust"
) -> Iterator[PrivatePostgres]:
    """initdb, start and provision a server; always stopped and removed afterwards.
    ``host_auth`` is how logins over TCP are checked (the socket is always ``trust``)."""
    settings = settings or Settings()
    version = postgres.installed_version()
    root = Path(tempfile.mkdtemp(prefix="hub-faults-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    server = PrivatePostgres(data, _free_port(), version)
    try:
        subprocess.run(
            _as_postgres(
                postgres._bin(version, "initdb"),
                "-D",
                str(data),
                "--auth-local=trust",
                f"--auth-host={host_auth}",
                "-U",
                "postgres",
                "--no-sync",
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        server.start()
        password = settings.secret("postgres_password").replace("'", "''")
        server.psql(f"CREATE ROLE \"{settings.postgres_user}\" LOGIN PASSWORD '{password}'")
        server.psql(
            f'CREATE DATABASE "{settings.postgres_dbname}" OWNER "{settings.postgres_user}"'
        )
        yield server
    finally:
        if server.running():
            with suppress(ServiceUnavailableError):
                server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
