"""Acknowledgement timers: a referral nobody has answered in time goes to the coordinator.

``OpenReferrals`` follows the hub's notification log (only referral and closing events) and
keeps the referrals still ``sent``; ``escalate_overdue`` executes ``EscalateReferral`` for
each one past its deadline (shorter for ``life_at_risk``; for the urgencies so configured,
counted on the days the city office is open: ``ConsumerSettings.ack_deadline``). The command
id derives from the referral id, so two timers, or a timer run again after a crash, escalate
a referral once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.utils import get_topic

from hub.application import HubApplication, Outcome
from hub.commands import EscalateReferral
from hub.domain.case import Case
from hub.errors import ConcurrentChangeError, DomainError
from hub.identity import timer
from hub.logging import get_logger
from hub.plausible import MAX_OVERDUE_MINUTES
from hub.quarantine import OUTAGES, reason_of, screen, stop_on_keys

log = get_logger("consumers.escalation")

ESCALATION_TIMER = timer("escalation")
# When a referral of an urgency, made at an instant, is overdue unanswered.
Deadline = Callable[[str, datetime], datetime]

PAGE = 500
# The aggregate's event classes are made by the @event decorator, unseen by mypy.
_MADE = get_topic(getattr(Case, "ReferralMade"))  # noqa: B009
_ANSWERED = get_topic(getattr(Case, "ReferralAnswered"))  # noqa: B009
_ESCALATED = get_topic(getattr(Case, "ReferralEscalated"))  # noqa: B009
_CANCELLED = get_topic(getattr(Case, "ReferralCancelled"))  # noqa: B009
_CLOSED = get_topic(getattr(Case, "CaseClosed"))  # noqa: B009
TOPICS = (_MADE, _ANSWERED, _ESCALATED, _CANCELLED, _CLOSED)


@dataclass(frozen=True)
class OpenReferral:
    case_id: UUID
    referral_id: UUID
    agency_id: str
    urgency: str
    made_at: datetime


class OpenReferrals:
    """Referrals waiting for a first answer, as of the last notification read."""

    def __init__(self) -> None:
        self.position = 0
        self.open: dict[UUID, OpenReferral] = {}

    def catch_up(self, app: HubApplication) -> None:
        while True:
            notifications = app.recorder.select_notifications(
                start=self.position, limit=PAGE, topics=TOPICS, inclusive_of_start=False
            )
            for notification in notifications:
                try:
                    event = app.mapper.to_domain_event(notification)
                except Exception as error:  # an event no model reads: pass over it
                    stop_on_keys(error)
                    log.warning(
                        "escalation.unreadable",
                        position=notification.id,
                        reason=reason_of(error, "decoding"),
                    )
                    continue
                self._apply(notification.topic, event)
            if notifications:
                self.position = notifications[-1].id
            if len(notifications) < PAGE:
                return

    def _apply(self, topic: str, event: object) -> None:
        payload = getattr(event, "payload", None)
        if payload is None:
            return
        if topic == _MADE:
            if screen(payload):  # an implausible instant gives no deadline (hub/quarantine.py)
                return
            self.open[payload.referral_id] = OpenReferral(
                payload.case_id,
                payload.referral_id,
                payload.agency_id,
                payload.urgency,
                payload.occurred_at,
            )
        elif topic in (_ANSWERED, _ESCALATED, _CANCELLED):  # no deadline runs any more
            self.open.pop(payload.referral_id, None)
        elif topic == _CLOSED:
            for referral_id in [r for r, o in self.open.items() if o.case_id == payload.case_id]:
                del self.open[referral_id]


def escalation_command_id(referral_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"/escalations/{referral_id}")


@dataclass(frozen=True)
class Escalation:
    """A referral's escalation: its id, and the command's outcome (a duplicate when it was
    escalated before)."""

    referral_id: UUID
    outcome: Outcome


def escalate_overdue(
    app: HubApplication,
    now: datetime,
    deadline_of: Deadline,
    referrals: OpenReferrals | None = None,
) -> list[Escalation]:
    """Escalate every referral unanswered past its deadline at ``now``; each one's outcome."""
    referrals = referrals or OpenReferrals()
    referrals.catch_up(app)
    outcomes = []
    for referral in sorted(referrals.open.values(), key=lambda r: (r.made_at, r.referral_id)):
        deadline = deadline_of(referral.urgency, referral.made_at)
        if now < deadline:
            continue
        command = EscalateReferral(
            command_id=escalation_command_id(referral.referral_id),
            occurred_at=now,
            case_id=referral.case_id,
            referral_id=referral.referral_id,
            # A referral overdue by more than the domain's bound (ten years) says so.
            overdue_minutes=min(int((now - deadline).total_seconds() // 60), MAX_OVERDUE_MINUTES),
        )
        try:
            outcome = app.execute(command, ESCALATION_TIMER)
        except (DomainError, ConcurrentChangeError) as error:
            # Answered or closed meanwhile: the next catch-up sees why; try again then.
            log.info("escalation.skipped", referral_id=str(referral.referral_id), reason=str(error))
            continue
        except Exception as error:  # e.g. a case holding an event no model reads
            if isinstance(error, OUTAGES):
                raise
            log.warning(
                "escalation.failed",
                referral_id=str(referral.referral_id),
                reason=reason_of(error, "escalating"),
            )
            referrals.open.pop(referral.referral_id, None)
            continue
        referrals.open.pop(referral.referral_id, None)
        outcomes.append(Escalation(referral.referral_id, outcome))
        if not outcome.duplicate:
            log.warning(
                "referral.escalated",
                case_id=str(referral.case_id),
                referral_id=str(referral.referral_id),
                agency=referral.agency_id,
                urgency=referral.urgency,
            )
    return outcomes


class EscalationTimer:
    """The acknowledgement timers of one process: the open referrals kept between scans."""

    def __init__(self, app: HubApplication, deadline_of: Deadline) -> None:
        self.app = app
        self.deadline_of = deadline_of
        self.referrals = OpenReferrals()

    def tick(self, now: datetime) -> list[Escalation]:
        """Escalate what is overdue at ``now``; the escalations (duplicates included)."""
        return escalate_overdue(self.app, now, self.deadline_of, self.referrals)
