"""Relay restart: the time from opening the store to the relay's first step, on a large log
against a small one.

The relay stores its governance state with its position (producers/snapshot.py), so a
restart reads a header and loads cases only as events need them. Each log gets a relay
position (its own name, one per version of the fold's code) at the log's end with the state
stored there, made once by folding the whole log: that fold is what every restart cost
before, and is reported beside it. Timed: open the application and the ledger, build the
relay (a producer that sends nothing: there is nothing after the position), take one step.
"""

from __future__ import annotations

import statistics
from typing import Any

from hub.errors import HubError
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench.logs import LogSpec, ensure_log
from ops.bench.measure import Row, Stopwatch, rotated
from producers import snapshot
from producers.governance import GovernanceState, fold, logged

FIGURE = "relay restart"
TARGET = 1.5
BATCH = 500


class _Nothing:
    """The producer of a relay with nothing left to send."""

    def send(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the restarted relay has nothing to send")

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


def _positioned(settings: Settings, store: StoreKind, spec: LogSpec) -> tuple[Settings, int]:
    """The log's settings under a relay position of this benchmark and this fold's code."""
    target, size = ensure_log(settings, store, spec)
    prefix = f"bench.restart.{snapshot.code_digest()}."
    return target.model_copy(update={"kafka_topic_prefix": prefix}), size


def prime(settings: Settings, store: StoreKind, spec: LogSpec) -> tuple[Settings, int, float]:
    """Stores a relay position at the log's end with its state (folding the whole log once,
    timed: the old restart) unless stored already; the settings, size and fold's seconds
    (0 when it was stored before)."""
    target, size = _positioned(settings, store, spec)
    ledger = wiring.open_ledger(target)
    if ledger.position() >= size:
        return target, size, 0.0
    app = wiring.open_application(target, seed_network=False)
    try:
        key = target.secret("pseudonym_key").encode()  # as the relay signs its state
        with Stopwatch() as watch:
            state = GovernanceState()
            while batch := app.recorder.select_notifications(
                start=state.position + 1, limit=BATCH, stop=size
            ):
                for notification in batch:
                    event = app.mapper.to_domain_event(notification)
                    fold(state, logged(notification.id, event))
        ledger.record(size, [], [], snapshot.write(state, key, (), replace_all=True))
    finally:
        app.close()
    return target, size, watch.seconds


def restart_once(target: Settings) -> float:
    """Seconds from opening the store to the relay's first step (which finds nothing new)."""
    with Stopwatch() as watch:
        app = wiring.open_application(target, seed_network=False)
        relay = wiring.open_relay(target, app, producer=_Nothing(), batch_size=BATCH)
        counts = relay.step()
    app.close()
    if counts.events or relay.restored_from != "used":
        raise HubError(f"the relay did not restart from its stored state ({relay.restored_from})")
    return watch.seconds


def bench(
    settings: Settings, store: StoreKind, small: LogSpec, large: LogSpec, reps: int
) -> list[Row]:
    """Restart time on the large log against the small one; the full folds beside them."""
    small_target, small_size, small_fold = prime(settings, store, small)
    large_target, large_size, large_fold = prime(settings, store, large)
    larges, smalls = rotated(
        reps, lambda: restart_once(large_target), lambda: restart_once(small_target)
    )
    big, little = statistics.median(larges), statistics.median(smalls)
    ratio = statistics.median(b / s for b, s in zip(larges, smalls, strict=True))
    sizes = f"{small_size} → {large_size} events ({large_size / small_size:.1f}×)"
    rows = [
        Row(
            FIGURE,
            store,
            big * 1000,
            little * 1000,
            ratio,
            f"≤ {TARGET}×",
            ratio <= TARGET,
            unit="ms",
            note=f"{sizes}, {reps} reps: open, read the stored state, first step",
        )
    ]
    if small_fold and large_fold:
        rows.append(
            Row(
                "relay restart without stored state (full fold)",
                store,
                large_fold,
                small_fold,
                large_fold / small_fold,
                "(reference)",
                None,
                unit="s",
                note=f"{sizes}: the fold every restart made before, once",
            )
        )
    return rows
