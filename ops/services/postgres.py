"""The installed (Debian) PostgreSQL cluster, with the hub's role and database.

``up`` starts the cluster with ``pg_ctlcluster``, waits for ``pg_isready``, creates the role
and database idempotently (as the ``postgres`` OS user) and checks that the hub can log in
over TCP with the password from the settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg import pq

from hub.errors import (
    ConfigurationError,
    PasswordRefusedError,
    ServiceUnavailableError,
    password_refused,
)
from hub.settings import Settings, postgres_hosts_away

PG_ROOT = Path("/usr/lib/postgresql")
CLUSTER = "main"
INSTALL_HINT = "PostgreSQL is not installed; install it with: apt-get install postgresql"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    version: str | None
    port: int
    started: bool = False
    seconds: float = 0.0
    detail: str = ""


def installed_version() -> str:
    """The highest PostgreSQL major version installed under /usr/lib/postgresql."""
    versions = sorted(
        (path.name for path in PG_ROOT.glob("*") if (path / "bin" / "pg_ctl").is_file()),
        key=lambda name: float(name) if name.replace(".", "", 1).isdigit() else 0.0,
    )
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise ServiceUnavailableError(INSTALL_HINT)
    return versions[-1]


def _bin(version: str, tool: str) -> str:
    return str(PG_ROOT / version / "bin" / tool)


def log_file(version: str) -> Path:
    return Path(f"/var/log/postgresql/postgresql-{version}-{CLUSTER}.log")


def log_tail(version: str | None = None, lines: int = 25) -> str:
    try:
        log = log_file(version or installed_version())
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except (OSError, ServiceUnavailableError) as error:
        return f"(no PostgreSQL log: {error})"
    return f"--- {log} ---\n" + "\n".join(text)


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["sudo", "-n", "-u", "postgres", *cmd]


def _cluster_state(version: str) -> tuple[int, bool]:
    """(port, online) of the ``main`` cluster, from ``pg_lsclusters``."""
    result = subprocess.run(
        ["pg_lsclusters", "--no-header", version, CLUSTER],
        capture_output=True,
        text=True,
        check=False,
    )
    fields = result.stdout.split()
    if result.returncode != 0 or len(fields) < 4:
        raise ServiceUnavailableError(
            f"No PostgreSQL {version} cluster '{CLUSTER}'; create it with: "
            f"pg_createcluster {version} {CLUSTER}"
        )
    return int(fields[2]), fields[3].startswith("online")


def _ready(version: str, settings: Settings) -> bool:
    result = subprocess.run(
        [
            _bin(version, "pg_isready"),
            "-q",
            "-h",
            settings.postgres_host,
            "-p",
            str(settings.postgres_port),
            "-t",
            "2",
        ],
        check=False,
    )
    return result.returncode == 0


def _wait_ready(version: str, settings: Settings, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _ready(version, settings):
            return
        time.sleep(0.2)
    raise ServiceUnavailableError(
        f"PostgreSQL did not accept connections on {settings.postgres_host}:"
        f"{settings.postgres_port} within {timeout_s:.0f}s.\n{log_tail(version)}"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def scram_verifier(password: str, user: str) -> str:
    """The role's SCRAM-SHA-256 verifier for ``password``, as libpq makes it (SASLprep
    included, a fresh salt each time), so that the statement setting it carries no password
    into the server's logs or ``pg_stat_activity``."""
    # libpq needs a connection object but, with the algorithm named, never uses the
    # connection: one that could not start is enough, and nothing reaches a server.
    conn = pq.PGconn.connect_start(b"host=/nonexistent-hub-socket-dir port=1")
    try:
        secret = conn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256")
    finally:
        conn.finish()
    return secret.decode("ascii")


def provision_sql(settings: Settings) -> str:
    """Idempotent SQL (for psql) creating the hub's role and database. The password is set
    on a role this creates; on an existing role only in development mode, where it is the
    public development default: elsewhere a mistyped HUB_POSTGRES_PASSWORD would become the
    role's password and lock every other process of the hub out."""
    user, db = settings.postgres_user, settings.postgres_dbname
    password = _literal(scram_verifier(settings.secret("postgres_password"), user))
    create = f"CREATE ROLE {_ident(user)} WITH LOGIN CREATEDB PASSWORD {password}"
    existing = (
        f"ALTER ROLE {_ident(user)} WITH LOGIN CREATEDB PASSWORD {password};"
        if settings.mode == "development"
        else ""
    )
    return f"""
SELECT {_literal(create)} WHERE NOT EXISTS
  (SELECT 1 FROM pg_roles WHERE rolname = {_literal(user)}) \\gexec
{existing}
SELECT 'CREATE DATABASE {_ident(db)} OWNER {_ident(user)}' WHERE NOT EXISTS
  (SELECT 1 FROM pg_database WHERE datname = {_literal(db)}) \\gexec
"""


