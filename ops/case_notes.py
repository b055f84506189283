"""The free-text narratives a case's events hold (the reporter's 補足, 相談内容の要旨, 見立て,
申し送り, the reasons of an answer, a cancellation, a 中断 or a 終結, the outreach visits'
notes, the emergency's reasons, ...): sealed like the person's details, so shown only with
them, in the same recorded read (docs/AUDIT.md). The one source of the page, the API and
the CLI (``hub case show --person``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from hub import events as ev
from hub.application import HubApplication
from hub.identity import Actor
from hub.labels import label, referral_status_text
from hub.sealing import ERASED
from projections.indicators import utc_text

# The fields of each event that hold a narrative, with the path the access log names each by
# (labelled in hub.labels ``person_field``). Every field the events mark
# ``personal("narrative")`` is here (tests/unit/test_case_notes.py); a coded reason beside one
# (a decline's, a cancellation's) is not a narrative: it is said as ``coded``.
NOTE_FIELDS: dict[type[ev.Event], tuple[tuple[str, str], ...]] = {
    ev.DiscoveryReported: (("note", "discovery.note"),),
    ev.ConsultationReceived: (("note", "consultation.note"),),
    ev.AssessmentRecorded: (("summary", "assessment.summary"),),
    ev.ReferralMade: (("note", "referral.note"),),
    ev.ReferralAnswered: (("reason", "referral_answer.reason"),),
    ev.ReferralCancelled: (("reason", "referral_cancellation.reason"),),
    ev.ConsentGiven: (("proxy_relationship", "consent.proxy_relationship"),),
    ev.ConsentRefused: (("reason", "consent_refusal.reason"),),
    ev.UseStopRequested: (("reason", "use_stop.reason"),),
    ev.PlanAgreed: (("issues", "plan.issue"), ("goals", "plan.goal")),
    ev.CaseEvaluated: (("note", "evaluation.note"),),
    ev.CaseSuspended: (("reason", "suspension.reason"),),
    ev.CaseClosed: (("reason", "closure.reason"),),
    ev.OutreachVisitMade: (("note", "outreach_visit.note"),),
    ev.SupportActivityRecorded: (("note", "support_activity.note"),),
    ev.WatchOverArranged: (("note", "watch_over.note"),),
    ev.EmergencyDeclared: (
        ("reason", "emergency.reason"),
        ("sensitive_reason", "emergency.sensitive_reason"),
    ),
    ev.BreakGlassReviewed: (("note", "break_glass_review.note"),),
}

# The coded value a narrative goes with, as its label: 辞退（対象外）, 不在, 改善, ...
CODED: dict[type[ev.Event], Callable[[Any], str]] = {
    ev.ReferralAnswered: lambda p: referral_status_text(
        {
            "status": p.answer,
            "decline_reason": p.reason_code,
            "outcome": p.outcome,
        }
    ),
    ev.ReferralCancelled: lambda p: label("cancel_reason", p.reason_code),
    ev.OutreachVisitMade: lambda p: label("visit_outcome", p.outcome),
    ev.SupportActivityRecorded: lambda p: label("activity_kind", p.kind),
    ev.CaseEvaluated: lambda p: label("evaluation", p.evaluation),
    ev.BreakGlassReviewed: lambda p: label("review_verdict", p.verdict),
}


def texts(value: Any) -> list[str]:
    """The texts a narrative field holds: one, a list of them (a plan's goals), or a plan's
    issues, each said with its area; the field as the event holds it or as its record
    (a dict) carries it; none read as erased (［消去済み］)."""
    if isinstance(value, ev.IssueByArea):
        value = {"area": value.area, "issue": value.issue}
    if isinstance(value, str):
        return [value] if value and value != ERASED else []
    if isinstance(value, dict):
        issue = value.get("issue")
        if not isinstance(issue, str) or not issue or issue == ERASED:
            return []
        return [f"{value.get('area')}：{issue}"]
    if isinstance(value, list):
        return [text for item in value for text in texts(item)]
    return []


def case_notes(payloads: Iterable[Any]) -> list[dict[str, Any]]:
    """The narratives written in ``payloads`` (a case's events and its reports), in time
    order: each with its path (its kind), its label, when it was written, for one about an
    agency (a referral, a visit, a support activity) the agency, and the coded value it goes
    with (``coded``, or None)."""
    found = []
    for payload in payloads:
        coded = CODED.get(type(payload))
        for field, path in NOTE_FIELDS.get(type(payload), ()):
            for text in texts(getattr(payload, field)):
                found.append(
                    {
                        "path": path,
                        "label": label("person_field", path),
                        "written_at": utc_text(payload.occurred_at),
                        "agency_id": getattr(payload, "agency_id", None),
                        "coded": coded(payload) if coded else None,
                        "text": text,
                    }
                )
    return sorted(found, key=lambda n: n["written_at"])


def held_notes(app: HubApplication, case_id: UUID) -> list[dict[str, Any]]:
    """Every narrative the case holds, the notes of the reports it was opened from (or
    joined) too, oldest first; none once the case is erased (its keys are gone)."""
    case = app.get_case(case_id)
    if case.erased:
        return []
    reports = (next(iter(app.events.get(d))).payload for d in case.discovery_ids)  # type: ignore[attr-defined]
    events = (
        app.mapper.to_domain_event(stored).payload  # type: ignore[attr-defined]
        for stored in app.recorder.select_events(case_id)
    )
    return case_notes([*reports, *events])


def read_with_notes(
    app: HubApplication, case_id: UUID, actor: Actor | None, basis: str, purpose: str
) -> tuple[ev.PersonDetails | None, list[dict[str, Any]], bool]:
    """The person's details and the case's narratives, in one recorded read whose record
    names every path shown, and whether it was recorded (details held, or a narrative
    shown); an erased case's read shows no narrative and records nothing."""
    notes = held_notes(app, case_id)
    also = list(dict.fromkeys(n["path"] for n in notes))
    person = app.read_person(case_id, actor, basis, purpose, also=also)
    if notes and app.get_case(case_id).erased:
        # Erased since the notes were read (another process): the person's read recorded
        # nothing, so the notes read before it are not shown unrecorded either.
        notes = []
    return person, notes, app.records_reads(case_id) or bool(notes)
