"""Erasure of one person on a large log against a small one (issue 19): recording
PersonErased and destroying the case's data keys reads the case and writes one event and
the key rows, so its time must not grow with the log.

Each log is a copy of its own (``LogSpec.copy``): erasure changes a log, and the other
figures' logs stay as they were. Each repetition erases the next case not yet erased, the
sides rotating which goes first.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import replace
from uuid import UUID

from hub.application import HubApplication
from hub.errors import HubError
from hub.identity import Actor, Role
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench.logs import LogSpec, ensure_log
from ops.bench.measure import Row, Stopwatch, rotated

FIGURE = "erasure of one person"
TARGET = 1.5
CASE_OPENED = "hub.domain.case:Case.CaseOpened"
ADMINISTRATOR = Actor("bench-administrator", Role.administrator)


def _cases(app: HubApplication) -> Iterator[UUID]:
    """The log's cases not yet erased, oldest first."""
    start = 1
    while batch := app.recorder.select_notifications(start, 200, topics=[CASE_OPENED]):
        for notification in batch:
            case_id = UUID(str(notification.originator_id))
            if not app.get_case(case_id).erased:
                yield case_id
        start = batch[-1].id + 1


class _Side:
    def __init__(self, settings: Settings, store: StoreKind, spec: LogSpec) -> None:
        target, self.size = ensure_log(settings, store, replace(spec, copy="erase"))
        self.app = wiring.open_application(target, seed_network=False)
        self.cases = _cases(self.app)

    def erase_one(self) -> float:
        case_id = next(self.cases, None)
        if case_id is None:
            raise HubError("the erasure benchmark's log has no case left to erase")
        with Stopwatch() as watch:
            self.app.erase_person(
                case_id,
                decided_by="試験 ベンチマーク",
                reason="消去時間の計測",
                actor=ADMINISTRATOR,
            )
        return watch.seconds


def bench(settings: Settings, store: StoreKind, small: LogSpec, large: LogSpec, reps: int) -> Row:
    """Seconds to erase one person on the large log against the small one."""
    little, big = _Side(settings, store, small), _Side(settings, store, large)
    try:
        larges, smalls = rotated(reps, big.erase_one, little.erase_one)
    finally:
        little.app.close()
        big.app.close()
    ratio = statistics.median(b / s for b, s in zip(larges, smalls, strict=True))
    return Row(
        FIGURE,
        store,
        statistics.median(larges) * 1000,
        statistics.median(smalls) * 1000,
        ratio,
        f"≤ {TARGET}×",
        ratio <= TARGET,
        unit="ms",
        note=(
            f"{little.size} → {big.size} events ({big.size / little.size:.1f}×), {reps} reps: "
            "PersonErased recorded, the case's data keys destroyed"
        ),
    )