def provision(version: str, settings: Settings) -> None:
    result = subprocess.run(
        _as_postgres(
            _bin(version, "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-p",
            str(settings.postgres_port),
            "-d",
            "postgres",
        ),
        input=provision_sql(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceUnavailableError(
            f"Could not create the PostgreSQL role/database: {result.stderr.strip()}"
        )


def check_login(settings: Settings) -> None:
    """Log in over TCP exactly as the hub will (password authentication)."""
    import psycopg

    try:
        with psycopg.connect(**settings.postgres_connection(), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        if password_refused(error):
            raise PasswordRefusedError.of(
                settings.postgres_user,
                settings.postgres_host,
                settings.postgres_port,
                settings.postgres_dbname,
            ) from None
        raise ServiceUnavailableError(
            f"Cannot log in to PostgreSQL as {settings.postgres_user} at "
            f"{settings.postgres_host}:{settings.postgres_port}/{settings.postgres_dbname}: "
            f"{str(error).strip()}"
        ) from None


def _can_login(settings: Settings) -> bool:
    try:
        check_login(settings)
    except ServiceUnavailableError:
        return False
    return True


def _local_only(settings: Settings, verb: str) -> None:
    """Refuses to start, provision or stop this machine's cluster for a database the
    settings place elsewhere (a socket folder is this machine's)."""
    away = postgres_hosts_away(settings.postgres_host, os.environ)
    if away:
        raise ConfigurationError(
            f"{away[0]}: `hub services {verb} postgres` runs this machine's cluster only; "
            "a database elsewhere is its administrator's"
        )


def up(settings: Settings, timeout_s: float = START_TIMEOUT_S) -> PostgresStatus:
    began = time.monotonic()
    if _can_login(settings):  # already running and provisioned (here or in Docker)
        return PostgresStatus(
            True, None, settings.postgres_port, False, time.monotonic() - began, "already running"
        )
    _local_only(settings, "up")
    version = installed_version()
    port, online = _cluster_state(version)
    if port != settings.postgres_port:
        raise ConfigurationError(
            f"PostgreSQL {version}/{CLUSTER} listens on port {port}, but HUB_POSTGRES_PORT "
            f"is {settings.postgres_port}"
        )
    if not online:
        result = subprocess.run(
            ["pg_ctlcluster", version, CLUSTER, "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceUnavailableError(
                f"pg_ctlcluster {version} {CLUSTER} start failed: {result.stderr.strip()}\n"
                f"{log_tail(version)}"
            )
    _wait_ready(version, settings, timeout_s)
    provision(version, settings)
    check_login(settings)
    return PostgresStatus(True, version, port, not online, time.monotonic() - began)


def status(settings: Settings) -> PostgresStatus:
    if _can_login(settings):
        return PostgresStatus(
            True,
            None,
            settings.postgres_port,
            detail=f"{settings.postgres_user}@{settings.postgres_dbname}",
        )
    try:
        version = installed_version()
        port, online = _cluster_state(version)
    except ServiceUnavailableError as error:
        return PostgresStatus(False, None, settings.postgres_port, detail=str(error))
    detail = "online, but the hub cannot log in" if online else "stopped"
    return PostgresStatus(False, version, port, detail=detail)


def check_may_stop(settings: Settings) -> None:
    """Only this machine's cluster, and only in development mode: it may hold other
    databases than the hub's."""
    _local_only(settings, "down")
    if settings.mode != "development":
        raise ConfigurationError(
            "refusing to stop PostgreSQL outside development mode: the cluster may serve "
            f"other databases than {settings.postgres_dbname} (pg_ctlcluster, as its "
            "administrator)"
        )


def down(settings: Settings) -> bool:
    """Stop the installed cluster; False if it was not running."""
    check_may_stop(settings)
    version = installed_version()
    _, online = _cluster_state(version)
    if not online:
        return False
    result = subprocess.run(
        ["pg_ctlcluster", version, CLUSTER, "stop"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceUnavailableError(f"pg_ctlcluster stop failed: {result.stderr.strip()}")
    return True
