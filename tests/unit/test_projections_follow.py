"""The log poller reads every notification once, in order, in bounded batches."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from projections.follow import LogPoller


@dataclass(frozen=True)
class FakeNotification:
    id: int


class FakeRecorder:
    """Notification ids with gaps (as after rolled-back PostgreSQL inserts)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.limits: list[int] = []

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[FakeNotification]:
        self.limits.append(limit)
        found = [
            i
            for i in self.ids
            if (start is None or (i >= start if inclusive_of_start else i > start))
            and (stop is None or i <= stop)
        ]
        return [FakeNotification(i) for i in found[:limit]]


def poller(ids: list[int], **kw: Any) -> LogPoller:
    return LogPoller(FakeRecorder(ids), **kw)  # type: ignore[arg-type]


def test_batches_cover_the_log_after_a_position_without_gaps_or_repeats() -> None:
    ids = [1, 2, 3, 5, 8, 9, 10, 14]
    batches = list(poller(ids, batch_size=3).batches(after=2))
    assert [[n.id for n in b] for b in batches] == [[3, 5, 8], [9, 10, 14]]
    assert [n.id for b in poller(ids, batch_size=3).batches(after=None) for n in b] == ids


def test_batches_stop_at_the_given_position() -> None:
    read = [n.id for b in poller([1, 2, 3, 4, 5], batch_size=2).batches(None, stop=3) for n in b]
    assert read == [1, 2, 3]


def test_batches_are_never_larger_than_the_batch_size() -> None:
    recorder = FakeRecorder(list(range(1, 1001)))
    batches = list(LogPoller(recorder, batch_size=100).batches(None))  # type: ignore[arg-type]
    assert max(len(b) for b in batches) == 100
    assert set(recorder.limits) == {100}


def test_following_picks_up_notifications_recorded_later_and_stops_on_request() -> None:
    recorder = FakeRecorder([1, 2])
    stopping = threading.Event()
    follower = LogPoller(recorder, batch_size=10, interval=0.01).follow(None, stopping)  # type: ignore[arg-type]
    assert [n.id for n in next(follower)] == [1, 2]
    recorder.ids += [4, 7]
    assert [n.id for n in next(follower)] == [4, 7]
    stopping.set()
    assert list(follower) == []


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        poller([], batch_size=0)
