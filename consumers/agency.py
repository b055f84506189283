"""The agency client: follow ``referrals.<agency_id>`` into the local inbox, exactly once.

For each record: decode and validate it, apply it to the inbox in one transaction (keyed by
its event id), or park it on ``deadletter.<agency_id>``; only then commit the offset. A crash
between the inbox commit and the offset commit redelivers records the inbox already holds,
and the event ids make them no-ops. Answers go back on ``replies.<agency_id>``, and so does
an ErasureConfirmation once an erasure notice has cleared the person from the inbox (sent
again if the notice is redelivered: the hub records one per agency and case).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from opentelemetry.trace import SpanKind

from consumers import loop
from consumers.inbox import Inbox
from consumers.ports import Confirmations, DeadLetters, InRecord, Place, Source
from consumers.records import BadRecord, read_referral_record
from consumers.stopping import StopFlag
from hub import codec, plausible, tracing
from hub import vocabulary as v
from hub.domain.case import TRANSITIONS
from hub.errors import (
    BeforeReferralError,
    IllegalTransitionError,
    InvalidCommandError,
    NotFoundError,
)
from hub.fiscal import jst_text
from hub.ids import check_not_nil
from hub.logging import get_logger
from hub.prefixes import echoed, id_prefix, resolve_prefix
from hub.quarantine import OUTAGES, reason_of

log = get_logger("consumers.agency")

ANSWERS = v.REFERRAL_ANSWERS


@dataclass
class RunReport:
    applied: int = 0
    duplicates: int = 0
    parked: int = 0


@dataclass
class RetryReport:
    applied: int = 0
    # Applied before (an interrupted retry, or the live client read it again).
    duplicates: int = 0
    still_parked: list[tuple[str, int, int, str]] = field(default_factory=list)
    expired: list[tuple[str, int, int]] = field(default_factory=list)


# The original records at these places on the topic (those the broker still holds).
Fetch = Callable[[list[Place]], Mapping[Place, InRecord]]


class AgencyConsumer:
    def __init__(
        self,
        agency_id: str,
        source: Source,
        inbox: Inbox,
        deadletters: DeadLetters,
        confirmations: Confirmations | None = None,
    ) -> None:
        self.agency_id = agency_id
        self.source = source
        self.inbox = inbox
        self.deadletters = deadletters
        self.confirmations = confirmations
        self.report = RunReport()
        # Where the inbox parked a record: one read there again (offsets not committed before
        # a crash, the client upgraded since) comes after the records behind it, so is late.
        self._parked = {(t, p, o) for t, p, o, _ in inbox.still_parked()}

    def handle(self, record: InRecord) -> str:
        """Apply or park one record: ``applied``, ``duplicate`` or ``parked``.

        A record carrying a ``traceparent`` header is handled in a consume span, its child."""
        parent = tracing.of_headers(record.headers)
        if parent is None:
            return self._handle(record)
        with tracing.span(
            f"consume {record.topic}",
            parent,
            kind=SpanKind.CONSUMER,
            attributes={"hub.agency": self.agency_id, "hub.offset": record.offset},
        ):
            return self._handle(record)

    def _handle(self, record: InRecord) -> str:
        try:
            entry = read_referral_record(record, self.agency_id)
        except BadRecord as bad:
            self._park(record, bad.reason)
            return "parked"
        traceparent = tracing.current()
        if traceparent is not None:
            entry = replace(entry, traceparent=traceparent)
        try:
            late = (record.topic, record.partition, record.offset) in self._parked
            applied = self.inbox.apply(entry, late=late)
        except OUTAGES:
            raise
        except Exception as error:  # no single record stops the client (invariant 9)
            self._park(record, reason_of(error, "inbox"))
            return "parked"
        if entry.event_type == "PersonErased" and entry.case_id and self.confirmations:
            # Cleared (now or when first delivered): the hub learns it, before the offset.
            self.confirmations.confirm(
                erasure_confirmation(self.agency_id, entry.case_id, entry.event_id)
            )
        if applied:
            self.report.applied += 1
            log.info(
                "inbox.applied",
                agency=self.agency_id,
                event_type=entry.event_type,
                case_id=entry.case_id,
                offset=record.offset,
            )
            return "applied"
        self.report.duplicates += 1
        return "duplicate"

    def _park(self, record: InRecord, reason: str) -> None:
        where = (record.topic, record.partition, record.offset)
        if not self.inbox.is_parked(*where):
            self.deadletters.park(record, reason)
            self.inbox.park(*where, reason, record.digest())
            self._parked.add(where)
            self.report.parked += 1
        log.warning("inbox.parked", agency=self.agency_id, reason=reason, offset=record.offset)

    def run(self, stop: StopFlag, once: bool = False) -> RunReport:
        """Consume until stopped (or, with ``once``, until caught up); commit as it goes:
        each poll's records in one inbox transaction, then their offsets."""
        loop.run(self.source, self.handle, stop, once=once, batch=self.inbox.batch)
        return self.report

    def close(self) -> None:
        self.source.close()
        self.deadletters.close()
        self.inbox.close()


