"""The narratives of a case's events the relay released to one agency: a watch-over's, a
support activity's or a visit's note, an answer's or a 終結's reason, ... (ops.case_notes
names every narrative field and its label), each with its event's kind and time, oldest
first: a list, every one released, not the newest per path.

As for the person's details (ops.disclosed), the relay's ledger alone says WHAT was given:
a narrative field its rows do not list for this agency on that event is not shown. The text
is the event's own, as the disclosed record held it; one read as erased is nothing, and
none is shown once the person is erased. The 申し送り of a referral is not here: that of a
referral to this agency is the referral's ``note`` (ops.disclosed); that of a referral to
ANOTHER agency, or its answer's or cancellation's reason, was written about the other
agency's referral and is never shown to this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub import events as ev
from hub.labels import label
from ops.case_notes import NOTE_FIELDS, texts
from ops.disclosed import CaseEvent

# Each event type's narrative fields, by the name the ledger's paths start with
# (``issues.issue`` is of ``issues``), with the path the access log names each by.
_PATHS: dict[str, dict[str, str]] = {
    kind.__name__: dict(fields) for kind, fields in NOTE_FIELDS.items()
}
# The referral's own 申し送り is ops.disclosed's ``note``.
_NOT_HERE = frozenset({ev.ReferralMade.__name__})
# Events about one referral: their narratives are that referral's agency's alone.
_OF_A_REFERRAL = frozenset({ev.ReferralAnswered.__name__, ev.ReferralCancelled.__name__})


@dataclass(frozen=True)
class ReleasedNarrative:
    """One narrative released to the agency: the event it was written in, and the release."""

    path: str
    event_type: str
    text: str
    occurred_at: str
    basis: str
    basis_ref: str | None

    def view(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": label("person_field", self.path),
            "event_type": self.event_type,
            "text": self.text,
            "occurred_at": self.occurred_at,
            "basis": self.basis,
            "basis_ref": self.basis_ref,
        }


def released_narratives(
    rows: Sequence[dict[str, Any]], events: Iterable[CaseEvent], agency_id: str
) -> list[ReleasedNarrative]:
    """The narratives the ledger ``rows`` of ONE agency (``agency_id``) and ONE case list,
    read from that case's ``events`` in log order (oldest first)."""
    by_event: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_event.setdefault(str(row["event_id"]), []).append(row)
    shown: list[ReleasedNarrative] = []
    seen: set[tuple[str, str]] = set()  # a field listed twice (a row recorded again) once
    for event in events:
        if event.event_type == "PersonErased":
            shown.clear()
            continue
        fields = _PATHS.get(event.event_type)
        if not fields or event.event_type in _NOT_HERE or not _ours(event, agency_id):
            continue
        for row in by_event.get(event.event_id, ()):
            for released in row["fields"]:
                name = str(released).split(".")[0]
                if name not in fields or (event.event_id, name) in seen:
                    continue
                seen.add((event.event_id, name))
                for text in texts(event.record.get(name)):
                    shown.append(
                        ReleasedNarrative(
                            fields[name],
                            event.event_type,
                            text,
                            str(row["occurred_at"]),
                            str(row["basis"]),
                            row.get("basis_ref"),
                        )
                    )
    return shown


def _ours(event: CaseEvent, agency_id: str) -> bool:
    if event.event_type not in _OF_A_REFERRAL:
        return True
    return event.record.get("agency_id") == agency_id
