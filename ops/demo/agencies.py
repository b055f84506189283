"""Every member agency's client, in-process: follow its topic into its inbox, and answer.

The answers are the generated agency behaviour (``PlannedAnswer``): an agency answers a
referral only once the referral is in its inbox, on its own reply topic, as its own principal,
with the planned time and a reply id derived from the plan (so a rerun sends the same reply).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from consumers.agency import AgencyConsumer, reply_record
from consumers.config import ConsumerSettings
from consumers.kafka_io import KafkaWriter
from consumers.stopping import StopFlag
from hub import codec, topics
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from ops import wiring
from ops.demo.generator import PlannedAnswer

CONNECT_WAIT_S = 30.0


@dataclass
class AnswerCounts:
    sent: int = 0
    not_in_inbox: int = 0


class AgencyClients:
    def __init__(
        self,
        settings: Settings,
        consumer_settings: ConsumerSettings,
        agency_ids: Iterable[str],
        group: str,
    ) -> None:
        self.settings = settings
        # Each client lives on its own thread: its SQLite inbox belongs to the thread that
        # opened it, and the agencies read their topics side by side.
        self._threads = {
            agency_id: ThreadPoolExecutor(1, thread_name_prefix=agency_id)
            for agency_id in agency_ids
        }
        futures = {
            agency_id: pool.submit(
                _connect,
                agency_id,
                settings,
                consumer_settings,
                topics.agency_group(settings, agency_id, group),
            )
            for agency_id, pool in self._threads.items()
        }
        self.clients: dict[str, AgencyConsumer] = {a: f.result() for a, f in futures.items()}
        self.writers: dict[str, KafkaWriter] = {}
        self.answers = AnswerCounts()

    def catch_up(self) -> int:
        """Every agency reads its topic to the end; how many records were applied in all."""
        before = sum(c.report.applied for c in self.clients.values())
        stop = StopFlag()
        futures = [
            self._threads[a].submit(client.run, stop, once=True)
            for a, client in self.clients.items()
        ]
        for future in futures:
            future.result()
        return sum(c.report.applied for c in self.clients.values()) - before

    def answer(self, planned: PlannedAnswer) -> bool:
        """Send one planned answer, if the referral reached the agency's inbox."""
        return self._threads[planned.agency_id].submit(self._answer, planned).result()

    def _answer(self, planned: PlannedAnswer) -> bool:
        client = self.clients[planned.agency_id]
        referral = client.inbox.referral(str(planned.referral_id))
        if referral is None:
            self.answers.not_in_inbox += 1
            return False
        record = reply_record(
            planned.agency_id,
            referral,
            planned.answer,
            planned.reason,
            answered_at=planned.at,
            reply_id=planned.command_id,
            reason_code=planned.reason_code,
            outcome=planned.outcome,
        )
        self._writer(planned.agency_id).send(
            topics.replies(self.settings, planned.agency_id),
            codec.encode("ReferralReply", record),
            key=record["case_id"].encode(),
            headers=[
                ("event_id", record["reply_id"].encode()),
                ("event_type", b"ReferralReply"),
            ],
        )
        client.inbox.record_reply(
            record["reply_id"], record["referral_id"], planned.answer, record["answered_at"]
        )
        self.answers.sent += 1
        return True

    def _writer(self, agency_id: str) -> KafkaWriter:
        if agency_id not in self.writers:
            self.writers[agency_id] = wiring.open_reply_writer(self.settings, agency_id)
        return self.writers[agency_id]

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        for agency_id, client in self.clients.items():
            self._threads[agency_id].submit(_close, client).result()
            self._threads[agency_id].shutdown()


def _connect(
    agency_id: str, settings: Settings, consumer_settings: ConsumerSettings, group: str
) -> AgencyConsumer:
    """The agency's client; freshly provisioned topics and ACLs may take a moment to show."""
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        try:
            return wiring.open_agency_consumer(settings, agency_id, consumer_settings, group)
        except ServiceUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _close(client: AgencyConsumer) -> None:
    client.close()
