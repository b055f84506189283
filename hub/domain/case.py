"""The case: one person (or household) the network supports, from intake to closing."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from hub import events as ev
from hub import vocabulary as v
from hub.errors import (
    CaseClosedError,
    ConsentRequiredError,
    IllegalTransitionError,
    InvalidPeriodError,
    NoConsentToWithdrawError,
    NotFoundError,
    NotReferredAgencyError,
    ReferralNotFoundError,
)

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


@dataclass
class Consent:
    scope: tuple[str, ...]
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    withdrawn: bool = False

    def in_force(self, at: datetime) -> bool:
        return not self.withdrawn and self.valid_from <= at < self.valid_until


@dataclass
class Emergency:
    agencies: tuple[str, ...]
    data_categories: tuple[str, ...]
    expires_at: datetime
    ended: bool = False


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

    @event("CaseOpened")
    def __init__(self, payload: ev.CaseOpened) -> None:
        self.ward = payload.ward
        # Held in memory only (rebuilt from the log) so a referral can carry it.
        self.person: ev.PersonDetails | None = _plain(payload.person)
        self.status = "open"
        self.meeting_kind: str | None = None
        self.discovery_ids: list[UUID] = [payload.discovery_id] if payload.discovery_id else []
        self.referrals: dict[UUID, Referral] = {}
        self.consents: dict[UUID, Consent] = {}
        self.meetings: dict[UUID, tuple[str, ...]] = {}
        self.emergencies: dict[UUID, Emergency] = {}
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

    def consent_in_force(self, at: datetime) -> UUID | None:
        """The id of a consent in force at ``at`` (the latest given), if any."""
        in_force = [cid for cid, consent in self.consents.items() if consent.in_force(at)]
        return in_force[-1] if in_force else None

    # Use-case methods: check the rule, then trigger the event ------------------------------

    def receive_consultation(self, payload: ev.ConsultationReceived) -> None:
        self._require_open()
        self._consultation_received(payload)

    def record_person_details(self, payload: ev.PersonDetailsRecorded) -> None:
        self._require_open()
        self._person_details_recorded(payload)

    def assess(self, payload: ev.AssessmentRecorded) -> None:
        self._require_open()
        self._assessment_recorded(payload)

    def refer(self, payload: ev.ReferralMade) -> None:
        self._require_open()
        self._require_new("referral", payload.referral_id, self.referrals)
        self._referral_made(payload)

    def answer_referral(self, payload: ev.ReferralAnswered) -> None:
        referral = self.referrals.get(payload.referral_id)
        if referral is None:
            raise ReferralNotFoundError(f"no referral {payload.referral_id} on case {self.id}")
        if referral.agency_id != payload.agency_id:
            raise NotReferredAgencyError(
                f"referral {payload.referral_id} was sent to {referral.agency_id}, "
                f"not {payload.agency_id}"
            )
        if payload.answer not in TRANSITIONS[referral.status]:
            raise IllegalTransitionError(
                f"referral {payload.referral_id} is {referral.status}; "
                f"it cannot become {payload.answer}"
            )
        self._referral_answered(payload)

    def cancel_referral(
        self, at: datetime, referral_id: UUID, *, reason_code: v.CancelReason, reason: str | None
    ) -> None:
        """The referrer withdraws a referral that has not ended."""
        referral = self.referrals.get(referral_id)
        if referral is None:
            raise ReferralNotFoundError(f"no referral {referral_id} on case {self.id}")
        if referral.status in ENDED:
            raise IllegalTransitionError(
                f"referral {referral_id} is {referral.status}; only a referral that has "
                "not ended can be cancelled"
            )
        self._referral_cancelled(
            ev.ReferralCancelled(
                occurred_at=at,
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
        referral = self.referrals.get(referral_id)
        if referral is None:
            raise ReferralNotFoundError(f"no referral {referral_id} on case {self.id}")
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

    def give_consent(self, payload: ev.ConsentGiven) -> None:
        self._require_open()
        self._require_new("consent", payload.consent_id, self.consent_decisions)
        if payload.valid_until <= payload.valid_from:
            raise InvalidPeriodError("valid_until must be after valid_from")
        self._consent_given(payload)

    def refuse_consent(self, payload: ev.ConsentRefused) -> None:
        self._require_open()
        self._require_new("consent", payload.consent_id, self.consent_decisions)
        self._consent_refused(payload)

    def withdraw_consent(self, payload: ev.ConsentWithdrawn) -> None:
        consent = self.consents.get(payload.consent_id)
        if consent is None:
            raise NoConsentToWithdrawError(
                f"case {self.id} has no consent {payload.consent_id} to withdraw"
            )
        if consent.withdrawn:
            raise NoConsentToWithdrawError(f"consent {payload.consent_id} is already withdrawn")
        self._consent_withdrawn(payload)

    def take_up_in_meeting(self, payload: ev.TakenUpByMeeting) -> None:
        self._require_open()
        if payload.kind == "support" and self.consent_in_force(payload.occurred_at) is None:
            raise ConsentRequiredError(
                f"case {self.id} has no consent in force: a 重層的支援会議 needs the person's "
                "consent (use a つながりづくり会議 without it)"
            )
        self._taken_up_by_meeting(payload)

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
        self._moved_to_support_meeting(
            ev.MovedToSupportMeeting(occurred_at=at, case_id=self.id, consent_id=consent_id)
        )

    def decide_support(self, payload: ev.SupportDecided) -> None:
        self._require_open()
        if payload.meeting_id not in self.meetings:
            raise NotFoundError(f"case {self.id} was not taken up by meeting {payload.meeting_id}")
        self._support_decided(payload)

    def agree_plan(self, payload: ev.PlanAgreed) -> None:
        self._require_open()
        if payload.meeting_id is not None and payload.meeting_id not in self.meetings:
            raise NotFoundError(f"case {self.id} was not taken up by meeting {payload.meeting_id}")
        self._plan_agreed(payload)

    def next_plan_revision(self) -> int:
        return 1 if self.plan is None else self.plan.revision + 1

    def evaluate(self, payload: ev.CaseEvaluated) -> None:
        self._require_open()
        if self.plan is None:
            raise IllegalTransitionError(f"case {self.id} has no plan to evaluate")
        self._case_evaluated(payload)

    def suspend(self, payload: ev.CaseSuspended) -> None:
        self._require_open()
        if self.status == "suspended":
            raise IllegalTransitionError(f"case {self.id} is already suspended")
        self._case_suspended(payload)

    def close(self, payload: ev.CaseClosed) -> None:
        self._require_open()
        self._case_closed(payload)

    def record_visit(self, payload: ev.OutreachVisitMade) -> None:
        self._require_open()
        self._outreach_visit_made(payload)

    def record_activity(self, payload: ev.SupportActivityRecorded) -> None:
        self._require_open()
        self._support_activity_recorded(payload)

    def match_participation(self, payload: ev.ParticipationMatched) -> None:
        self._require_open()
        self._participation_matched(payload)

    def arrange_watch_over(self, payload: ev.WatchOverArranged) -> None:
        self._require_open()
        self._watch_over_arranged(payload)

    def declare_emergency(self, payload: ev.EmergencyDeclared) -> None:
        self._require_open()
        self._require_new("emergency declaration", payload.declaration_id, self.emergencies)
        self._emergency_declared(payload)

    def end_emergency(self, payload: ev.EmergencyEnded) -> None:
        emergency = self.emergencies.get(payload.declaration_id)
        if emergency is None or emergency.ended:
            raise NotFoundError(
                f"case {self.id} has no emergency {payload.declaration_id} in force"
            )
        self._emergency_ended(payload)

    # Events: bodies only change state ---------------------------------------------------------

    @event("ConsultationReceived")
    def _consultation_received(self, payload: ev.ConsultationReceived) -> None:
        self.consultations += 1
        self.needs = tuple(dict.fromkeys(self.needs + tuple(payload.needs)))

    @event("PersonDetailsRecorded")
    def _person_details_recorded(self, payload: ev.PersonDetailsRecorded) -> None:
        person = _plain(payload.person)
        self.person = self.person.merged_with(person) if self.person and person else person

    @event("AssessmentRecorded")
    def _assessment_recorded(self, payload: ev.AssessmentRecorded) -> None:
        self.needs = tuple(payload.needs)

    @event("ReferralMade")
    def _referral_made(self, payload: ev.ReferralMade) -> None:
        self.referrals[payload.referral_id] = Referral(
            payload.agency_id, payload.purpose, payload.urgency, payload.occurred_at
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

    @event("TakenUpByMeeting")
    def _taken_up_by_meeting(self, payload: ev.TakenUpByMeeting) -> None:
        self.meetings[payload.meeting_id] = tuple(payload.members)
        if self.meeting_kind != "support":
            self.meeting_kind = payload.kind

    @event("MovedToSupportMeeting")
    def _moved_to_support_meeting(self, payload: ev.MovedToSupportMeeting) -> None:
        self.meeting_kind = "support"

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
            tuple(payload.agencies), tuple(payload.data_categories), payload.expires_at
        )

    @event("EmergencyEnded")
    def _emergency_ended(self, payload: ev.EmergencyEnded) -> None:
        self.emergencies[payload.declaration_id].ended = True


def _plain(person: ev.PersonDetails | None) -> ev.PersonDetails | None:
    """The details as the event's own type (commands hand in a stricter subclass)."""
    return None if person is None else ev.PersonDetails.model_validate(person.model_dump())
