"""The hub's reply ingester: agencies' answers on ``replies.*`` become ``AnswerReferral``,
and their erasure confirmations (``ErasureConfirmation``) become ``ErasureConfirmed``.

The answering agency is the one whose topic carried the reply: the broker lets only that
principal write there. A reply whose ``agency_id`` field names another agency is refused,
as is any reply the domain refuses (wrong agency, unknown referral, illegal transition).
Refused replies are never applied: they go to ``deadletter.replies`` with the reason.
The command id derives from the agency and the reply id, so a redelivered reply writes
nothing new; the offset is committed only after the command was saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from consumers import loop
from consumers.ports import DeadLetters, InRecord, Source
from consumers.records import BadRecord, decode, validation_reason
from consumers.stopping import StopFlag
from hub import tracing
from hub.application import HubApplication
from hub.commands import AnswerReferral
from hub.errors import ConcurrentChangeError, DomainError
from hub.identity import Actor, reply_ingester
from hub.logging import get_logger
from hub.quarantine import OUTAGES, reason_of

log = get_logger("consumers.replies")

ATTEMPTS = 3


@dataclass
class ReplyReport:
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0


def reply_command_id(agency_id: str, reply_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/replies/{agency_id}/{reply_id}")


@dataclass(frozen=True)
class Confirmation:
    """An agency's ErasureConfirmation (schemas/messages/ErasureConfirmation.avsc)."""

    case_id: UUID
    agency_id: str
    confirmed_at: datetime


def reply_command(record: InRecord, topic_agency: str | None) -> AnswerReferral | Confirmation:
    """The command a reply asks for, or ``BadRecord`` saying why it is refused."""
    if topic_agency is None:
        raise BadRecord(f"{record.topic} is not an agency's reply topic")
    name, body = decode(record)
    if name == "ErasureConfirmation":
        return confirmation(topic_agency, body)
    if name != "ReferralReply":
        raise BadRecord(f"schema {name} is not a ReferralReply or an ErasureConfirmation")
    return answer_command(topic_agency, body)


def confirmation(agency_id: str, body: dict[str, Any]) -> Confirmation:
    if body.get("agency_id") != agency_id:
        raise BadRecord("agency_id disagrees with the reply topic's agency")
    try:
        confirmed_at = datetime.fromisoformat(str(body["confirmed_at"]))
        case_id = UUID(str(body["case_id"]))
    except ValueError:
        raise BadRecord("confirmed_at or case_id is malformed") from None
    if confirmed_at.tzinfo is None:
        raise BadRecord("confirmed_at has no time zone")
    return Confirmation(case_id, agency_id, confirmed_at)


def answer_command(agency_id: str, body: dict[str, Any]) -> AnswerReferral:
    """The command of a ReferralReply body answered by ``agency_id`` (Kafka or HTTP alike)."""
    if body.get("agency_id") != agency_id:
        raise BadRecord("agency_id disagrees with the reply topic's agency")
    try:
        return AnswerReferral(
            command_id=reply_command_id(agency_id, str(body["reply_id"])),
            occurred_at=datetime.fromisoformat(str(body["answered_at"])),
            case_id=body["case_id"],
            referral_id=body["referral_id"],
            agency_id=agency_id,
            answer=body["answer"],
            reason=body.get("reason"),
            reason_code=body.get("reason_code"),
            outcome=body.get("outcome"),
        )
    except ValidationError as error:
        raise BadRecord(validation_reason("AnswerReferral", error)) from None
    except ValueError:
        raise BadRecord("answered_at is not an ISO date-time with a time zone") from None


def apply_answer(app: HubApplication, command: AnswerReferral, actor: Actor) -> bool:
    """Execute an answer as ``actor``, retrying a concurrent change; whether it wrote."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return not app.execute(command, actor).duplicate
        except ConcurrentChangeError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


class ReplyIngester:
    def __init__(
        self,
        app: HubApplication,
        source: Source,
        deadletters: DeadLetters,
        agency_of_topic: Callable[[str], str | None],
    ) -> None:
        self.app = app
        self.source = source
        self.deadletters = deadletters
        self.agency_of_topic = agency_of_topic
        self.report = ReplyReport()

    def handle(self, record: InRecord) -> str:
        """``applied``, ``duplicate`` or ``rejected``. A reply carrying a ``traceparent``
        header is ingested in a consume span, its child: the answer's command continues it."""
        parent = tracing.of_headers(record.headers)
        if parent is None:
            return self._handle(record)
        with tracing.span(f"consume {record.topic}", parent, kind=SpanKind.CONSUMER):
            return self._handle(record)

    def _handle(self, record: InRecord) -> str:
        try:
            command = reply_command(record, self.agency_of_topic(record.topic))
            outcome = self._execute(command)
        except BadRecord as bad:
            return self._reject(record, bad.reason)
        except DomainError as error:
            return self._reject(record, f"{type(error).__name__}: {error}")
        except Exception as error:  # no single reply stops the ingester (invariant 9)
            if isinstance(error, (ConcurrentChangeError, *OUTAGES)):
                raise
            return self._reject(record, reason_of(error, "ingesting"))
        if outcome and isinstance(command, Confirmation):
            self.report.applied += 1
            log.info("erasure.confirmed", case_id=str(command.case_id), agency=command.agency_id)
            return "applied"
        if outcome and isinstance(command, AnswerReferral):
            self.report.applied += 1
            log.info(
                "reply.applied",
                case_id=str(command.case_id),
                referral_id=str(command.referral_id),
                agency=command.agency_id,
                answer=command.answer,
            )
            return "applied"
        self.report.duplicates += 1
        return "duplicate"

    def _execute(self, command: AnswerReferral | Confirmation) -> bool:
        actor = reply_ingester(command.agency_id)
        if isinstance(command, Confirmation):
            return self._confirm(command, actor)
        return apply_answer(self.app, command, actor)

    def _confirm(self, confirmation: Confirmation, actor: Actor) -> bool:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self.app.confirm_erasure(
                    confirmation.case_id,
                    confirmation.agency_id,
                    confirmation.confirmed_at,
                    actor=actor,
                )
            except ConcurrentChangeError:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _reject(self, record: InRecord, reason: str) -> str:
        self.deadletters.park(record, reason)
        self.report.rejected += 1
        log.warning("reply.rejected", topic=record.topic, offset=record.offset, reason=reason)
        return "rejected"

    def step(self, stop: StopFlag) -> bool:
        """Handle one poll's records and commit them; whether there were any."""
        return loop.step(self.source, self.handle, stop)

    def run(
        self, stop: StopFlag, once: bool = False, tick: Callable[[], object] | None = None
    ) -> ReplyReport:
        """Ingest until stopped (or caught up, with ``once``); ``tick`` runs after each poll."""
        loop.run(self.source, self.handle, stop, once=once, tick=tick)
        return self.report

    def close(self) -> None:
        self.source.close()
        self.deadletters.close()
