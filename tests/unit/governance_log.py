"""Builds synthetic logs of governance-relevant events without a store (for unit tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from hub import events as ev
from hub.domain.network import NETWORK_ID
from hub.reference import load_network
from hub.reference.directory import Directory, changes
from producers.governance import LoggedEvent

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
NAME = "試験 花子"
ADDRESS = "北九州市架空町1-2-3"
HEALTH = "架空の病歴"
NOTE = "架空の相談メモ"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ident(label: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/test/{label}")


class Log:
    """Appends payloads with envelopes, numbering positions from 1.

    Like every store, the log starts with the shipped network's import.
    """

    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []
        self.versions: dict[UUID, int] = {}
        for payload in changes(Directory(), load_network(), T0 - timedelta(days=30)):
            self.add(payload)

    def __repr__(self) -> str:
        lines = [
            f"{e.position} {e.payload!r}"
            for e in self.events
            if not Directory.is_network_event(e.payload)
        ]
        return "Log(\n" + "\n".join(lines) + "\n)"

    def add(self, payload: ev.Event) -> LoggedEvent:
        aggregate_id = getattr(payload, "case_id", None) or (
            NETWORK_ID if Directory.is_network_event(payload) else ident(f"agg-{len(self.events)}")
        )
        version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = version
        position = len(self.events) + 1
        record: dict[str, Any] = {
            "event_id": str(uuid5(NAMESPACE_URL, f"/events/{aggregate_id}/{version}")),
            "event_type": type(payload).__name__,
            "aggregate_id": str(aggregate_id),
            "aggregate_version": version,
            "recorded_at": payload.occurred_at.isoformat(),
        }
        record.update(payload.model_dump(mode="json"))
        logged = LoggedEvent(position, payload, record)
        self.events.append(logged)
        return logged


def person(**kw: Any) -> ev.PersonDetails:
    data = {"name": NAME, "address": ADDRESS, "health": HEALTH, **kw}
    return ev.PersonDetails(**data)


def opened(case_id: UUID, hours: float = 0) -> ev.CaseOpened:
    return ev.CaseOpened(
        occurred_at=at(hours), case_id=case_id, ward="moji", origin="consultation", person=person()
    )


def details(case_id: UUID, hours: float) -> ev.PersonDetailsRecorded:
    return ev.PersonDetailsRecorded(occurred_at=at(hours), case_id=case_id, person=person())


def referral(
    case_id: UUID,
    agency: str,
    hours: float,
    purpose: str = "consultation",
    statute: str | None = None,
    label: str = "r",
) -> ev.ReferralMade:
    return ev.ReferralMade(
        occurred_at=at(hours),
        case_id=case_id,
        referral_id=ident(f"{case_id}/{label}/{agency}"),
        agency_id=agency,
        purpose=purpose,  # type: ignore[arg-type]
        urgency="soon",
        ward="moji",
        statute=statute,
        note=NOTE,
    )


def consent(
    case_id: UUID,
    hours: float,
    scope: list[str],
    categories: list[str],
    purposes: list[str] | None = None,
    until: float = 1000,
    label: str = "c",
) -> ev.ConsentGiven:
    return ev.ConsentGiven(
        occurred_at=at(hours),
        case_id=case_id,
        consent_id=ident(f"{case_id}/{label}"),
        scope=scope,
        purposes=purposes or ["consultation"],  # type: ignore[arg-type]
        data_categories=categories,  # type: ignore[arg-type]
        valid_from=at(hours),
        valid_until=at(until),
    )


def withdrawn(case_id: UUID, hours: float, label: str = "c") -> ev.ConsentWithdrawn:
    return ev.ConsentWithdrawn(
        occurred_at=at(hours), case_id=case_id, consent_id=ident(f"{case_id}/{label}")
    )


def taken_up(
    case_id: UUID, hours: float, members: list[str], kind: str = "connection", label: str = "m"
) -> ev.TakenUpByMeeting:
    return ev.TakenUpByMeeting(
        occurred_at=at(hours),
        case_id=case_id,
        meeting_id=ident(f"{case_id}/{label}"),
        kind=kind,  # type: ignore[arg-type]
        members=members,
    )


def emergency(
    case_id: UUID,
    hours: float,
    agencies: list[str],
    categories: list[str],
    until: float,
    label: str = "e",
    sensitive: list[str] | None = None,
) -> ev.EmergencyDeclared:
    """``sensitive``: break-glass categories (with a reason), none when omitted."""
    return ev.EmergencyDeclared(
        occurred_at=at(hours),
        case_id=case_id,
        declaration_id=ident(f"{case_id}/{label}"),
        agencies=agencies,
        data_categories=categories,  # type: ignore[arg-type]
        reason=NOTE,
        expires_at=at(until),
        sensitive_categories=sensitive or [],  # type: ignore[arg-type]
        sensitive_reason=NOTE if sensitive else None,
    )


def ended(case_id: UUID, hours: float, label: str = "e") -> ev.EmergencyEnded:
    return ev.EmergencyEnded(
        occurred_at=at(hours), case_id=case_id, declaration_id=ident(f"{case_id}/{label}")
    )
