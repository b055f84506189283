"""Where a grouped command's time goes: the group-commit workload's hub side, each phase
timed by wall clock (no profiler, whose overhead falls unevenly on Python and C).

    python -m ops.bench.groupphases [--store sqlite|postgres] [--commands 2048]

A fresh store; 1,024 lines first (the network's import, caches warm), then ``--commands``
lines through ``submit_lines``. Phases are the functions the hub calls per command (parse
and validate, digest, the handler, the receipt, stamps) and per group (encoding with
sealing, the insert with the hash chain and its commit); "the rest" is everything else of
``execute_many`` (group bookkeeping, spans, outcomes, the intake's report). The library's
side of the group-commit figure is encoding and insert only, without sealing or chain.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from hub import application, intake
from hub.settings import get_settings
from ops import heap, wiring
from ops.bench.groupcommit import capture, lines_of
from ops.bench.stores import fresh_store, raw_env
from ops.bench.writepath import RawApplication


def _timed(spent: dict[str, float], name: str, function: Callable[..., Any]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start

    return timed


def raw_seconds(store: str, lines: list[bytes]) -> float:
    """The library saving the events the hub saves for ``lines[1024:]``, in the same
    groups (``hub bench --only group``'s baseline), on a fresh store: seconds."""
    groups = capture([lines[:1024], lines[1024:]])[1]
    with fresh_store(get_settings(), store) as fresh:  # type: ignore[arg-type]
        raw = RawApplication(env=raw_env(fresh))
        try:
            start = time.perf_counter()
            for group in groups:
                raw.save(*group)
            return time.perf_counter() - start
        finally:
            raw.close()


def measure(store: str, commands: int) -> tuple[float, dict[str, float]]:
    """Seconds for ``commands`` lines, and seconds per phase."""
    lines = lines_of(commands + 1024)
    spent: dict[str, float] = defaultdict(float)
    settings = get_settings()
    with fresh_store(settings, store) as fresh:  # type: ignore[arg-type]
        app = wiring.open_application(fresh)
        try:
            intake.submit_lines(app, lines[:1024])
            parse, digest = intake.parse_command_line, application.c.command_digest
            stamp, trace = application._stamp, application._trace
            try:
                intake.parse_command_line = _timed(spent, "parse + validate", parse)
                application.c.command_digest = _timed(spent, "digest", digest)  # type: ignore[attr-defined]
                application._stamp = _timed(spent, "actor stamps", stamp)
                application._trace = _timed(spent, "trace stamps", trace)
                app._handle = _timed(spent, "handler (rules, aggregates)", app._handle)  # type: ignore[method-assign]
                app._receipt = _timed(spent, "receipt aggregate", app._receipt)  # type: ignore[method-assign]
                app.mapper.to_stored_event = _timed(  # type: ignore[method-assign]
                    spent, "encode (transcode, seal)", app.mapper.to_stored_event
                )
                app.recorder.insert_events = _timed(  # type: ignore[method-assign]
                    spent, "insert + hash chain + commit", app.recorder.insert_events
                )
                with heap.settled():  # as `hub submit` runs
                    start = time.perf_counter()
                    intake.submit_lines(app, lines[1024:])
                    total = time.perf_counter() - start
            finally:
                intake.parse_command_line = parse
                application.c.command_digest = digest  # type: ignore[attr-defined]
                application._stamp, application._trace = stamp, trace
        finally:
            app.close()
    return total, dict(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--commands", type=int, default=2048)
    args = parser.parse_args()
    total, spent = measure(args.store, args.commands)
    raw = raw_seconds(args.store, lines_of(args.commands + 1024))
    print(f"{args.store}: {args.commands} commands, {total / args.commands * 1e3:.3f} ms a command")
    print(f"  the library saving the same events in the same groups: {raw / total:.2f}× the time")
    spent["the rest"] = total - sum(spent.values())
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        share = seconds / total * 100
        print(f"  {name:32} {seconds / args.commands * 1e6:7.0f} µs  {share:5.1f} %")


if __name__ == "__main__":
    main()
