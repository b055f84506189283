"""Where a consumer with a store of its own starts reading (``KafkaSource._resume``): the
earlier of its store's offsets and its group's, never before the partition's first record.
A stand-in for kafka-python's consumer here; tests/integration/test_agency_kafka.py moves
real inboxes on a real broker."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import TopicPartition
from structlog.testing import capture_logs

from consumers.kafka_io import KafkaSource

TOPIC = "referrals.moji.houkatsu"


class Consumer:
    def __init__(self, first: int, committed: int | None) -> None:
        self.first, self.group = first, committed
        self.seeks: dict[TopicPartition, int] = {}
        self.commits: dict[TopicPartition, Any] = {}

    def beginning_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(partitions, self.first)

    def committed(self, tp: TopicPartition) -> int | None:
        return self.group

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.update(offsets)


def started(first: int, committed: int | None, held: int | None) -> tuple[int, list[Any]]:
    source = KafkaSource.__new__(KafkaSource)
    consumer = Consumer(first, committed)
    tp = TopicPartition(TOPIC, 0)
    source._consumer = consumer  # type: ignore[assignment]
    source._assigned = {tp}
    starts = {} if held is None else {(TOPIC, 0): held}
    with capture_logs() as logs:
        source._resume(starts)
    assert consumer.commits[tp].offset == consumer.seeks[tp]  # committed before applying
    return consumer.seeks[tp], logs


@pytest.mark.parametrize(
    ("case", "first", "committed", "held", "start"),
    [
        ("a new store: the topic's start", 0, 40, None, 0),
        ("a store moved back: its own offsets", 0, 40, 25, 25),
        ("a crash before the offsets' commit: the group's", 0, 40, 43, 40),
        ("the same place", 0, 40, 40, 40),
        ("a topic made again (group offsets gone): its start", 0, None, 43, 0),
        ("a group new to the topic: its start", 3, None, None, 3),
    ],
)
def test_a_consumer_starts_at_the_earlier_of_its_stores_and_its_groups_offsets(
    case: str, first: int, committed: int | None, held: int | None, start: int
) -> None:
    at, logs = started(first, committed, held)
    assert at == start, case
    assert logs == []


def test_records_expired_before_the_store_caught_up_are_named_in_a_warning() -> None:
    at, logs = started(first=30, committed=50, held=20)
    assert at == 30
    (warning,) = logs
    assert warning["event"] == "consumer.records_expired" and warning["log_level"] == "warning"
    assert (warning["held_until"], warning["topic_starts_at"]) == (20, 30)
