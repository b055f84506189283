"""What the relay released to one agency about one case, with the values it released.

The relay's ledger (``producers.ledger``) is the only judge of WHAT an agency was given: a
field path its rows do not list for that agency and case is never shown, and an event the
relay has not passed has no row, so it shows nothing. The values are read from the case's
events as they stood in the disclosed record: a field of the event itself (a referral's
``person`` and ``note``), or, for the relay's own details-on-basis record (docs/STREAMS.md,
"A basis that comes into force after a referral"), the person's details as they stood at
the event that brought the basis (a detail an event the relay quarantined may have changed
is not shown from that record: which value it delivered is not known).

What the agency's own client would hold no more is not shown either (consumers/inbox.py):
a detail a ``PersonDetailsCleared`` emptied goes from every disclosure before it, whether
or not the relay has passed the notice yet (the stricter reading: the client drops it only
once the notice arrives); a value released after it stays. An erased person shows nothing
(the caller asks before reading).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.codec import event_record
from hub.sealing import ERASED

# The fields shown, and from which events: every detail of the person the ledger lists
# (the sensitive ones, 要配慮個人情報, too: only a basis that covers them releases them), and
# the officer's 申し送り on a referral. The narratives of other events: ops.disclosed_notes.
PERSON_SHOWN = (
    "name",
    "kana",
    "birth_date",
    "address",
    "phone",
    "health",
    "disability",
    "criminal_record",
)
SENSITIVE = frozenset({"person.health", "person.disability", "person.criminal_record"})
NOTE = "note"
SHOWN = (*(f"person.{name}" for name in PERSON_SHOWN), NOTE)


@dataclass(frozen=True)
class Released:
    """The newest value of one field released to the agency, and that disclosure."""

    path: str
    value: Any
    occurred_at: str
    basis: str
    basis_ref: str | None
    position: int

    def view(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "value": self.value,
            "occurred_at": self.occurred_at,
            "basis": self.basis,
            "basis_ref": self.basis_ref,
            "sensitive": self.path in SENSITIVE,
        }


@dataclass(frozen=True)
class CaseEvent:
    """One event of the case as the relay saw it: its id, type and record (values open)."""

    event_id: str
    event_type: str
    record: dict[str, Any]


def released_values(
    rows: Sequence[dict[str, Any]],
    events: Iterable[CaseEvent],
    agency_id: str,
    *,
    quarantined: Collection[str] = (),
) -> dict[str, Released]:
    """The newest released value of each shown field, from the ledger ``rows`` of ONE agency
    (``agency_id``) and ONE case and that case's ``events`` in log order; ``quarantined``:
    the ids of the events the relay quarantined (``RelayLedger.quarantined``)."""
    by_event: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_event.setdefault(str(row["event_id"]), []).append(row)
    # The person's details as they stand at each event, twice: with the quarantined events'
    # details and without. The relay folded a quarantined event's details or not (folded
    # before an encoding failed; never when it rebuilds its state): where the two differ,
    # which value a later basis delivered is not known, and none is shown.
    person: dict[str, Any] = {}
    relayed: dict[str, Any] = {}
    shown: dict[str, Released] = {}
    for event in events:
        _fold(person, shown, event)
        _fold(relayed, shown, event, details=event.event_id not in quarantined)
        for row in by_event.get(event.event_id, ()):
            for path in row["fields"]:
                value = _value(event, person, path, agency_id)
                if value != _value(event, relayed, path, agency_id):
                    continue
                if value is not None and value != ERASED:
                    shown[path] = Released(
                        path,
                        value,
                        str(row["occurred_at"]),
                        str(row["basis"]),
                        row.get("basis_ref"),
                        int(row["position"]),
                    )
    return shown


def _fold(
    person: dict[str, Any], shown: dict[str, Released], event: CaseEvent, *, details: bool = True
) -> None:
    """The person's details after ``event``, as the relay's governance folds them (without
    the details the event carries, unless ``details``; an erasure or a clearing always)."""
    carried = event.record.get("person") if details else None
    if isinstance(carried, dict):
        person.update({k: v for k, v in carried.items() if v is not None})
    if event.event_type == "PersonErased":
        person.clear()
        for path in [p for p in shown if p.startswith("person.")]:
            del shown[path]
    elif event.event_type == "PersonDetailsCleared":
        for name in event.record.get("fields") or []:
            person.pop(name, None)
            shown.pop(f"person.{name}", None)


def _value(event: CaseEvent, person: dict[str, Any], path: str, agency_id: str) -> Any:
    if path not in SHOWN:
        return None
    if path == NOTE:
        # The 申し送り of a referral to THIS agency: the relay also sends an involved agency
        # the referral to another (its note on a basis that covers narratives), but that
        # note was written for the other agency, and is not shown as this referral's.
        ours = event.event_type == "ReferralMade" and event.record.get("agency_id") == agency_id
        return event.record.get(NOTE) if ours else None
    name = path.removeprefix("person.")
    own = event.record.get("person")
    if isinstance(own, dict):  # the record carries the person: its own values
        return own.get(name)
    # The relay's details-on-basis record: the details as they stand at this event.
    return person.get(name)


def case_event(domain_event: Any) -> CaseEvent:
    """A stored domain event of the case (read through the application: sealed fields open,
    an erased person's read ``［消去済み］``)."""
    record = event_record(domain_event)
    return CaseEvent(str(record["event_id"]), str(record["event_type"]), record)
