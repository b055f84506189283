"""Kafka adapters of the consumers' ports (kafka-python, SASL/SCRAM as a given principal).

Partitions are assigned by the client itself (all partitions of the topics it reads) and the
group is used only to keep committed offsets: a restarted consumer resumes at once, with
no wait for a dead member of the group to time out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, RetriableError
from kafka.structs import OffsetAndMetadata

from consumers.deadletter import deadletter_headers
from consumers.ports import InRecord, Place
from hub import codec, kafka_clients
from hub.errors import ServiceUnavailableError
from hub.logging import get_logger
from hub.settings import Settings

log = get_logger(__name__)

SEND_TIMEOUT_S = 30.0
# How long a consumer waits through a broker outage before it gives up with one clear error.
OUTAGE_PATIENCE_S = 600.0


def _unavailable(what: str, error: Exception) -> ServiceUnavailableError:
    return ServiceUnavailableError(f"Kafka: {what} failed ({type(error).__name__}: {error})")


T = TypeVar("T")


def waiting_out_outages(
    what: str,
    call: Callable[[], T],
    patience_s: float = OUTAGE_PATIENCE_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Calls ``call``, retrying with backoff while the broker is away (up to ``patience_s``).

    A consumer that finds the broker gone waits and resumes by itself; offsets are committed
    only after the inbox change, so a retried poll or commit neither loses nor repeats work.
    """
    deadline = time.monotonic() + patience_s
    delay = 0.5
    while True:
        try:
            return call()
        except RetriableError as error:  # the broker is away: wait for it
            if time.monotonic() + delay > deadline:
                raise _unavailable(what, error) from error
            log.warning("kafka_unavailable_waiting", what=what, error=type(error).__name__)
            sleep(delay)
            delay = min(delay * 2, 10.0)
        except KafkaError as error:  # a refusal (e.g. an ACL) fails at once
            raise _unavailable(what, error) from error


