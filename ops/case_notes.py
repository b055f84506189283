"""The narrative notes officers write on a case (相談内容の要旨, 見立ての要旨, 申し送り, and
the notes of 見守りの手配, 支援の記録 and 評価), as its events hold them: sealed like the
person's details, so shown only with them, in the same recorded read (docs/AUDIT.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub import events as ev
from projections.indicators import utc_text

# The event that holds each kind of note, its field, and the path the access log names it by
# (beside ``person.name`` and ``discovery.note``; labelled in hub.labels ``person_field``).
NOTE_FIELDS: dict[type[ev.CaseEvent], tuple[str, str]] = {
    ev.ConsultationReceived: ("note", "consultation.note"),
    ev.AssessmentRecorded: ("summary", "assessment.summary"),
    ev.ReferralMade: ("note", "referral.note"),
    ev.WatchOverArranged: ("note", "watch_over.note"),
    ev.SupportActivityRecorded: ("note", "support_activity.note"),
    ev.CaseEvaluated: ("note", "evaluation.note"),
}


def case_notes(payloads: Iterable[Any]) -> list[dict[str, Any]]:
    """The notes written in ``payloads`` (a case's events, oldest first), in time order: each
    with its path (its kind), when it was written and, for one about an agency (a referral,
    a support activity), the agency."""
    found = []
    for payload in payloads:
        field = NOTE_FIELDS.get(type(payload))
        text = getattr(payload, field[0]) if field else None
        if field is None or not text:
            continue
        found.append(
            {
                "path": field[1],
                "at": utc_text(payload.occurred_at),
                "agency_id": getattr(payload, "agency_id", None),
                "note": text,
            }
        )
    return sorted(found, key=lambda n: n["at"])
