"""The relay: follows the log of record and publishes the governed streams.

For each batch of the notification log: fold governance; publish the chain's head at the
batch's end on audit.consent and flush (producers/witness.py); then publish each agency's
record, the audit records and the de-identified analytics record with the idempotent
producer, flush, and only then store the position and the disclosure ledger rows in one
transaction. A crash before that store sends the batch again (consumers apply each event id
once); nothing is lost. The governance state's changes are stored in that same transaction
(producers/snapshot.py): with every batch once the relay has caught up with the log; while
it catches up, every ``STATE_EVERY`` events, with any batch that erased a person, and when it
is stopped. On start the relay reads the state as of the position it was stored with, folds
the events between that and its own position without publishing, and loads each case when
an event needs it. When the stored state is missing, written by other code or not what the
relay wrote, the state is rebuilt by folding the log from its start up to the stored
position without publishing, and stored whole with a later batch. Each time the state is
stored, the relay keeps at most ``CACHED_CASES`` cases in memory (those its batches asked for
least recently are forgotten and read again from their rows, those of a batch's case events
in one query at its start; up to twice as many are held between two stores), so its memory
does not grow with the number of people in the log.

An event the relay cannot publish (it fails ``hub.quarantine.screen``, cannot be decoded, or
governance or Avro cannot take it) is quarantined: nothing of it is published anywhere (no
notice either: it might be anything), the events before it in the batch are published, and
its row goes into ``relay_quarantine`` in the same transaction as the position that passes
it. If it would have changed governance, its case is held: every later record of the case
is a de-identified notice (fail safe). The stream goes on with the next event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from kafka.errors import KafkaError
from opentelemetry.trace import SpanKind

from hub import codec, kafka_clients, topics, tracing
from hub.application import HubApplication
from hub.domain.case import Case
from hub.errors import ServiceUnavailableError
from hub.log_waits import log_wait
from hub.logging import get_logger
from hub.quarantine import reason_of, screen, stop_on_keys
from hub.rdkafka import RdProducer
from hub.settings import Settings
from hub.stored import decode_quickly
from producers import snapshot, witness
from producers.deidentify import deidentify
from producers.governance import (
    ERASED,
    UNPUBLISHED,
    Decision,
    GovernanceState,
    decide,
    erase_details,
    fold,
    hold,
    logged,
    minutes_since_referral,
)
from producers.ledger import RelayLedger

log = get_logger(__name__)

Header = tuple[str, bytes]
RELAY_PRINCIPAL = "relay"
# Cases kept in memory between batches (a case's state is ~1.7 KiB: its consents, referrals,
# the person's details; producers/governance.py keeps it small); the rest stay in their
# stored rows until an event needs them. On the 10M log's sample 4,096 read back 6,752 cases
# where 1,024 read back ~30,000, for 8 MiB more (BENCHMARKS.md, scale run).
CACHED_CASES = 4_096
# A relay catching up (its batches full) stores its governance state with the position once
# this many events have passed since it last did, once it holds twice ``CACHED_CASES``, with
# a batch that erased a person, and when stopped: a case whose events fall in several batches
# is written once, not once a batch. A crash costs a fold of at most this many events at the
# next start. A relay that has caught up stores the state with every batch, as before.
STATE_EVERY = 5_000
CASE_EVENTS = get_topic(Case) + "."  # the topics of a case's own events: their originator


Out = tuple[str, str, bytes, list[Header]]  # topic, key, value, headers


class Unpublishable(Exception):
    """An event of the log the relay cannot publish; ``reason`` names no value."""

    def __init__(self, reason: str, event_type: str, aggregate_id: str, *, folded: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type
        self.aggregate_id = aggregate_id
        self.folded = folded  # governance folded it before it failed: fold the log again


@dataclass
class RelayCounts:
    events: int = 0
    agency_records: int = 0
    redacted: int = 0  # agency records with a field withheld or no basis at all
    disclosures: int = 0
    audit_records: int = 0
    analytics_records: int = 0
    witnessed: int = 0  # chain heads published on audit.consent (producers/witness.py)
    quarantined: int = 0
    position: int = 0

    def add(self, other: RelayCounts) -> None:
        for f in fields(self):
            if f.name != "position":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.position = max(self.position, other.position)


def make_producer(settings: Settings, principal: str = RELAY_PRINCIPAL) -> RdProducer:
    """The idempotent producer (acks=all), as the tenant's ``principal`` (not the super user):
    librdkafka's, whose I/O does not wait for the interpreter (``hub.rdkafka``)."""
    return kafka_clients.fast_producer(settings, principal, client_id="hub-relay")


