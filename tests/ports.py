"""Services of a test's own: free ports, and the `hub` command run as a separate process."""

from __future__ import annotations

import socket
import subprocess
import sys


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held together while chosen, so no two are the same)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def run_hub(env: dict[str, str], *args: str, umask: int = -1) -> subprocess.CompletedProcess[str]:
    """`hub ARGS` in a process of its own with ``env`` (and ``umask`` when given)."""
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        umask=umask,
        check=False,
    )
