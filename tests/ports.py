"""Services of a test's own: free ports, and the `hub` command run as a separate process."""

from __future__ import annotations

import socket
import subprocess
import sys
from contextlib import ExitStack


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: each held until all are picked, so that none is
    handed out twice."""
    with ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


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
