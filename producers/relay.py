"""The relay: follows the log of record and publishes the governed streams.

For each batch of the notification log: fold governance, publish each agency's record,
the audit records and the de-identified analytics record with the idempotent producer,
flush, and only then store the position and the disclosure ledger rows in one transaction.
A crash before that store sends the batch again (consumers apply each event id once);
nothing is lost. On start the governance state is rebuilt by folding the log up to the
stored position without publishing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from eventsourcing.persistence import Notification
from kafka import KafkaProducer
from kafka.errors import KafkaError

from hub import codec, kafka_clients, topics
from hub.application import HubApplication
from hub.errors import ServiceUnavailableError
from hub.logging import get_logger
from hub.settings import Settings
from producers import witness
from producers.deidentify import deidentify
from producers.governance import (
    UNPUBLISHED,
    Decision,
    GovernanceState,
    decide,
    fold,
    logged,
    minutes_since_referral,
)
from producers.ledger import RelayLedger

log = get_logger(__name__)

Header = tuple[str, bytes]
RELAY_PRINCIPAL = "relay"


@dataclass
class RelayCounts:
    events: int = 0
    agency_records: int = 0
    redacted: int = 0  # agency records with a field withheld or no basis at all
    disclosures: int = 0
    audit_records: int = 0
    analytics_records: int = 0
    witnessed: int = 0  # chain heads published on audit.consent (producers/witness.py)
    position: int = 0

    def add(self, other: RelayCounts) -> None:
        for f in fields(self):
            if f.name != "position":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.position = max(self.position, other.position)


def make_producer(settings: Settings, principal: str = RELAY_PRINCIPAL) -> KafkaProducer:
    """The idempotent producer (acks=all), as the tenant's ``principal`` (not the super user)."""
    return kafka_clients.producer(
        settings,
        principal,
        client_id="hub-relay",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )


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
    ) -> None:
        self.settings = settings
        self.app = app
        self.ledger = ledger
        self.producer = producer
        self.batch_size = batch_size
        self.before_store = before_store  # a test hook: runs after flush, before storing
        self.key = settings.secret("pseudonym_key").encode()
        self.state = GovernanceState()
        self.rebuilt = False

    def rebuild(self) -> int:
        """Folds the log up to the stored position, publishing nothing; returns it."""
        stored = self.ledger.position()
        self.state = GovernanceState()
        while self.state.position < stored:
            batch = self.app.recorder.select_notifications(
                start=self.state.position + 1, limit=self.batch_size, stop=stored
            )
            if not batch:
                break
            for notification in batch:
                fold(self.state, logged(notification.id, self._event(notification)))
        self.state.position = stored
        self.rebuilt = True
        log.info("relay.rebuilt", position=stored, cases=len(self.state.cases))
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
            return counts
        try:
            position = self._publish_batch(batch, counts)
        except BaseException:
            # The state has folded events whose position is not stored: fold the log again
            # up to the stored position before the next step, so that batch is sent again.
            self.rebuilt = False
            raise
        counts.position = position
        log.info("relay.batch", events=counts.events, position=position)
        return counts

    def _publish_batch(self, batch: Sequence[Notification], counts: RelayCounts) -> int:
        disclosures: list[dict[str, Any]] = []
        futures: list[Any] = []
        for notification in batch:
            decision = decide(self.state, logged(notification.id, self._event(notification)))
            futures += self._publish(decision, counts)
            disclosures += decision.disclosures
            counts.events += 1
        futures += self._witness(batch[-1].id, counts)
        self._flush(futures)
        position: int = batch[-1].id
        if self.before_store is not None:
            self.before_store(position)
        self.ledger.record(position, disclosures)
        return position

    def drain(self, stop: threading.Event | None = None) -> RelayCounts:
        """Publishes up to the end of the log (or until ``stop`` is set)."""
        total = RelayCounts(position=self.state.position)
        while stop is None or not stop.is_set():
            counts = self.step()
            total.add(counts)
            if counts.events == 0:
                break
        return total

    def follow(self, stop: threading.Event, poll_seconds: float = 0.5) -> RelayCounts:
        """Publishes new events as they are recorded until ``stop`` is set."""
        total = RelayCounts()
        while not stop.is_set():
            counts = self.drain(stop)
            total.add(counts)
            stop.wait(poll_seconds)
        return total

    # Publishing ------------------------------------------------------------------------------

    def _event(self, notification: Any) -> Any:
        return self.app.mapper.to_domain_event(notification)

    def _send(self, topic: str, key: str, value: bytes, headers: list[Header]) -> Any:
        try:
            return self.producer.send(topic, key=key.encode(), value=value, headers=headers)
        except KafkaError as error:
            raise ServiceUnavailableError(
                f"cannot publish to {topic} ({type(error).__name__}); is the broker up and the "
                "topic provisioned (`hub kafka provision`)? The batch's position was not stored"
            ) from error

    def _publish(self, decision: Decision, counts: RelayCounts) -> list[Any]:
        event = decision.event
        if event.event_type in UNPUBLISHED:
            return []
        common: list[Header] = [
            ("event_id", event.event_id.encode()),
            ("event_type", event.event_type.encode()),
            ("position", str(event.position).encode()),
        ]
        futures = []
        for record in decision.agencies:
            own = common
            event_type = event.event_type
            if record.own_event is not None:  # a record of its own (governance._deliveries)
                event_id, event_type = record.own_event
                own = [("event_id", event_id.encode()), ("event_type", event_type.encode())]
                own.append(("position", str(event.position).encode()))
            headers = own + [(k, v.encode()) for k, v in record.headers().items()]
            value = codec.encode(event_type, record.record)
            topic = topics.referrals(self.settings, record.agency_id)
            futures.append(self._send(topic, event.key, value, headers))
            counts.agency_records += 1
            if record.withheld or not record.released:
                counts.redacted += 1
        audit = topics.audit(self.settings)
        if decision.audit_record is not None:
            value = codec.encode(event.event_type, decision.audit_record)
            futures.append(self._send(audit, event.key, value, common))
            counts.audit_records += 1
        for disclosure in decision.disclosures:
            headers = [
                ("event_id", event.event_id.encode()),
                ("event_type", b"Disclosure"),
                ("position", str(event.position).encode()),
                ("disclosure_id", disclosure["disclosure_id"].encode()),
            ]
            value = codec.encode("Disclosure", disclosure)
            futures.append(self._send(audit, event.key, value, headers))
            counts.disclosures += 1
        if not decision.analytics:
            return futures
        anonymous = deidentify(event.record, self.key, minutes_since_referral(self.state, event))
        headers = [
            ("event_id", str(anonymous["event_id"]).encode()),
            ("event_type", event.event_type.encode()),
            ("position", str(event.position).encode()),
        ]
        key = str(anonymous.get("case_id") or anonymous["aggregate_id"])
        value = codec.encode(event.event_type, anonymous)
        futures.append(self._send(topics.analytics(self.settings), key, value, headers))
        counts.analytics_records += 1
        return futures

    def _witness(self, position: int, counts: RelayCounts) -> list[Any]:
        """The chain's head after the batch, on audit.consent: a witness outside the store."""
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