def retry_parked(
    agency_id: str, inbox: Inbox, fetch: Fetch, confirmations: Confirmations | None = None
) -> RetryReport:
    """Applies again the records this inbox parked and has not applied since, in the
    topic's order: after an upgrade the client reads a schema it did not know (an
    erasure notice, a new version of a record). ``fetch`` gives the parked records'
    original bytes by their place on the topic. Each one read now is applied as a late
    record (``Inbox.apply``) and an erasure notice confirmed, as the live client does;
    one still unreadable stays parked (not parked again), one the broker no longer
    holds (or holds another record at its place: the topic was made again) is named so, and
    noted so that it is not retried again."""
    report = RetryReport()
    parked = inbox.still_parked()
    if not parked:
        return report
    found = fetch([(topic, partition, offset) for topic, partition, offset, _ in parked])
    for topic, partition, offset, _ in parked:
        place = (topic, partition, offset)
        record = found.get(place)
        digest = inbox.parked_digest(*place)
        if record is not None and digest is not None and record.digest() != digest:
            # Another record at its place: the topic was made again since, and the one
            # parked went with the old topic.
            log.warning("inbox.parked_replaced", agency=agency_id, offset=offset)
            record = None
        if record is None:
            inbox.mark_expired(*place, datetime.now(UTC).isoformat())
            report.expired.append(place)
            continue
        try:
            entry = read_referral_record(record, agency_id)
            applied = inbox.apply(entry, late=True)
        except OUTAGES:
            raise
        except BadRecord as bad:
            report.still_parked.append((*place, bad.reason))
            continue
        except Exception as error:  # as the live client: no record stops the others
            report.still_parked.append((*place, reason_of(error, "inbox")))
            continue
        if entry.event_type == "PersonErased" and entry.case_id and confirmations:
            confirmations.confirm(erasure_confirmation(agency_id, entry.case_id, entry.event_id))
        inbox.mark_retried(*place, datetime.now(UTC).isoformat())
        report.applied += 1 if applied else 0
        report.duplicates += 0 if applied else 1
        log.info(
            "inbox.retried",
            agency=agency_id,
            event_type=entry.event_type,
            case_id=entry.case_id,
            offset=offset,
            applied=applied,
        )
    return report


def reply_record(
    agency_id: str,
    referral: dict[str, Any],
    answer: str,
    reason: str | None,
    answered_at: datetime | None = None,
    reply_id: UUID | None = None,
    reason_code: str | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """A ReferralReply (schemas/messages/ReferralReply.avsc) to a referral of the inbox."""
    if answer not in ANSWERS:
        raise InvalidCommandError(f"an answer is one of {', '.join(ANSWERS)}, not {answer!r}")
    if answer == "declined" and not (reason and reason.strip()) and not reason_code:
        raise InvalidCommandError("a declined referral needs a reason (--reason-code, --reason)")
    if reason_code is not None and answer != "declined":
        raise InvalidCommandError("--reason-code is the reason of a decline")
    if outcome is not None and answer != "completed":
        raise InvalidCommandError("--outcome belongs to a completion")
    if answered_at is not None:  # a late entry: the hub refuses a time outside its window
        try:
            plausible.instant(answered_at)
        except ValueError as error:
            raise InvalidCommandError(f"answered_at: {error}") from None
    at = answered_at or datetime.now(UTC)
    referred_at = referral.get("referred_at")
    # The hub would refuse it (an answer a clock's lag early counts at the referral's time).
    if referred_at and at < datetime.fromisoformat(referred_at) - plausible.CLOCK_SKEW:
        raise BeforeReferralError(
            f"referral {referral['referral_id']} was made at "
            f"{jst_text(referred_at, seconds=True)}; an answer cannot be dated "
            f"{jst_text(at, seconds=True)}, before it"
        )
    record = {
        "reply_id": str(reply_id or uuid4()),
        "referral_id": referral["referral_id"],
        "case_id": referral["case_id"],
        "agency_id": agency_id,
        "answer": answer,
        "reason": reason.strip() if reason and reason.strip() else None,
        "answered_at": at.isoformat(),
        "reason_code": reason_code,
        "outcome": outcome,
    }
    codec.encode("ReferralReply", record)  # refuse here what the hub could not read
    return record


def erasure_confirmation(
    agency_id: str, case_id: str, erasure_event_id: str, confirmed_at: datetime | None = None
) -> dict[str, Any]:
    """An ErasureConfirmation (schemas/messages/ErasureConfirmation.avsc): its id derives from
    the agency and the notice, so a resent confirmation is the same record."""
    record = {
        "confirmation_id": str(
            uuid5(NAMESPACE_URL, f"/erasure-confirmations/{agency_id}/{erasure_event_id}")
        ),
        "case_id": case_id,
        "agency_id": agency_id,
        "erasure_event_id": erasure_event_id,
        "confirmed_at": (confirmed_at or datetime.now(UTC)).isoformat(),
    }
    codec.encode("ErasureConfirmation", record)
    return record


def expected_status(referral: dict[str, Any]) -> str:
    """The status the referral will have once the hub has applied the answers sent so far."""
    status = str(referral["status"])
    for reply in referral.get("replies_sent", []):
        if reply["answer"] in TRANSITIONS.get(status, ()):
            status = reply["answer"]
    return status


def check_answer(referral: dict[str, Any], answer: str) -> None:
    """Refuse here an answer the hub would refuse as an illegal transition."""
    status = expected_status(referral)
    if answer not in TRANSITIONS.get(status, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(status, ()))) or "nothing more"
        raise IllegalTransitionError(
            f"referral {referral['referral_id']} is {status}; it can become {allowed}, not {answer}"
        )


def find_referral(inbox: Inbox, referral: str) -> dict[str, Any]:
    """A referral of the inbox by its id or an unambiguous prefix of it, as a case is found:
    text that cannot start an id and an ambiguous prefix are invalid input (exit 2, the
    ambiguous one naming each referral it matches), a prefix that matches none not found."""
    if not id_prefix(referral):
        raise InvalidCommandError(f"{echoed(referral)} is not (the start of) a referral id")
    check_not_nil(referral, "referral")
    try:
        found = inbox.referral(resolve_prefix(referral, inbox.referral_ids(), "referral"))
    except NotFoundError:
        found = None
    if found is None:
        raise NotFoundError(f"no referral {referral} in this agency's inbox")
    return found
