"""A small synthetic case history the audit tests share: consent, meeting, emergency,
withdrawal and a statutory referral, at fixed business times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from hub import commands as c
from hub.application import HubApplication
from projections.audit.history import History, LoggedEvent
from tests import factories as f

STATUTE = "児童虐待防止法第6条"
EMERGENCY_AGENCY = "kokurakita.inochinet"
# A personal field of each data category (the schemas' ``personal`` marks).
FIELD_OF = {
    "identity": "person.name",
    "contact": "person.address",
    "health": "person.health",
    "disability": "person.disability",
    "criminal_record": "person.criminal_record",
    "narrative": "note",
}


@dataclass(frozen=True)
class Scenario:
    case_id: UUID
    consent_id: UUID
    meeting_id: UUID
    declaration_id: UUID
    given_at: datetime
    withdrawn_at: datetime
    held_at: datetime
    declared_at: datetime
    expires_at: datetime


def build(app: HubApplication) -> Scenario:
    case_id = app.execute(f.consultation()).aggregate_ids[0]
    app.execute(f.referral(case_id, "kokurakita.hogo", occurred_at=f.at(0.5)))
    consent_id, meeting_id, declaration_id = uuid4(), uuid4(), uuid4()
    app.execute(f.consent(case_id, consent_id=consent_id, occurred_at=f.at(1)))
    app.execute(f.meeting([case_id], meeting_id=meeting_id, occurred_at=f.at(2)))
    app.execute(
        f.emergency(
            case_id,
            declaration_id=declaration_id,
            agencies=[EMERGENCY_AGENCY],
            occurred_at=f.at(3),
            expires_at=f.at(6),
        )
    )
    app.execute(f.referral(case_id, "kokurakita.hoken", occurred_at=f.at(4)))
    details(app, case_id, 4.5)
    app.execute(f.withdrawal(case_id, consent_id, occurred_at=f.at(5)))
    details(app, case_id, 5.5)
    app.execute(f.referral(case_id, "kokurakita.kodomo", statute=STATUTE, occurred_at=f.at(7)))
    details(app, case_id, 8)
    return Scenario(
        case_id,
        consent_id,
        meeting_id,
        declaration_id,
        f.at(1),
        f.at(5),
        f.at(2),
        f.at(3),
        f.at(6),
    )


def details(app: HubApplication, case_id: UUID, day: float) -> None:
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(day))
    )


def event_at(history: History, event_type: str, nth: int = 0) -> LoggedEvent:
    found = [e for e in history.events.values() if e.event_type == event_type]
    return sorted(found, key=lambda e: e.position)[nth]


def disclosure(
    event: LoggedEvent, agency_id: str, basis: str, basis_ref: object, **overrides: Any
) -> dict[str, Any]:
    """A ledger record (Disclosure.avsc) for ``event``, as the relay would write it: a field
    of each category disclosed (unless ``fields`` says otherwise)."""
    categories = overrides.get("categories", ["narrative"])
    record: dict[str, Any] = {
        "disclosure_id": str(uuid4()),
        "event_id": event.event_id,
        "position": event.position,
        "case_id": event.case_id,
        "agency_id": agency_id,
        "fields": [FIELD_OF[category] for category in categories],
        "categories": categories,
        "basis": basis,
        "basis_ref": None if basis_ref is None else str(basis_ref),
        "confidentiality_duty": basis == "support_meeting",
        "occurred_at": event.occurred_at.isoformat(),
    }
    record.update(overrides)
    return record