class Relay:
    def __init__(
        self,
        settings: Settings,
        app: HubApplication,
        ledger: RelayLedger,
        producer: Any,
        *,
        batch_size: int = 500,
        before_store: Callable[[int], None] | None = None,
        before_records: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.app = app
        self.ledger = ledger
        self.producer = producer
        self.batch_size = batch_size
        self.before_store = before_store  # a test hook: runs after flush, before storing
        self.before_records = before_records  # a test hook: the head flushed, no record sent
        self.key = settings.secret("pseudonym_key").encode()
        self.state = GovernanceState()
        self.rebuilt = False
        self.trust_stored = True  # False once a stored case was refused: fold the log
        self.changed: set[UUID] = set()  # cases changed since the state was last stored
        # Of the cases held, the digest of each one's row as this relay last stored it: an
        # event that changed nothing governance holds (a visit, say) writes no row again.
        self.stored_digests: dict[UUID, bytes] = {}
        self.replace_all = False  # the stored state is not this one's: store every case
        self.restored_from = ""  # how the last rebuild started: "used", "none", "stale", ...
        self.folded_from = 0  # the position the last rebuild's fold started after
        self.cached_cases = CACHED_CASES
        self.state_every = STATE_EVERY
        self.unstored = 0  # events folded since the state was last stored
        self.network_seal = snapshot.NetworkSeal()

    def rebuild(self) -> int:
        """The state as of the stored position, publishing nothing; returns that position.

        From the stored state when it is sound (folding only what lies between its position
        and the relay's), from the start of the log otherwise. Quarantined events are passed
        over as they were when published (their cases held)."""
        if self.trust_stored:
            try:
                return self._rebuild(trust_stored=True)
            except snapshot.StoredStateRefused as refused:
                log.warning("relay.state_refused", reason=str(refused))
                self.trust_stored = False
        return self._rebuild(trust_stored=False)

    def _rebuild(self, *, trust_stored: bool) -> int:
        stored = self.ledger.position()
        quarantined = {row["position"]: row for row in self.ledger.quarantined()}
        restored, self.restored_from = (
            snapshot.restore(
                self.ledger.state_header(),
                self.key,
                stored,
                self.ledger.state_case,
                self.ledger.state_cases,
            )
            if trust_stored
            else (None, "refused")
        )
        if self.restored_from not in ("used", "none"):
            log.warning("relay.state_not_used", why=self.restored_from, position=stored)
        self.state = restored or GovernanceState()
        self.folded_from = self.state.position
        self.replace_all = restored is None
        self.changed = set()
        self.stored_digests = {}
        self.unstored = stored - self.folded_from
        erased = False  # a person erased in what is folded: store the state at once
        while self.state.position < stored:
            batch = self.app.recorder.select_notifications(
                start=self.state.position + 1, limit=self.batch_size, stop=stored
            )
            if not batch:
                break
            self.app.read_keys_ahead(batch)
            for notification in batch:
                kept = quarantined.get(notification.id)
                if kept is not None:
                    hold(self.state, UUID(kept["aggregate_id"]), kept["event_type"])
                    self.changed.add(UUID(kept["aggregate_id"]))
                    self.state.position = notification.id
                    erased = erased or kept["event_type"] == ERASED
                    continue
                event = logged(notification.id, self._event(notification))
                fold(self.state, event)
                if event.case_id is not None:
                    self.changed.add(event.case_id)
                erased = erased or event.event_type == ERASED
        self.state.position = stored
        self.rebuilt = True
        log.info(
            "relay.rebuilt",
            position=stored,
            state=self.restored_from,
            folded_from=self.folded_from,
        )
        if erased:  # e.g. the erasure's batch stored its position alone (a quarantine)
            self._store_unstored()
        return stored

    def step(self) -> RelayCounts:
        """Publishes one batch and stores its position; empty counts at the end of the log."""
        if not self.rebuilt:
            self.rebuild()
        batch = self.app.recorder.select_notifications(
            start=self.state.position + 1, limit=self.batch_size
        )
        counts = RelayCounts(position=self.state.position)
        if not batch:
            self._store_unstored()  # caught up: the state as of the position, stored alone
            return counts
        try:
            erased = self._erased_elsewhere(batch)
            self.app.read_keys_ahead(batch)
            position = self._publish_batch(batch, counts, erased=erased)
        except snapshot.StoredStateRefused as refused:
            # Records of the batch may have been sent: they are sent again, as after a crash.
            log.warning("relay.state_refused", reason=str(refused))
            self.trust_stored = self.rebuilt = False
            return self.step()
        except BaseException:
            # The state has folded events whose position is not stored: fold the log again
            # up to the stored position before the next step, so that batch is sent again.
            self.rebuilt = False
            raise
        counts.position = position
        log.info("relay.batch", events=counts.events, position=position)
        return counts

    def _erased_elsewhere(self, batch: Sequence[Notification]) -> bool:
        """Forgets the persons of the batch erased since this relay read their keys or
        stored their case (by another process, maybe while this relay was stopped): their
        keys, and their details in the state, as a relay started after the erasure holds
        them. True if a case's details were forgotten (its state is then stored at once)."""
        forgotten = False
        for subject in self.app.erasures_among(batch):
            try:
                case_id = UUID(subject)
            except ValueError:
                continue
            case = self.state.cases.get(case_id)
            if case is not None and erase_details(case):
                self.changed.add(case_id)
                forgotten = True
        return forgotten

    def _publish_batch(
        self, batch: Sequence[Notification], counts: RelayCounts, *, erased: bool = False
    ) -> int:
        """Publishes the batch up to its end, or up to an event it quarantines (that event
        is then the position stored); the next step goes on after it. ``erased``: a person
        was erased, so the stored state must not keep them a batch longer."""
        disclosures: list[dict[str, Any]] = []
        prepared: list[tuple[Decision, list[Out], str | None]] = []
        quarantined: list[dict[str, Any]] = []
        position: int = batch[-1].id
        if isinstance(self.state.cases, snapshot.LazyCases):  # the batch's case events' cases
            self.state.cases.prefetch(
                n.originator_id
                for n in batch
                if n.topic.startswith(CASE_EVENTS) and isinstance(n.originator_id, UUID)
            )
        for notification in batch:
            try:
                decision, out, parent = self._prepare(notification)
            except Unpublishable as poison:
                position = notification.id
                quarantined.append(self._quarantine(notification, poison))
                counts.quarantined += 1
                erased = erased or poison.event_type == ERASED  # held, the person forgotten
                break
            prepared.append((decision, out, parent))
            if decision.event.case_id is not None:
                self.changed.add(decision.event.case_id)
            erased = erased or decision.event.event_type == ERASED
            self._count(decision, counts)
            disclosures += decision.disclosures
            counts.events += 1
        # The chain's head goes out and is acknowledged before the records it covers: a
        # relay killed at any moment leaves no record delivered past the newest witnessed
        # head, so a backup restored inside the batch is refused at start (open_relay).
        self._flush(self._witness(position, counts))
        if self.before_records is not None:
            self.before_records(position)
        self._flush([sent for each in prepared for sent in self._publish(*each)])
        if self.before_store is not None:
            self.before_store(position)
        if any(poison["folded"] for poison in quarantined):
            # A quarantined event was half folded: the state is not the log's. Store the
            # position alone; the next step folds again from the state stored before.
            self.ledger.record(position, disclosures, quarantined)
            self.rebuilt = False
        else:
            self.unstored += counts.events + counts.quarantined
            store = erased or self._state_due(caught_up=len(batch) < self.batch_size)
            write = self._state_write() if store else None
            self.ledger.record(position, disclosures, quarantined, write)
            if write is not None:
                self._state_stored(write)
        for row in quarantined:
            row.pop("folded", None)
        return position

    def _store_unstored(self) -> None:
        """Stores the state alone, as of the stored position, if it folded events since it
        was last stored (never a state that has folded past the stored position)."""
        if self.rebuilt and self.unstored:
            write = self._state_write()
            self.ledger.store_state(write)
            self._state_stored(write)

    def _state_due(self, *, caught_up: bool) -> bool:
        """Whether the state is stored with this batch's position."""
        return (
            caught_up
            or self.unstored >= self.state_every
            or dict.__len__(self.state.cases) >= 2 * self.cached_cases
        )

    def _state_write(self) -> snapshot.StateWrite:
        return snapshot.write(
            self.state,
            self.key,
            self.changed,
            replace_all=self.replace_all,
            network_seal=self.network_seal,
            unchanged=self.stored_digests,
        )

    def _state_stored(self, write: snapshot.StateWrite) -> None:
        """After ``write`` committed: every case held is stored as it is."""
        if self.replace_all:
            self.stored_digests.clear()
        self.stored_digests.update(write.digests)
        self.changed.clear()
        self.replace_all = False
        self.trust_stored = True
        self.unstored = 0
        # Those beyond the bound can go (read again from their rows when asked for).
        self.state.cases = snapshot.lazy(
            self.state.cases, self.key, self.ledger.state_case, self.ledger.state_cases
        )
        if self.state.cases.forget(self.cached_cases):
            held = self.state.cases
            self.stored_digests = {
                c: d for c, d in self.stored_digests.items() if dict.__contains__(held, c)
            }

    def _prepare(self, notification: Notification) -> tuple[Decision, list[Out], str | None]:
        """The decision and the records of one event and its command's traceparent, or
        ``Unpublishable``."""
        aggregate_id = str(notification.originator_id)
        event_type = notification.topic.rsplit(".", 1)[-1]
        try:
            domain_event = self._event(notification)
        except Exception as error:  # a stored event its model no longer reads
            stop_on_keys(error)
            raise Unpublishable(
                reason_of(error, "decoding"), event_type, aggregate_id, folded=False
            ) from None
        payload = domain_event.payload
        event_type = type(payload).__name__
        reason = screen(payload)
        if reason:
            raise Unpublishable(reason, event_type, aggregate_id, folded=False)
        try:
            decision = decide(self.state, logged(notification.id, domain_event))
        except snapshot.StoredStateRefused:
            raise
        except Exception as error:
            raise Unpublishable(
                reason_of(error, "governance"), event_type, aggregate_id, folded=True
            ) from None
        try:
            return decision, self._records(decision), tracing.of_event(domain_event)
        except snapshot.StoredStateRefused:
            raise
        except Exception as error:  # e.g. a value Avro cannot write
            raise Unpublishable(
                reason_of(error, "encoding"), event_type, aggregate_id, folded=True
            ) from None

    def _quarantine(self, notification: Notification, poison: Unpublishable) -> dict[str, Any]:
        if poison.folded is False:
            hold(self.state, UUID(poison.aggregate_id), poison.event_type)
            self.changed.add(UUID(poison.aggregate_id))
        self.state.position = notification.id
        log.warning(
            "relay.quarantined",
            position=notification.id,
            event_type=poison.event_type,
            reason=poison.reason,
        )
        return {
            "position": notification.id,
            "event_id": str(
                codec.event_id(UUID(poison.aggregate_id), notification.originator_version)
            ),
            "event_type": poison.event_type,
            "aggregate_id": poison.aggregate_id,
            "reason": poison.reason,
            "folded": poison.folded,
        }

    def drain(self, stop: threading.Event | None = None) -> RelayCounts:
        """Publishes up to the end of the log (or until ``stop`` is set)."""
        total = RelayCounts(position=self.state.position)
        while stop is None or not stop.is_set():
            counts = self.step()
            total.add(counts)
            if counts.events == 0 and counts.quarantined == 0:
                break
        else:
            self._store_unstored()  # stopped while catching up: the next start folds nothing
        return total

    def follow(
        self,
        stop: threading.Event,
        poll_seconds: float = 0.5,
        caught_up: Callable[[], object] | None = None,
    ) -> RelayCounts:
        """Publishes new events as they are recorded until ``stop`` is set: woken by each
        commit to the log (``hub.log_waits``), and every ``poll_seconds`` in any case;
        ``caught_up`` is called once, when the log read at the start is published."""
        total = RelayCounts()
        waiting = log_wait(self.app.recorder)
        try:
            while not stop.is_set():
                counts = self.drain(stop)
                total.add(counts)
                if caught_up is not None and not stop.is_set():
                    caught_up()
                    caught_up = None
                waiting.wait(stop, poll_seconds)
        finally:
            waiting.close()
        return total

    # Publishing ------------------------------------------------------------------------------

    def _event(self, notification: Any) -> Any:
        """The stored event decoded (``hub.stored``, the rebuild's decoder), or decoded the
        library's way when it is not plainly the hub's envelope (which then decides)."""
        quick = decode_quickly(self.app.mapper, notification)
        if quick is not None:
            return quick
        return self.app.mapper.to_domain_event(notification)

    def _publish(self, decision: Decision, out: list[Out], parent: str | None) -> list[Any]:
        """Sends one event's records; an event stored with its command's traceparent is sent
        in a publish span, child of the command's, whose traceparent each agency and audit
        record carries as a header (never in its value: docs/TRACING.md). The analysts' record
        carries none: the trace id is the caller's, shared with the agency's record of the
        same event and with every command of one trace, so it would join pseudonymised
        records to ids in clear and across cases."""
        if parent is None or not out:
            return [self._send(*record) for record in out]
        event = decision.event
        analytics = topics.analytics(self.settings)
        with tracing.span(
            f"publish {event.event_type}",
            parent,
            kind=SpanKind.PRODUCER,
            attributes={"hub.position": event.position, "hub.event_id": event.event_id},
        ):
            return [
                self._send(
                    topic,
                    key,
                    value,
                    headers if topic == analytics else tracing.with_header(headers),
                )
                for topic, key, value, headers in out
            ]

    def _send(self, topic: str, key: str, value: bytes, headers: list[Header]) -> Any:
        try:
            return self.producer.send(topic, key=key.encode(), value=value, headers=headers)
        except KafkaError as error:
            raise ServiceUnavailableError(
                f"cannot publish to {topic} ({type(error).__name__}); is the broker up and the "
                "topic provisioned (`hub kafka provision`)? The batch's position was not stored"
            ) from error

    def _records(self, decision: Decision) -> list[Out]:
        """Every record of one decision, encoded (nothing is sent before all are)."""
        event = decision.event
        if event.event_type in UNPUBLISHED:
            return []
        common: list[Header] = [
            ("event_id", event.event_id.encode()),
            ("event_type", event.event_type.encode()),
            ("position", str(event.position).encode()),
        ]
        out: list[Out] = []
        for record in decision.agencies:
            own = common
            event_type = event.event_type
            if record.own_event is not None:  # a record of its own (governance._deliveries)
                event_id, event_type = record.own_event
                own = [("event_id", event_id.encode()), ("event_type", event_type.encode())]
                own.append(("position", str(event.position).encode()))
            headers = own + [(k, v.encode()) for k, v in record.headers().items()]
            value = codec.encode(event_type, record.record)
            out.append(
                (topics.referrals(self.settings, record.agency_id), event.key, value, headers)
            )
        audit = topics.audit(self.settings)
        if decision.audit_record is not None:
            value = codec.encode(event.event_type, decision.audit_record)
            out.append((audit, event.key, value, common))
        for disclosure in decision.disclosures:
            headers = [
                ("event_id", event.event_id.encode()),
                ("event_type", b"Disclosure"),
                ("position", str(event.position).encode()),
                ("disclosure_id", disclosure["disclosure_id"].encode()),
            ]
            out.append((audit, event.key, codec.encode("Disclosure", disclosure), headers))
        if not decision.analytics:
            return out
        anonymous = deidentify(event.record, self.key, minutes_since_referral(self.state, event))
        headers = [
            ("event_id", str(anonymous["event_id"]).encode()),
            ("event_type", event.event_type.encode()),
            ("position", str(event.position).encode()),
        ]
        key = str(anonymous.get("case_id") or anonymous["aggregate_id"])
        value = codec.encode(event.event_type, anonymous)
        out.append((topics.analytics(self.settings), key, value, headers))
        return out

    @staticmethod
    def _count(decision: Decision, counts: RelayCounts) -> None:
        for record in decision.agencies:
            counts.agency_records += 1
            if record.withheld or not record.released:
                counts.redacted += 1
        counts.audit_records += decision.audit_record is not None
        counts.disclosures += len(decision.disclosures)
        counts.analytics_records += (
            decision.analytics and decision.event.event_type not in UNPUBLISHED
        )

    def _witness(self, position: int, counts: RelayCounts) -> list[Any]:
        """The chain's head at the batch's end, on audit.consent: a witness outside the
        store (none for a position the chain does not cover yet: ``hub audit seal``)."""
        record = witness.chain_head(self.app.recorder, position)
        if record is None:
            return []
        counts.witnessed += 1
        value = codec.encode(witness.SCHEMA, record)
        audit = topics.audit(self.settings)
        return [self._send(audit, witness.KEY, value, witness.headers(record))]

    def close(self) -> None:
        """Closes the producer and the application this relay was built on."""
        self.producer.close()
        self.app.close()

    def _flush(self, futures: list[Any]) -> None:
        try:
            self.producer.flush()
            for future in futures:
                future.get(timeout=0)
        except KafkaError as error:
            raise ServiceUnavailableError(
                f"the broker did not take a batch ({type(error).__name__}); "
                "its position was not stored, it will be sent again"
            ) from error
