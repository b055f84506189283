"""Shared by the agency-side tests: synthetic referral records and in-memory fakes of the ports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from consumers.ports import InRecord
from hub import codec
from hub import events as ev
from hub.commands import OpenCase, ReferCase

AGENCY = "moji.houkatsu"
OTHER_AGENCY = "moji.kodomo"
WARD = "moji"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
PERSON = {"name": "試験 花子", "kana": "シケン ハナコ", "address": "北九州市架空町1-2-3"}


def refer(
    app: Any, agency: str = AGENCY, *, urgency: str = "urgent", purpose: str = "assessment"
) -> tuple[UUID, UUID]:
    """Open a case in 門司区 and refer it to ``agency`` through the hub: (case id, referral id)."""
    case_id, referral_id = uuid4(), uuid4()
    app.execute(OpenCase(command_id=uuid4(), occurred_at=T0, case_id=case_id, ward=WARD))
    app.execute(
        ReferCase(
            command_id=uuid4(),
            occurred_at=T0 + timedelta(minutes=1),
            case_id=case_id,
            referral_id=referral_id,
            agency_id=agency,
            purpose=purpose,
            urgency=urgency,
        )
    )
    return case_id, referral_id


def encoded(payload: ev.Event, aggregate_id: UUID, version: int) -> tuple[bytes, str]:
    """A single-object encoded event record and its event id, as the relay writes it."""
    event_id = str(codec.event_id(aggregate_id, version))
    record: dict[str, Any] = {
        "event_id": event_id,
        "event_type": type(payload).__name__,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": version,
        "recorded_at": payload.occurred_at.isoformat(),
    }
    record.update(payload.model_dump(mode="json"))
    return codec.encode(type(payload).__name__, record), event_id


class Stream:
    """A referral topic being written: records with offsets and the relay's headers."""

    def __init__(self, topic: str = f"referrals.{AGENCY}") -> None:
        self.topic = topic
        self.records: list[InRecord] = []
        self.versions: dict[UUID, int] = {}

    def _append(
        self, value: bytes | None, headers: Mapping[str, str], key: bytes | None = None
    ) -> InRecord:
        record = InRecord(
            topic=self.topic,
            partition=0,
            offset=len(self.records),
            value=value,
            key=key,
            headers={k: v.encode() for k, v in headers.items()},
        )
        self.records.append(record)
        return record

    def event(self, payload: ev.Event, **headers: str) -> InRecord:
        case_id = payload.case_id if isinstance(payload, ev.CaseEvent) else uuid4()
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        value, event_id = encoded(payload, case_id, version)
        return self._append(
            value,
            {"event_id": event_id, "event_type": type(payload).__name__, **headers},
            key=str(case_id).encode(),
        )

    def erasure(self, case_id: UUID, *discoveries: UUID) -> InRecord:
        """The notice of the case's erasure (PersonErased), naming the discoveries it was
        opened from among its subjects."""
        return self.event(
            ev.PersonErased(
                occurred_at=T0,
                case_id=case_id,
                decided_by="試験課",
                reason="保存期間満了",
                subjects=[str(case_id), *(str(d) for d in discoveries)],
            ),
            basis="none",
        )

    def raw(self, value: bytes | None, **headers: str) -> InRecord:
        return self._append(value, headers)

    def referral(
        self,
        case_id: UUID | None = None,
        urgency: str = "soon",
        agency_id: str = AGENCY,
        note: str | None = None,
        at: datetime = T0,
        **headers: str,
    ) -> tuple[UUID, UUID]:
        case_id = case_id or uuid4()
        referral_id = uuid4()
        self.event(
            ev.ReferralMade(
                occurred_at=at,
                case_id=case_id,
                referral_id=referral_id,
                agency_id=agency_id,
                purpose="assessment",
                urgency=urgency,  # type: ignore[arg-type]
                ward=WARD,
                needs=["elderly", "isolation"],
                note=note,
            ),
            **(headers or {"basis": "none", "missing_basis": "consent", "withheld": "note"}),
        )
        return case_id, referral_id

    def escalation(
        self, case_id: UUID, referral_id: UUID, at: datetime = T0, overdue_minutes: int = 95
    ) -> None:
        """The referral escalated to the ward's coordinator (nothing personal: no basis)."""
        self.event(
            ev.ReferralEscalated(
                occurred_at=at,
                case_id=case_id,
                referral_id=referral_id,
                agency_id=AGENCY,
                coordinator="moji.coordinator",
                overdue_minutes=overdue_minutes,
            ),
            basis="none",
        )

    def answered(
        self, case_id: UUID, referral_id: UUID, answer: str, at: datetime = T0
    ) -> InRecord:
        return self.event(
            ev.ReferralAnswered(
                occurred_at=at + timedelta(hours=1),
                case_id=case_id,
                referral_id=referral_id,
                agency_id=AGENCY,
                answer=answer,  # type: ignore[arg-type]
            ),
            basis="none",
        )


