"""The hub's reply ingester: agencies' answers on ``replies.*`` become ``AnswerReferral``,
and their erasure confirmations (``ErasureConfirmation``) become ``ErasureConfirmed``.

The answering agency is the one whose topic carried the reply: the broker lets only that
principal write there. A reply whose ``agency_id`` field names another agency is refused,
as is any reply the domain refuses (wrong agency, unknown referral, illegal transition).
Refused replies are never applied: they go to ``deadletter.replies`` with the reason.
The command id derives from the agency and the reply id, so a redelivered reply writes
nothing new; the offset is committed only after the command was saved.

The answers of one poll are written together (``HubApplication.execute_many``: one
transaction per group), each still all-or-nothing, idempotent and as its own agency: a
refused answer goes to the dead letters and the others of the poll are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from consumers import loop
from consumers.ports import DeadLetters, InRecord, Source
from consumers.records import BadRecord, decode, validation_reason
from consumers.stopping import StopFlag
from hub import codec, confluent_wire, plausible, tracing
from hub.application import HubApplication, Outcome
from hub.commands import AnswerReferral
from hub.errors import ConcurrentChangeError, DomainError, named
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
    name, body = _decode_reply(record)
    if name == "ErasureConfirmation":
        return confirmation(topic_agency, body)
    if name != "ReferralReply":
        raise BadRecord(f"schema {name} is not a ReferralReply or an ErasureConfirmation")
    return answer_command(topic_agency, body)


def _decode_reply(record: InRecord) -> tuple[str, dict[str, Any]]:
    """A reply in single-object encoding, or in the Confluent wire format a registry-aware
    producer writes (confluent-kafka's AvroSerializer with the exported bundle's ids): the
    same Avro body behind another header (docs/STREAMS.md)."""
    value = record.value
    if not value or value[:1] != confluent_wire.MAGIC:
        return decode(record)
    try:
        return confluent_wire.decode(value)
    except codec.UnknownSchemaError:
        raise BadRecord("unknown schema id") from None
    except codec.CodecError as error:
        raise BadRecord(f"undecodable: {error}") from None


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
    try:  # it becomes ErasureConfirmed's occurred_at: the edge's rules, as for an answer
        plausible.instant(confirmed_at)
    except ValueError as error:
        raise BadRecord(f"confirmed_at: {error}") from None
    return Confirmation(case_id, agency_id, confirmed_at)


# The command's fields that a ReferralReply names otherwise: a refusal names the field the
# agency wrote (its record has no occurred_at to correct).
REPLY_FIELDS = {"occurred_at": "answered_at"}


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
        reason = validation_reason(
            "AnswerReferral", error, REPLY_FIELDS, AnswerReferral.model_fields
        )
        raise BadRecord(reason) from None
    except ValueError:
        raise BadRecord("answered_at is not an ISO date-time with a time zone") from None


def apply_answer(
    app: HubApplication, command: AnswerReferral, actor: Actor, attempts: int = ATTEMPTS
) -> bool:
    """Execute an answer as ``actor``, retrying a concurrent change; whether it wrote."""
    for attempt in range(1, attempts + 1):
        try:
            return not app.execute(command, actor).duplicate
        except ConcurrentChangeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


@dataclass
class _Answers:
    """The poll in hand: its answers wait to be written in one group, and its refused
    records wait with them so that the dead letters keep the records' order."""

    records: list[InRecord] = field(default_factory=list)
    commands: list[AnswerReferral | BadRecord] = field(default_factory=list)
    traceparents: list[str | None] = field(default_factory=list)


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
        self._answers: _Answers | None = None  # within ``step``: answers wait for ``flush``

    def handle(self, record: InRecord) -> str:
        """``applied``, ``duplicate`` or ``rejected``; within ``step``, an answer that
        decodes is ``queued`` for the poll's group (``flush``). A reply carrying a
        ``traceparent`` header is ingested in a consume span, its child: the answer's
        command continues it."""
        parent = tracing.of_headers(record.headers)
        if parent is None:
            return self._handle(record)
        with tracing.span(f"consume {record.topic}", parent, kind=SpanKind.CONSUMER):
            return self._handle(record)

    def _handle(self, record: InRecord) -> str:
        try:
            command = reply_command(record, self.agency_of_topic(record.topic))
        except BadRecord as bad:
            if self._answers is None:
                return self._reject(record, bad.reason)
            return self._queue(record, bad)  # parked in its turn, after the answers before it
        if self._answers is not None:
            if isinstance(command, AnswerReferral):
                return self._queue(record, command)
            self.flush()  # the answers before a confirmation are written before it
        try:
            outcome = self._execute(command)
        except Exception as error:
            return self._refused(record, error)
        return self._done(record, command, outcome)

    def _queue(self, record: InRecord, command: AnswerReferral | BadRecord) -> str:
        assert self._answers is not None
        self._answers.records.append(record)
        self._answers.commands.append(command)
        self._answers.traceparents.append(tracing.current())
        return "queued"

    def _refused(self, record: InRecord, error: Exception) -> str:
        if isinstance(error, DomainError):
            return self._reject(record, named(error))
        if isinstance(error, (ConcurrentChangeError, *OUTAGES)):
            raise error
        # no single reply stops the ingester (invariant 9)
        return self._reject(record, reason_of(error, "ingesting"))

    def flush(self) -> None:
        """Writes the queued answers in one group (``execute_many``); each one's outcome
        (applied, duplicate, or refused to the dead letters) as if handled alone."""
        queued = self._answers
        if queued is None or not queued.commands:
            return
        self._answers = _Answers()
        answers = [
            (command, reply_ingester(command.agency_id), traceparent)
            for command, traceparent in zip(queued.commands, queued.traceparents, strict=True)
            if isinstance(command, AnswerReferral)
        ]
        results = iter(
            self.app.execute_many(
                [(command, actor) for command, actor, _ in answers],
                traceparents=[traceparent for _, _, traceparent in answers],
            )
        )
        written = iter(answers)
        for record, command in zip(queued.records, queued.commands, strict=True):
            if isinstance(command, BadRecord):
                self._reject(record, command.reason)
                continue
            _, actor, traceparent = next(written)
            result = next(results)
            if isinstance(result, ConcurrentChangeError):  # retried alone once already
                with tracing.continued(traceparent):
                    try:
                        wrote = apply_answer(self.app, command, actor, ATTEMPTS - 1)
                    except Exception as error:
                        self._refused(record, error)
                    else:
                        self._done(record, command, wrote)
                continue
            if isinstance(result, Outcome):
                self._done(record, command, not result.duplicate)
            else:
                self._refused(record, result)

    def _done(self, record: InRecord, command: AnswerReferral | Confirmation, outcome: bool) -> str:
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

    @contextmanager
    def _poll(self) -> Iterator[None]:
        """A poll's records: their answers queue, and are written in one group when all are
        handled (before the offsets are committed); nothing queued outlives the poll."""
        self._answers = _Answers()
        try:
            yield
            self.flush()
        finally:
            self._answers = None

    def step(self, stop: StopFlag) -> bool:
        """Handle one poll's records (its answers in one group) and commit them; whether
        there were any."""
        return loop.step(self.source, self.handle, stop, self._poll)

    def run(
        self, stop: StopFlag, once: bool = False, tick: Callable[[], object] | None = None
    ) -> ReplyReport:
        """Ingest until stopped (or caught up, with ``once``); ``tick`` runs after each poll."""
        loop.run(self.source, self.handle, stop, once=once, tick=tick, batch=self._poll)
        return self.report

    def close(self) -> None:
        self.source.close()
        self.deadletters.close()
