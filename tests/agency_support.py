"""Shared by the agency-side tests: synthetic referral records and in-memory fakes of the ports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from consumers.ports import InRecord
from hub import codec
from hub import events as ev

AGENCY = "moji.houkatsu"
OTHER_AGENCY = "moji.kodomo"
WARD = "moji"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
PERSON = {"name": "試験 花子", "kana": "しけん はなこ", "address": "北九州市架空町1-2-3"}


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