class FakeSource:
    """Hands out the stream's records a few at a time; remembers what was committed."""

    def __init__(self, records: list[InRecord], batch: int = 3, on_commit: Any = None) -> None:
        self._records = list(records)
        self._batch = batch
        self._next = 0
        self.committed: dict[tuple[str, int], int] = {}
        self.commits: list[dict[tuple[str, int], int]] = []
        self._on_commit = on_commit

    def poll(self) -> list[InRecord]:
        if not self._records:
            return []
        start = (
            self.committed.get((self._records[0].topic, 0), 0) if self._next == 0 else self._next
        )
        chunk = self._records[start : start + self._batch]
        self._next = start + len(chunk)
        return chunk

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        if self._on_commit is not None:
            self._on_commit(dict(offsets))
        self.committed.update(offsets)
        self.commits.append(dict(offsets))

    def caught_up(self) -> bool:
        return self._next >= len(self._records)

    def restart(self) -> None:
        """As a new process would: resume from the committed offsets."""
        self._next = 0

    def close(self) -> None:
        pass


class FakeDeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[InRecord, str]] = []

    def park(self, record: InRecord, reason: str) -> None:
        self.parked.append((record, reason))

    def close(self) -> None:
        pass


# Over the real broker -------------------------------------------------------------------------


def provisioned(settings: Any, agencies: tuple[str, ...] = (AGENCY, OTHER_AGENCY)) -> Any:
    """Settings with a fresh topic prefix, its topics, users and ACLs provisioned."""
    from producers.provision import provision

    prefix = f"t{uuid4().hex[:10]}."
    fresh = settings.model_copy(update={"kafka_topic_prefix": prefix})
    provision(fresh, agencies)
    return fresh


def relay_writer(settings: Any) -> Any:
    from consumers.kafka_io import KafkaWriter
    from hub.kafka_clients import credentials

    return KafkaWriter(settings, *credentials(settings, "relay"))


def publish_like_relay(app: Any, settings: Any, records: list[InRecord]) -> None:
    """Write records on their topics as the relay principal."""
    from hub import topics

    writer = relay_writer(settings)
    try:
        for r in records:
            agency = r.topic.removeprefix("referrals.")
            writer.send(
                topics.referrals(settings, agency),
                r.value,
                key=r.key,
                headers=list(r.headers.items()),
            )
    finally:
        writer.close()


def relay_records_of(app: Any, agency_id: str, after: int = 0) -> list[InRecord]:
    """The referral stream records the relay would write for ``agency_id``: the agency's own
    referral events from the hub's log, as de-identified notices (no basis)."""
    stream = Stream(f"referrals.{agency_id}")
    for notification in app.recorder.select_notifications(start=after + 1, limit=1000):
        event = app.mapper.to_domain_event(notification)
        payload = getattr(event, "payload", None)
        if getattr(payload, "agency_id", None) != agency_id or not hasattr(payload, "case_id"):
            continue  # not a case event of this agency (the network's own events, for one)
        record = codec.event_record(event)
        for path in ("note", "reason"):
            if path in record:
                record[path] = None
        stream._append(
            codec.encode(type(payload).__name__, record),
            {
                "event_id": record["event_id"],
                "event_type": record["event_type"],
                "position": str(notification.id),
                "basis": "none",
                "missing_basis": "consent",
            },
            key=str(payload.case_id).encode(),
        )
    return stream.records


def read_topic(settings: Any, topic: str) -> list[Any]:
    """Every record of a topic, read as the admin user."""
    from kafka import KafkaConsumer, TopicPartition

    from hub.kafka_config import client_config

    consumer = KafkaConsumer(enable_auto_commit=False, **client_config(settings))
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        found: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=1000).values():
                found.extend(batch)
        return found
    finally:
        consumer.close()


def hub_cli(*args: str) -> list[str]:
    """The ``hub`` command line run by this interpreter (installed script or not)."""
    import sys

    return [sys.executable, "-c", "from ops.cli.main import run; run()", *args]


def cli_env(settings: Any, **extra: str) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.update(
        {
            "HUB_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
            "HUB_LOG_LEVEL": "WARNING",
            "COLUMNS": "240",
            **extra,
        }
    )
    return env


def inbox_progress(path: Any) -> int:
    """Records applied or parked so far by a consumer writing the SQLite inbox at ``path``."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(
            conn.execute(
                "SELECT (SELECT COUNT(*) FROM inbox_events) + (SELECT COUNT(*) FROM inbox_parked)"
            ).fetchone()[0]
        )
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()