class KafkaSource:
    """Reads every partition of the topics ``topics()`` names (re-asked now and then)."""

    def __init__(
        self,
        settings: Settings,
        user: str,
        password: str,
        group_id: str,
        topics: Callable[[KafkaConsumer], list[str]],
        poll_ms: int = 500,
        max_records: int = 200,
        refresh_s: float = 30.0,
        starts: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        """``starts``: where the reader's own store of what it applied goes on in each
        partition (the offset after the last record it holds; a partition it holds nothing
        of, from its first record). Each partition is read from that or from what the group
        committed, whichever is earlier, committed at once (``_resume``)."""
        self._topics = topics
        self._poll_ms = poll_ms
        self._max_records = max_records
        self._refresh_s = refresh_s
        self._consumer = kafka_clients.consumer(
            settings,
            user,
            password=password,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._assigned: set[TopicPartition] = set()
        self._refreshed = 0.0
        waiting_out_outages("topic assignment", self._assign)
        if starts is not None and self._assigned:
            waiting_out_outages("seek", lambda: self._resume(starts))

    def _resume(self, starts: Mapping[tuple[str, int], int]) -> None:
        """Every partition from the earlier of where the reader's store goes on and what the
        group committed, and that committed before anything is applied. The group's offsets
        may be another store's: a store moved to another file starts empty, one moved back
        is behind them, and resuming at them would pass over records the store never
        applied, silently. The store's own offsets may be another topic's (one deleted and
        made again under its name, whose group offsets the broker dropped): the earlier of
        the two reads again only records applied before, which their event ids settle."""
        assigned = sorted(self._assigned)
        firsts = self._consumer.beginning_offsets(assigned)
        at: dict[TopicPartition, int] = {}
        for tp in assigned:
            first = firsts[tp]
            held = starts.get((tp.topic, tp.partition))
            committed = self._consumer.committed(tp)
            own = first if held is None else held
            group = first if committed is None else committed
            at[tp] = max(first, min(own, group))
            if held is not None and held < first:
                log.warning(
                    "consumer.records_expired",
                    topic=tp.topic,
                    partition=tp.partition,
                    held_until=held,
                    topic_starts_at=first,
                    reason="records between expired on the broker and are not in this store",
                )
        for tp in assigned:
            self._consumer.seek(tp, at[tp])
        self._consumer.commit({tp: OffsetAndMetadata(at[tp], "", -1) for tp in assigned})

    def _assign(self) -> None:
        partitions = set()
        for topic in self._topics(self._consumer):
            for partition in self._consumer.partitions_for_topic(topic) or ():
                partitions.add(TopicPartition(topic, partition))
        if partitions != self._assigned:
            self._consumer.assign(sorted(partitions))
            self._assigned = partitions
        self._refreshed = time.monotonic()

    @property
    def topics(self) -> set[str]:
        return {tp.topic for tp in self._assigned}

    def poll(self) -> list[InRecord]:
        if time.monotonic() - self._refreshed > self._refresh_s:
            waiting_out_outages("topic assignment", self._assign)
        if not self._assigned:
            time.sleep(self._poll_ms / 1000)
            return []
        batches = waiting_out_outages(
            "poll",
            lambda: self._consumer.poll(timeout_ms=self._poll_ms, max_records=self._max_records),
        )
        return [in_record(r) for tp in sorted(batches) for r in batches[tp]]

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        committed = {
            TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()
        }
        waiting_out_outages("offset commit", lambda: self._consumer.commit(committed))

    def caught_up(self) -> bool:
        if not self._assigned:
            return True

        def at_end() -> bool:
            ends = self._consumer.end_offsets(sorted(self._assigned))
            return all(self._consumer.position(tp) >= ends[tp] for tp in self._assigned)

        return waiting_out_outages("end offsets", at_end)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def in_record(r: ConsumerRecord) -> InRecord:
    return InRecord(
        topic=r.topic,
        partition=r.partition,
        offset=r.offset,
        value=r.value,
        key=r.key,
        headers={k: bytes(v) for k, v in (r.headers or [])},
    )


def records_at(
    settings: Settings, user: str, password: str, places: Iterable[Place]
) -> dict[Place, InRecord]:
    """The records at these places (topic, partition, offset), read as ``user`` without a
    consumer group, each partition from the first place to the last, not to its end; a
    place the broker no longer holds is left out."""
    wanted = set(places)
    starts: dict[tuple[str, int], int] = {}
    stops: dict[tuple[str, int], int] = {}
    for topic, partition, offset in wanted:
        starts[(topic, partition)] = min(offset, starts.get((topic, partition), offset))
        stops[(topic, partition)] = max(offset + 1, stops.get((topic, partition), 0))
    if not starts:
        return {}
    found = {}
    for r in kafka_clients.read_to_end(
        settings,
        sorted({topic for topic, _ in starts}),
        principal=user,
        password=password,
        client_id=f"{user}-retry",
        starts=starts,
        stops=stops,
    ):
        if (r.topic, r.partition, r.offset) in wanted:
            found[(r.topic, r.partition, r.offset)] = in_record(r)
    return found


def fixed_topics(*names: str) -> Callable[[KafkaConsumer], list[str]]:
    return lambda _consumer: list(names)


def matching_topics(match: Callable[[str], bool]) -> Callable[[KafkaConsumer], list[str]]:
    return lambda consumer: sorted(t for t in consumer.topics() if match(t))


class KafkaWriter:
    """A producer as one principal: synchronous sends (acks=all), so a send is durable."""

    def __init__(self, settings: Settings, user: str, password: str) -> None:
        self._producer = kafka_clients.producer(settings, user, password=password, acks="all")

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> int:
        """Write one record and wait for the broker; its offset."""
        try:
            future = self._producer.send(topic, value=value, key=key, headers=headers or [])
            return int(future.get(timeout=SEND_TIMEOUT_S).offset)
        except KafkaError as error:
            raise _unavailable(f"writing to {topic}", error) from error

    def close(self) -> None:
        self._producer.close(timeout=SEND_TIMEOUT_S)


class KafkaConfirmations:
    """ErasureConfirmations on the agency's reply topic, as the agency's principal."""

    def __init__(self, writer: KafkaWriter, topic: str) -> None:
        self._writer = writer
        self.topic = topic

    def confirm(self, record: dict[str, Any]) -> None:
        self._writer.send(
            self.topic,
            codec.encode("ErasureConfirmation", record),
            key=str(record["case_id"]).encode(),
            headers=[
                ("event_id", str(record["confirmation_id"]).encode()),
                ("event_type", b"ErasureConfirmation"),
            ],
        )


class KafkaDeadLetters:
    def __init__(self, writer: KafkaWriter, topic: str) -> None:
        self._writer = writer
        self.topic = topic

    def park(self, record: InRecord, reason: str) -> None:
        self._writer.send(
            self.topic, record.value, key=record.key, headers=deadletter_headers(record, reason)
        )

    def close(self) -> None:
        self._writer.close()
