"""Run a component in a child process and SIGKILL it at a seeded random point of its work.

The child is forked from the test process (modules already imported), so a kill costs
milliseconds rather than an interpreter start-up, and dozens of kills fit in CI. The child
builds its own clients and stores after the fork; nothing open in the parent is shared.
"""

from __future__ import annotations

import faulthandler
import gc
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_FORK = multiprocessing.get_context("fork")
WORK_TIMEOUT_S = 120.0
# A child that has not got going by then writes every thread's stack to its stderr, so a
# run that fails by the timeout says where the child stood (the error quotes the end).
STACKS_AFTER_S = WORK_TIMEOUT_S - 10


class ChildFailedError(RuntimeError):
    """The component died on its own (not by our kill), or never got going."""


@dataclass
class CrashLog:
    """What happened, so a failing run can be reproduced and explained."""

    seed: int
    kills: list[tuple[int, int]] = field(default_factory=list)  # (target, progress at kill)

    def __str__(self) -> str:
        return f"seed={self.seed} kills(target, progress)={self.kills}"


def _run(target: Callable[[], object], stderr: Path | None) -> None:
    # Default signal handlers: the component's own SIGTERM handling must not matter here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if stderr is not None:
        fd = os.open(stderr, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    faulthandler.dump_traceback_later(STACKS_AFTER_S, file=sys.stderr)
    target()


def librdkafka_threads() -> dict[str, str]:
    """librdkafka's threads alive in this process (the kernel's names, ``rdk:``), by task id."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
        except OSError:  # it ended while we looked
            continue
        if name.startswith("rdk:"):
            found[task.name] = name
    return found


def client_threads() -> list[str]:
    """Threads of Kafka clients alive in this process: librdkafka's and kafka-python's."""
    python = [
        t.name for t in threading.enumerate() if t.name.startswith(("kafka-io-", "kafka-python"))
    ]
    return sorted(librdkafka_threads().values()) + sorted(python)


def _fork_safe() -> None:
    """A child forked while another client's threads run inherits the locks they held at that
    instant and can wait on them for good (librdkafka is not fork-safe): a client left for
    the collector is collected first; one still held fails here, named, not as a child that
    hangs."""
    if not client_threads():
        return
    gc.collect()
    left = client_threads()
    if left:
        raise ChildFailedError(
            f"Kafka client threads run in the test process ({', '.join(sorted(set(left)))}): "
            "close the client before a component is forked"
        )


def start(
    target: Callable[[], object], stderr: Path | None = None
) -> multiprocessing.process.BaseProcess:
    """``target()`` in a forked child; its stderr (log lines, tracebacks) to ``stderr``."""
    _fork_safe()
    process = _FORK.Process(target=_run, args=(target, stderr), daemon=True)
    process.start()
    return process


def _last_lines(stderr: Path | None, lines: int = 40) -> str:
    """The end of the child's stderr (its stacks, when it got stuck), for the error."""
    if stderr is None or not stderr.exists():
        return ""
    tail = stderr.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return "; the child's stderr ended with:\n" + "\n".join(tail)


def kill_at(
    target: Callable[[], object],
    progress: Callable[[], int],
    at: int,
    rng: random.Random,
    *,
    jitter_s: float = 0.02,
    stderr: Path | None = None,
) -> bool:
    """Start ``target`` in a child, SIGKILL it once ``progress() >= at`` (plus a random
    jitter, so kills land inside batches too); whether it was killed while still running."""
    process = start(target, stderr)
    deadline = time.monotonic() + WORK_TIMEOUT_S
    while process.is_alive() and progress() < at:
        if time.monotonic() > deadline:
            process.kill()
            raise ChildFailedError(
                f"no progress to {at} within {WORK_TIMEOUT_S:.0f}s{_last_lines(stderr)}"
            )
        time.sleep(0.002)
    time.sleep(rng.uniform(0, jitter_s))
    alive = process.is_alive()
    if alive and process.pid is not None:
        os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    if not alive and process.exitcode != 0:
        raise ChildFailedError(f"the component exited with {process.exitcode} before the kill")
    return alive and process.exitcode == -signal.SIGKILL


def crash_repeatedly(
    target: Callable[[], object],
    progress: Callable[[], int],
    end: Callable[[], int],
    kills: int,
    log: CrashLog,
    rng: random.Random,
    *,
    between: Callable[[int], None] | None = None,
    stderr: Path | None = None,
    jitter_s: float = 0.02,
    refill: Callable[[], None] | None = None,
) -> None:
    """Kill ``kills`` runs of ``target`` at random points spread over the work left.

    ``between(n)`` runs after the n-th kill (e.g. to append more history while the
    component is down); ``refill()`` adds work when a fast component finished it before
    enough kills landed. Raises if the work ran out all the same.
    """
    attempts = 0
    while len(log.kills) < kills:
        attempts += 1
        if attempts > kills * 3:
            raise ChildFailedError(f"only {len(log.kills)} of {kills} kills landed: {log}")
        current, last = progress(), end()
        left = kills - len(log.kills)
        if last - current < 2 * left and refill is not None:
            refill()
            current, last = progress(), end()
        if last - current < 2:
            raise ChildFailedError(f"work ran out after {len(log.kills)} kills: {log}")
        step = max(1, (last - current) // (left + 1))
        at = current + rng.randint(1, step)
        if kill_at(target, progress, at, rng, jitter_s=jitter_s, stderr=stderr):
            log.kills.append((at, progress()))
            if between is not None:
                between(len(log.kills))
