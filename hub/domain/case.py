"""The case: one person (or household) the network supports, from intake to closing."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from hub import events as ev
from hub import vocabulary as v
from hub.domain.consent import in_force as consent_in_force
from hub.errors import (
    BeforeReferralError,
    CaseClosedError,
    ConsentRequiredError,
    IllegalTransitionError,
    InvalidPeriodError,
    NoConsentToWithdrawError,
    NotErasedError,
    NotFoundError,
    NothingToClearError,
    NotReferredAgencyError,
    NotToldOfCaseError,
    PersonErasedError,
    ReferralNotFoundError,
)
from hub.fiscal import jst_text
from hub.plausible import CLOCK_SKEW

# Legal answers from each referral status (the agency's side of the loop).
TRANSITIONS: dict[str, frozenset[str]] = {
    "sent": frozenset({"received", "accepted", "declined"}),
    "received": frozenset({"accepted", "declined"}),
    "accepted": frozenset({"in_progress", "on_hold", "completed"}),
    "in_progress": frozenset({"on_hold", "completed"}),
    "on_hold": frozenset({"in_progress", "completed"}),
    "declined": frozenset(),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
# A referral has ended in these states; the referrer may cancel any other.
ENDED = frozenset({"declined", "completed", "cancelled"})


@dataclass
class Referral:
    agency_id: str
    purpose: str
    urgency: str
    made_at: datetime
    status: str = "sent"
    answered_at: datetime | None = None
    escalated: bool = False
    statute: str | None = None


@dataclass
class Consent:
    scope: tuple[str, ...]
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    withdrawn: bool = False
    stopped: bool = False  # 利用停止 requested after it was given

    def in_force(self, at: datetime) -> bool:
        return consent_in_force(
            self.valid_from, self.valid_until, self.withdrawn or self.stopped, at
        )


@dataclass
class Emergency:
    agencies: tuple[str, ...]
    data_categories: tuple[str, ...]
    expires_at: datetime
    ended: bool = False
    sensitive_categories: tuple[str, ...] = ()


@dataclass
class Plan:
    plan_id: UUID
    revision: int
    lead_agency: str
    monitoring_date: date


class Case(Aggregate):
    @staticmethod
    def create_id(payload: ev.CaseOpened) -> UUID:
        return payload.case_id

    @classmethod
    def open(
        cls,
        occurred_at: datetime,
        *,
        case_id: UUID,
        ward: str,
        origin: str,
        discovery_id: UUID | None,
        person: ev.PersonDetails | None,
    ) -> Case:
        """Opens a case (``origin``: consultation or discovery) in ``ward``."""
        return cls(
            payload=ev.CaseOpened(
                occurred_at=occurred_at,
                case_id=case_id,
                ward=ward,
                origin=origin,
                discovery_id=discovery_id,
                person=person,
            )
        )

    @event("CaseOpened")
    def __init__(self, payload: ev.CaseOpened) -> None:
        self.ward = payload.ward
        # Held in memory only (rebuilt from the log) so a referral can carry it.
        self.person: ev.PersonDetails | None = ev.plain_details(payload.person)
        self.status = "open"
        self.meeting_kind: str | None = None
        self.discovery_ids: list[UUID] = [payload.discovery_id] if payload.discovery_id else []
        self.referrals: dict[UUID, Referral] = {}
        self.consents: dict[UUID, Consent] = {}
        self.meetings: dict[UUID, tuple[str, ...]] = {}
        # The つながりづくり会議 that hold the case now: a move to the 重層的支援会議 ends them
        # (consent governs from then on), a later take-up holds it again (as governance).
        self.connection_meetings: set[UUID] = set()
        self.emergencies: dict[UUID, Emergency] = {}
        self.use_stop_requests: set[UUID] = set()
        self.erased = False
        self.erasure_confirmed_by: frozenset[str] = frozenset()
        self.plan: Plan | None = None
        self.needs: tuple[v.Need, ...] = ()
        self.lead_agency: str | None = None
        # Ids of consents decided on (given or refused): a consent id is used once.
        self.consent_decisions: set[UUID] = set()
        # Counts, not ids: a case with years of activity stays small to copy and load.
        self.consultations = 0
        self.visits = 0
        self.last_visit_at: datetime | None = None
        self.activities = 0
        self.participation_matches = 0
        self.watchers: tuple[str, ...] = ()

    # Guards -----------------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self.status == "closed":
            raise CaseClosedError(f"case {self.id} is closed")

    def _require_new(self, thing: str, thing_id: UUID, known: Collection[UUID]) -> None:
        if thing_id in known:
            raise IllegalTransitionError(f"{thing} {thing_id} already exists on case {self.id}")

    def _referral(self, referral_id: UUID) -> Referral:
        referral = self.referrals.get(referral_id)
        if referral is None:
            raise ReferralNotFoundError(f"no referral {referral_id} on case {self.id}")
        return referral

    def _require_meeting(self, meeting_id: UUID | None) -> None:
        if meeting_id is not None and meeting_id not in self.meetings:
            raise NotFoundError(f"case {self.id} was not taken up by meeting {meeting_id}")

    def consent_in_force(self, at: datetime) -> UUID | None:
        """The id of a consent in force at ``at`` (the latest given), if any."""
        in_force = [cid for cid, consent in self.consents.items() if consent.in_force(at)]
        return in_force[-1] if in_force else None

    def basis_refs(self, basis: str, at: datetime) -> list[str] | None:
        """What gives ``basis`` (an access basis) at ``at``, named as the disclosure ledger
        names a basis_ref: the consent in force (the latest given), every つながりづくり会議
        that holds the case (until the move to the 重層的支援会議), every emergency
        declaration in force, every statute of a statutory referral not ended; ``[]`` for
        the staff's own duties and the person's own request, which need nothing of the
        case; None when the case does not give the basis."""
        refs: list[str]
        if basis == "consent":
            consent = self.consent_in_force(at)
            refs = [str(consent)] if consent is not None else []
        elif basis == "support_meeting":
            refs = sorted(str(m) for m in self.connection_meetings)
        elif basis == "vital_interest":
            refs = [
                str(did) for did, e in self.emergencies.items() if not e.ended and at < e.expires_at
            ]
        elif basis == "statute":
            refs = list(
                dict.fromkeys(
                    r.statute
                    for r in self.referrals.values()
                    if r.statute and r.status not in ENDED
                )
            )
        else:
            return []
        return refs or None

    # Use-case methods: check the rule, then trigger the event ------------------------------

    def receive_consultation(
        self,
        occurred_at: datetime,
        *,
        consultation_id: UUID,
        window_agency: str,
        needs: Sequence[v.Need],
        note: str | None,
    ) -> None:
        self._require_open()
        self._consultation_received(
            ev.ConsultationReceived(
                occurred_at=occurred_at,
                case_id=self.id,
                consultation_id=consultation_id,
                window_agency=window_agency,
                ward=self.ward,
                needs=list(needs),
                note=note,
            )
        )

    def record_person_details(self, occurred_at: datetime, person: ev.PersonDetails) -> None:
        """Record or correct (訂正) the person's details: allowed on a closed case too (the
        person's right to have them corrected outlives the support), not once erased."""
        if self.erased:
            raise PersonErasedError(
                "the person's details were erased: nothing recorded now would be kept; "
                "a person who comes back is a new case"
            )
        self._person_details_recorded(
            ev.PersonDetailsRecorded(occurred_at=occurred_at, case_id=self.id, person=person)
        )

    def clear_person_details(
        self, occurred_at: datetime, fields: Sequence[v.ClearableField]
    ) -> None:
        """Empty details held wrong (訂正 by deletion); only those the case holds are
        recorded as emptied. Allowed on a closed case too, as a correction is."""
        if self.erased:
            raise NothingToClearError("the person's details were erased: none is held to clear")
        held = [f for f in dict.fromkeys(fields) if getattr(self.person, f, None) is not None]
        if not held:
            raise NothingToClearError(
                f"the case holds no {', '.join(dict.fromkeys(fields))} of the person: "
                "nothing to clear"
            )
        self._person_details_cleared(
            ev.PersonDetailsCleared(occurred_at=occurred_at, case_id=self.id, fields=held)
        )

    def assess(
        self,
        occurred_at: datetime,
        *,
        needs: Sequence[v.Need],
        complexity: v.Complexity,
        summary: str | None,
    ) -> None:
        self._require_open()
        self._assessment_recorded(
            ev.AssessmentRecorded(
                occurred_at=occurred_at,
                case_id=self.id,
                needs=list(needs),
                complexity=complexity,
                summary=summary,
            )
        )

    def refer(
        self,
        occurred_at: datetime,
        *,
        referral_id: UUID,
        agency_id: str,
        purpose: v.Purpose,
        urgency: v.Urgency,
        statute: str | None,
        note: str | None,
    ) -> None:
        self._require_open()
        self._require_new("referral", referral_id, self.referrals)
        self._referral_made(
            ev.ReferralMade(
                occurred_at=occurred_at,
                case_id=self.id,
                referral_id=referral_id,
                agency_id=agency_id,
                purpose=purpose,
                urgency=urgency,
                statute=statute,
                note=note,
                ward=self.ward,
                needs=list(self.needs),
                person=self.person,
            )
        )

    def answer_referral(
        self,
        occurred_at: datetime,
        *,
        referral_id: UUID,
        agency_id: str,
        answer: v.ReferralAnswer,
        reason: str | None,
        reason_code: v.DeclineReason | None,
        outcome: v.Outcome | None,
        recorded_by: str | None = None,
    ) -> None:
        """The agency's answer; ``recorded_by`` names the ward's coordinator post when it
        records, on the agency's behalf, an answer given by phone."""
        referral = self._referral(referral_id)
        if referral.agency_id != agency_id:
            raise NotReferredAgencyError(f"referral {referral_id} was not sent to {agency_id}")
        if answer not in TRANSITIONS[referral.status]:
            allowed = ", ".join(sorted(TRANSITIONS[referral.status])) or "nothing more"
            raise IllegalTransitionError(
                f"referral {referral_id} is {referral.status}; it can become {allowed}, "
                f"not {answer}"
            )
        self._referral_answered(
            ev.ReferralAnswered(
                occurred_at=_not_before(referral, referral_id, occurred_at, "an answer"),
                case_id=self.id,
                referral_id=referral_id,
                agency_id=agency_id,
                answer=answer,
                reason=reason,
                reason_code=reason_code,
                outcome=outcome,
                recorded_by=recorded_by,
            )
        )

    def cancel_referral(
        self, at: datetime, referral_id: UUID, *, reason_code: v.CancelReason, reason: str | None
    ) -> None:
        """The referrer withdraws a referral that has not ended."""
        referral = self._referral(referral_id)
        if referral.status in ENDED:
            raise IllegalTransitionError(
                f"referral {referral_id} is {referral.status}; only a referral that has "
                "not ended can be cancelled"
            )
        self._referral_cancelled(
            ev.ReferralCancelled(
                occurred_at=_not_before(referral, referral_id, at, "a cancellation"),
                case_id=self.id,
                referral_id=referral_id,
                agency_id=referral.agency_id,
                reason_code=reason_code,
                reason=reason,
            )
        )

    def escalate_referral(
        self, at: datetime, referral_id: UUID, *, coordinator: str, overdue_minutes: int
    ) -> None:
        """Escalates a referral nobody answered in time to the ward's ``coordinator``."""
        referral = self._referral(referral_id)
        if referral.status != "sent" or referral.escalated:
            raise IllegalTransitionError(
                f"referral {referral_id} is {referral.status}"
                f"{' and already escalated' if referral.escalated else ''}; nothing to escalate"
            )
        self._referral_escalated(
            ev.ReferralEscalated(
                occurred_at=at,
                case_id=self.id,
                referral_id=referral_id,
                agency_id=referral.agency_id,
                coordinator=coordinator,
                overdue_minutes=overdue_minutes,
            )
        )

    def give_consent(
        self,
        occurred_at: datetime,
        *,
        consent_id: UUID,
        scope: Sequence[str],
        purposes: Sequence[v.Purpose],
        data_categories: Sequence[v.DataCategory],
        valid_from: datetime,
        valid_until: datetime,
        by_proxy: bool,
        proxy_relationship: str | None,
    ) -> None:
        self._require_open()
        self._require_new("consent", consent_id, self.consent_decisions)
        if valid_until <= valid_from:
            raise InvalidPeriodError("valid_until must be after valid_from")
        self._consent_given(
            ev.ConsentGiven(
                occurred_at=occurred_at,
                case_id=self.id,
                consent_id=consent_id,
                scope=list(scope),
                purposes=list(purposes),
                data_categories=list(data_categories),
                valid_from=valid_from,
                valid_until=valid_until,
                by_proxy=by_proxy,
                proxy_relationship=proxy_relationship,
            )
        )

    def refuse_consent(
        self,
        occurred_at: datetime,
        *,
        consent_id: UUID,
        scope: Sequence[str],
        reason: str | None,
    ) -> None:
        self._require_open()
        self._require_new("consent", consent_id, self.consent_decisions)
        self._consent_refused(
            ev.ConsentRefused(
                occurred_at=occurred_at,
                case_id=self.id,
                consent_id=consent_id,
                scope=list(scope),
                reason=reason,
            )
        )

    def withdraw_consent(
        self,
        occurred_at: datetime,
        *,
        consent_id: UUID,
    ) -> None:
        consent = self.consents.get(consent_id)
        if consent is None:
            raise NoConsentToWithdrawError(
                f"case {self.id} has no consent {consent_id} to withdraw"
            )
        if consent.withdrawn:
            raise NoConsentToWithdrawError(f"consent {consent_id} is already withdrawn")
        self._consent_withdrawn(
            ev.ConsentWithdrawn(
                occurred_at=occurred_at,
                case_id=self.id,
                consent_id=consent_id,
            )
        )

    def request_use_stop(
        self,
        occurred_at: datetime,
        *,
        request_id: UUID,
        reason: str | None,
    ) -> None:
        """利用停止: allowed on a closed case too (the person's right outlives the support)."""
        self._require_new("use-stop request", request_id, self.use_stop_requests)
        self._use_stop_requested(
            ev.UseStopRequested(
                occurred_at=occurred_at, case_id=self.id, request_id=request_id, reason=reason
            )
        )

    def erase(self, occurred_at: datetime, *, decided_by: str, reason: str) -> list[str]:
        """Erasure of the person (allowed on a closed case: retention ends after closing);
        the data-key subjects to destroy once the event is recorded."""
        subjects = [str(self.id), *(str(d) for d in self.discovery_ids)]
        if not self.erased:
            self._person_erased(
                ev.PersonErased(
                    occurred_at=occurred_at,
                    case_id=self.id,
                    decided_by=decided_by,
                    reason=reason,
                    subjects=subjects,
                )
            )
        return subjects

    def confirm_erasure(self, occurred_at: datetime, *, agency_id: str, coordinator: str) -> None:
        """An agency cleared the erased person from its inbox; again, nothing is written.
        Only an agency the erasure notice went to confirms (as ``producers.governance``
        sends it): one the case was referred to, a member of a meeting that took it up, one
        an emergency named, and the ward's ``coordinator`` when the case was opened from a
        discovery (it received the discovery's person)."""
        if not self.erased:
            raise NotErasedError(
                f"case {self.id} was not erased: there is no erasure for {agency_id} to confirm"
            )
        told = self.told_agencies() | ({coordinator} if self.discovery_ids else set())
        if agency_id not in told:
            raise NotToldOfCaseError(
                f"case {self.id} was never sent to {agency_id}: it has no erasure to confirm"
            )
        if agency_id not in self.erasure_confirmed_by:
            self._erasure_confirmed(
                ev.ErasureConfirmed(occurred_at=occurred_at, case_id=self.id, agency_id=agency_id)
            )

    def told_agencies(self) -> set[str]:
        """The agencies the case was sent to: referred it, members of a meeting that took it
        up, named by an emergency declaration (as ``projections.erasures``)."""
        told = {r.agency_id for r in self.referrals.values()}
        told.update(member for members in self.meetings.values() for member in members)
        told.update(agency for e in self.emergencies.values() for agency in e.agencies)
        return told

    def take_up_in_meeting(
        self,
        occurred_at: datetime,
        *,
        meeting_id: UUID,
        kind: v.MeetingKind,
        members: Sequence[str],
    ) -> None:
        self._require_open()
        if kind == "support" and self.consent_in_force(occurred_at) is None:
            raise ConsentRequiredError(
                f"case {self.id} has no consent in force: a 重層的支援会議 needs the person's "
                "consent (use a つながりづくり会議 without it)"
            )
        self._taken_up_by_meeting(
            ev.TakenUpByMeeting(
                occurred_at=occurred_at,
                case_id=self.id,
                meeting_id=meeting_id,
                kind=kind,
                members=list(members),
            )
        )

    def move_to_support_meeting(self, at: datetime) -> None:
        """Moves the case to the 重層的支援会議 on the consent in force at ``at``."""
        consent_id = self.consent_in_force(at)
        if consent_id is None:
            raise ConsentRequiredError(
                f"case {self.id} cannot move to the 重層的支援会議 without consent in force"
            )
        self._require_open()
        if self.meeting_kind == "support":
            raise IllegalTransitionError(f"case {self.id} is already in the 重層的支援会議")
        if self.meeting_kind is None:
            raise IllegalTransitionError(
                f"case {self.id} was taken up by no つながりづくり会議: there is nothing to move "
                "from; with the person's consent, hold a 重層的支援会議 on it "
                "(HoldMeeting, kind support)"
            )
        self._moved_to_support_meeting(
            ev.MovedToSupportMeeting(occurred_at=at, case_id=self.id, consent_id=consent_id)
        )

    def decide_support(
        self,
        occurred_at: datetime,
        *,
        meeting_id: UUID,
        lead_agency: str,
    ) -> None:
        self._require_open()
        self._require_meeting(meeting_id)
        self._support_decided(
            ev.SupportDecided(
                occurred_at=occurred_at,
                case_id=self.id,
                meeting_id=meeting_id,
                lead_agency=lead_agency,
            )
        )

    def agree_plan(
        self,
        occurred_at: datetime,
        *,
        plan_id: UUID,
        meeting_id: UUID | None,
        issues: Sequence[ev.IssueByArea],
        goals: Sequence[str] | None,
        lead_agency: str,
        roles: Sequence[ev.AgencyRole],
        period_from: date,
        period_until: date,
        monitoring_date: date,
    ) -> None:
        self._require_open()
        self._require_meeting(meeting_id)
        self._plan_agreed(
            ev.PlanAgreed(
                occurred_at=occurred_at,
                case_id=self.id,
                plan_id=plan_id,
                meeting_id=meeting_id,
                issues=list(issues),
                goals=None if goals is None else list(goals),
                lead_agency=lead_agency,
                roles=list(roles),
                period_from=period_from,
                period_until=period_until,
                monitoring_date=monitoring_date,
                revision=self.next_plan_revision(),
            )
        )

    def next_plan_revision(self) -> int:
        return 1 if self.plan is None else self.plan.revision + 1

    def evaluate(
        self,
        occurred_at: datetime,
        *,
        evaluation: v.Evaluation,
        note: str | None,
    ) -> None:
        self._require_open()
        if self.plan is None:
            raise IllegalTransitionError(f"case {self.id} has no plan to evaluate")
        self._case_evaluated(
            ev.CaseEvaluated(
                occurred_at=occurred_at,
                case_id=self.id,
                evaluation=evaluation,
                note=note,
            )
        )

    def suspend(
        self,
        occurred_at: datetime,
        *,
        reason: str | None,
    ) -> None:
        self._require_open()
        if self.status == "suspended":
            raise IllegalTransitionError(f"case {self.id} is already suspended")
        self._case_suspended(
            ev.CaseSuspended(
                occurred_at=occurred_at,
                case_id=self.id,
                reason=reason,
            )
        )

    def close(
        self,
        occurred_at: datetime,
        *,
        reason: str | None,
    ) -> None:
        self._require_open()
        self._case_closed(
            ev.CaseClosed(
                occurred_at=occurred_at,
                case_id=self.id,
                reason=reason,
            )
        )

    def record_visit(
        self,
        occurred_at: datetime,
        *,
        visit_id: UUID,
        agency_id: str,
        outcome: v.VisitOutcome,
        note: str | None,
    ) -> None:
        self._require_open()
        self._outreach_visit_made(
            ev.OutreachVisitMade(
                occurred_at=occurred_at,
                case_id=self.id,
                visit_id=visit_id,
                agency_id=agency_id,
                outcome=outcome,
                note=note,
            )
        )

    def record_activity(
        self,
        occurred_at: datetime,
        *,
        activity_id: UUID,
        agency_id: str,
        kind: v.ActivityKind,
        note: str | None,
    ) -> None:
        self._require_open()
        self._support_activity_recorded(
            ev.SupportActivityRecorded(
                occurred_at=occurred_at,
                case_id=self.id,
                activity_id=activity_id,
                agency_id=agency_id,
                kind=kind,
                note=note,
            )
        )

    def match_participation(
        self,
        occurred_at: datetime,
        *,
        match_id: UUID,
        place_kind: v.PlaceKind,
        business_id: UUID | None,
        base_id: UUID | None,
    ) -> None:
        self._require_open()
        self._participation_matched(
            ev.ParticipationMatched(
                occurred_at=occurred_at,
                case_id=self.id,
                match_id=match_id,
                place_kind=place_kind,
                business_id=business_id,
                base_id=base_id,
            )
        )

    def arrange_watch_over(
        self,
        occurred_at: datetime,
        *,
        watch_id: UUID,
        watchers: Sequence[str],
        frequency: v.WatchFrequency,
        note: str | None = None,
    ) -> None:
        self._require_open()
        self._watch_over_arranged(
            ev.WatchOverArranged(
                occurred_at=occurred_at,
                case_id=self.id,
                watch_id=watch_id,
                watchers=list(watchers),
                frequency=frequency,
                note=note,
            )
        )

    def declare_emergency(
        self,
        occurred_at: datetime,
        *,
        declaration_id: UUID,
        agencies: Sequence[str],
        data_categories: Sequence[v.DataCategory],
        reason: str | None,
        expires_at: datetime,
        sensitive_categories: Sequence[v.SensitiveCategory] = (),
        sensitive_reason: str | None = None,
    ) -> None:
        self._require_open()
        self._require_new("emergency declaration", declaration_id, self.emergencies)
        self._emergency_declared(
            ev.EmergencyDeclared(
                occurred_at=occurred_at,
                case_id=self.id,
                declaration_id=declaration_id,
                agencies=list(agencies),
                data_categories=list(data_categories),
                reason=reason,
                expires_at=expires_at,
                sensitive_categories=list(sensitive_categories),
                sensitive_reason=sensitive_reason,
            )
        )

    def review_break_glass(
        self,
        occurred_at: datetime,
        *,
        declaration_id: UUID,
        reviewer: v.Reviewer,
        verdict: v.ReviewVerdict,
        note: str | None,
    ) -> None:
        """A reviewer's verdict on a break-glass declaration (a later one supersedes it)."""
        emergency = self.emergencies.get(declaration_id)
        if emergency is None:
            raise NotFoundError(f"case {self.id} has no emergency declaration {declaration_id}")
        if not emergency.sensitive_categories:
            raise IllegalTransitionError(
                f"declaration {declaration_id} released no sensitive data: nothing to review"
            )
        self._break_glass_reviewed(
            ev.BreakGlassReviewed(
                occurred_at=occurred_at,
                case_id=self.id,
                declaration_id=declaration_id,
                reviewer=reviewer,
                verdict=verdict,
                note=note,
            )
        )

    def end_emergency(
        self,
        occurred_at: datetime,
        *,
        declaration_id: UUID,
    ) -> None:
        emergency = self.emergencies.get(declaration_id)
        if emergency is None or emergency.ended:
            raise NotFoundError(f"case {self.id} has no emergency {declaration_id} in force")
        self._emergency_ended(
            ev.EmergencyEnded(
                occurred_at=occurred_at,
                case_id=self.id,
                declaration_id=declaration_id,
            )
        )

    # Events: bodies only change state ---------------------------------------------------------

    @event("ConsultationReceived")
    def _consultation_received(self, payload: ev.ConsultationReceived) -> None:
        self.consultations += 1
        self.needs = tuple(dict.fromkeys(self.needs + tuple(payload.needs)))

    @event("PersonErased")
    def _person_erased(self, payload: ev.PersonErased) -> None:
        self.erased = True
        self.person = None

    @event("ErasureConfirmed")
    def _erasure_confirmed(self, payload: ev.ErasureConfirmed) -> None:
        self.erasure_confirmed_by = self.erasure_confirmed_by | {payload.agency_id}

    @event("PersonDetailsRecorded")
    def _person_details_recorded(self, payload: ev.PersonDetailsRecorded) -> None:
        person = ev.plain_details(payload.person)
        if person is not None:  # details that state no field change nothing
            self.person = self.person.merged_with(person) if self.person else person

    @event("PersonDetailsCleared")
    def _person_details_cleared(self, payload: ev.PersonDetailsCleared) -> None:
        if self.person is not None:
            emptied = self.person.model_copy(update=dict.fromkeys(payload.fields))
            self.person = ev.plain_details(emptied)

    @event("AssessmentRecorded")
    def _assessment_recorded(self, payload: ev.AssessmentRecorded) -> None:
        self.needs = tuple(payload.needs)

    @event("ReferralMade")
    def _referral_made(self, payload: ev.ReferralMade) -> None:
        self.referrals[payload.referral_id] = Referral(
            payload.agency_id,
            payload.purpose,
            payload.urgency,
            payload.occurred_at,
            statute=payload.statute,
        )

    @event("ReferralAnswered")
    def _referral_answered(self, payload: ev.ReferralAnswered) -> None:
        referral = self.referrals[payload.referral_id]
        referral.status = payload.answer
        referral.answered_at = referral.answered_at or payload.occurred_at

    @event("ReferralCancelled")
    def _referral_cancelled(self, payload: ev.ReferralCancelled) -> None:
        self.referrals[payload.referral_id].status = "cancelled"

    @event("ReferralEscalated")
    def _referral_escalated(self, payload: ev.ReferralEscalated) -> None:
        self.referrals[payload.referral_id].escalated = True

    @event("ConsentGiven")
    def _consent_given(self, payload: ev.ConsentGiven) -> None:
        self.consent_decisions.add(payload.consent_id)
        self.consents[payload.consent_id] = Consent(
            tuple(payload.scope),
            tuple(payload.purposes),
            tuple(payload.data_categories),
            payload.valid_from,
            payload.valid_until,
        )

    @event("ConsentRefused")
    def _consent_refused(self, payload: ev.ConsentRefused) -> None:
        self.consent_decisions.add(payload.consent_id)

    @event("ConsentWithdrawn")
    def _consent_withdrawn(self, payload: ev.ConsentWithdrawn) -> None:
        self.consents[payload.consent_id].withdrawn = True

    @event("UseStopRequested")
    def _use_stop_requested(self, payload: ev.UseStopRequested) -> None:
        self.use_stop_requests.add(payload.request_id)
        for consent in self.consents.values():
            consent.stopped = True

    @event("TakenUpByMeeting")
    def _taken_up_by_meeting(self, payload: ev.TakenUpByMeeting) -> None:
        self.meetings[payload.meeting_id] = tuple(payload.members)
        if payload.kind == "connection":
            self.connection_meetings.add(payload.meeting_id)
        if self.meeting_kind != "support":
            self.meeting_kind = payload.kind

    @event("MovedToSupportMeeting")
    def _moved_to_support_meeting(self, payload: ev.MovedToSupportMeeting) -> None:
        self.meeting_kind = "support"
        self.connection_meetings.clear()

    @event("SupportDecided")
    def _support_decided(self, payload: ev.SupportDecided) -> None:
        self.status = "in_support"
        self.lead_agency = payload.lead_agency

    @event("PlanAgreed")
    def _plan_agreed(self, payload: ev.PlanAgreed) -> None:
        self.plan = Plan(
            payload.plan_id, payload.revision, payload.lead_agency, payload.monitoring_date
        )
        self.lead_agency = payload.lead_agency
        self.status = "in_support"

    @event("CaseEvaluated")
    def _case_evaluated(self, payload: ev.CaseEvaluated) -> None:
        pass

    @event("CaseSuspended")
    def _case_suspended(self, payload: ev.CaseSuspended) -> None:
        self.status = "suspended"

    @event("CaseClosed")
    def _case_closed(self, payload: ev.CaseClosed) -> None:
        self.status = "closed"

    @event("OutreachVisitMade")
    def _outreach_visit_made(self, payload: ev.OutreachVisitMade) -> None:
        self.visits += 1
        self.last_visit_at = payload.occurred_at

    @event("SupportActivityRecorded")
    def _support_activity_recorded(self, payload: ev.SupportActivityRecorded) -> None:
        self.activities += 1

    @event("ParticipationMatched")
    def _participation_matched(self, payload: ev.ParticipationMatched) -> None:
        self.participation_matches += 1

    @event("WatchOverArranged")
    def _watch_over_arranged(self, payload: ev.WatchOverArranged) -> None:
        self.watchers = tuple(dict.fromkeys(self.watchers + tuple(payload.watchers)))

    @event("EmergencyDeclared")
    def _emergency_declared(self, payload: ev.EmergencyDeclared) -> None:
        self.emergencies[payload.declaration_id] = Emergency(
            tuple(payload.agencies),
            tuple(payload.data_categories),
            payload.expires_at,
            sensitive_categories=tuple(payload.sensitive_categories),
        )

    @event("BreakGlassReviewed")
    def _break_glass_reviewed(self, payload: ev.BreakGlassReviewed) -> None:
        pass  # the verdicts live in the log and the audit's review list, not in the case

    @event("EmergencyEnded")
    def _emergency_ended(self, payload: ev.EmergencyEnded) -> None:
        self.emergencies[payload.declaration_id].ended = True


def _not_before(referral: Referral, referral_id: UUID, at: datetime, what: str) -> datetime:
    """``at``, or the referral's own time for one a clock's lag (``CLOCK_SKEW``) before it;
    earlier is refused: it would count as a response below zero."""
    if at < referral.made_at - CLOCK_SKEW:
        raise BeforeReferralError(
            f"referral {referral_id} was made at {jst_text(referral.made_at, seconds=True)}; "
            f"{what} cannot be dated {jst_text(at, seconds=True)}, before it"
        )
    return max(at, referral.made_at)
