"""The machine's raw PostgreSQL commit rate (pgbench), the physical reference for the store.

Each pgbench transaction is ``SELECT txid_current()``: it takes a transaction id, so its
commit writes and flushes a WAL record, the same durable commit every ``save`` pays.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from hub.settings import Settings

SCRIPT = "SELECT txid_current();\n"


def pgbench_path() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return str(candidates[-1]) if candidates else None


def commit_rate(settings: Settings, seconds: int) -> tuple[float | None, str]:
    """(commits per second with one client, the command run) or (None, why not)."""
    binary = pgbench_path()
    if binary is None:
        return None, "pgbench not installed (apt-get install postgresql-contrib)"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(SCRIPT)
    command = [
        binary, "-h", settings.postgres_host, "-p", str(settings.postgres_port),
        "-U", settings.postgres_user, "-n", "-c", "1", "-T", str(seconds),
        "-f", script.name, settings.postgres_dbname,
    ]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": settings.secret("postgres_password")}
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 30
        )
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    shown = " ".join(Path(command[0]).name if i == 0 else a for i, a in enumerate(command))
    if match is None:
        return None, f"pgbench failed: {done.stderr.strip()[:200]}"
    return float(match.group(1)), shown.replace(script.name, "<SELECT txid_current()>")
