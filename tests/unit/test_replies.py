"""The hub's reply ingester and acknowledgement timers, on an in-memory Hub application."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from consumers.agency import reply_record
from consumers.escalation import OpenReferral, OpenReferrals, escalate_overdue
from consumers.ports import InRecord
from consumers.replies import ReplyIngester
from consumers.stopping import StopFlag
from hub import codec, confluent_wire
from hub.application import HubApplication
from hub.commands import AnswerReferral, CancelReferral, CloseCase, OpenCase, ReferCase
from hub.identity import reply_ingester
from tests.agency_support import AGENCY, OTHER_AGENCY, T0, FakeDeadLetters, FakeSource


@pytest.fixture
def app() -> HubApplication:
    return HubApplication()


def referred(
    app: HubApplication,
    urgency: str = "soon",
    agency: str = AGENCY,
    case_id: UUID | None = None,
) -> tuple[UUID, UUID]:
    """A referral made at T0, of a new case of moji (or of ``case_id``)."""
    referral_id = uuid4()
    if case_id is None:
        case_id = uuid4()
        app.execute(OpenCase(command_id=uuid4(), occurred_at=T0, case_id=case_id, ward="moji"))
    app.execute(
        ReferCase(
            command_id=uuid4(),
            occurred_at=T0,
            case_id=case_id,
            referral_id=referral_id,
            agency_id=agency,
            purpose="assessment",
            urgency=urgency,  # type: ignore[arg-type]
        )
    )
    return case_id, referral_id


class Replies:
    """Reply topics being written by agencies."""

    def __init__(self) -> None:
        self.records: list[InRecord] = []

    def write(self, topic_agency: str, value: bytes) -> None:
        self.records.append(
            InRecord(
                topic=f"replies.{topic_agency}", partition=0, offset=len(self.records), value=value
            )
        )

    def reply(
        self,
        case_id: UUID,
        referral_id: UUID,
        answer: str,
        topic_agency: str = AGENCY,
        claimed_agency: str | None = None,
        reason: str | None = None,
        reply_id: UUID | None = None,
    ) -> None:
        record = reply_record(
            claimed_agency or topic_agency,
            {"referral_id": str(referral_id), "case_id": str(case_id)},
            answer,
            reason,
            answered_at=T0 + timedelta(minutes=10),
            reply_id=reply_id,
        )
        self.write(topic_agency, codec.encode("ReferralReply", record))


def _received(case_id: UUID, referral_id: UUID) -> dict[str, Any]:
    """A valid ReferralReply as the hub's client writes it, for a test to spoil."""
    referral = {"referral_id": str(referral_id), "case_id": str(case_id)}
    return reply_record(AGENCY, referral, "received", None, answered_at=T0)


def agency_of_topic(topic: str) -> str | None:
    return topic.removeprefix("replies.") if topic.startswith("replies.") else None


def ingest(app: HubApplication, replies: Replies) -> tuple[ReplyIngester, FakeDeadLetters]:
    deadletters = FakeDeadLetters()
    ingester = ReplyIngester(app, FakeSource(replies.records), deadletters, agency_of_topic)
    ingester.run(StopFlag(), once=True)
    return ingester, deadletters


def test_an_answer_from_the_referred_agency_is_recorded_on_the_case(app: HubApplication) -> None:
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(case_id, referral_id, "received")
    replies.reply(case_id, referral_id, "accepted")

    ingester, deadletters = ingest(app, replies)

    assert ingester.report.applied == 2
    assert deadletters.parked == []
    assert app.get_case(case_id).referrals[referral_id].status == "accepted"


def test_a_redelivered_reply_writes_nothing_new(app: HubApplication) -> None:
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(case_id, referral_id, "received", reply_id=uuid4())
    replies.records.append(replies.records[0])

    ingester, deadletters = ingest(app, replies)
    version_after_one = app.get_case(case_id).version
    again, _ = ingest(app, replies)

    assert (ingester.report.applied, ingester.report.duplicates) == (1, 1)
    assert (again.report.applied, again.report.duplicates) == (0, 2)
    assert deadletters.parked == []
    assert app.get_case(case_id).version == version_after_one


def test_a_reply_id_sent_again_with_another_answer_is_parked_naming_its_error_once(
    app: HubApplication,
) -> None:
    """The reason read 'IdempotencyConflictError: IdempotencyConflictError: command_id …'."""
    case_id, referral_id = referred(app)
    reply_id = uuid4()
    replies = Replies()
    replies.reply(case_id, referral_id, "received", reply_id=reply_id)
    replies.reply(case_id, referral_id, "accepted", reply_id=reply_id)

    ingester, deadletters = ingest(app, replies)

    assert (ingester.report.applied, ingester.report.rejected) == (1, 1)
    reason = deadletters.parked[0][1]
    assert reason.startswith("IdempotencyConflictError: command_id ")
    assert reason.count("IdempotencyConflictError") == 1


def test_a_reply_claiming_another_agency_than_its_topic_is_refused(app: HubApplication) -> None:
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(
        case_id, referral_id, "accepted", topic_agency=OTHER_AGENCY, claimed_agency=AGENCY
    )

    ingester, deadletters = ingest(app, replies)

    assert ingester.report.rejected == 1
    assert deadletters.parked[0][1] == "agency_id disagrees with the reply topic's agency"
    assert app.get_case(case_id).referrals[referral_id].status == "sent"


def test_an_answer_from_an_agency_the_referral_was_not_sent_to_is_refused(
    app: HubApplication,
) -> None:
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(case_id, referral_id, "accepted", topic_agency=OTHER_AGENCY)

    ingester, deadletters = ingest(app, replies)

    assert ingester.report.rejected == 1
    assert deadletters.parked[0][1].startswith("NotReferredAgencyError")
    assert app.get_case(case_id).referrals[referral_id].status == "sent"


def test_an_illegal_transition_is_refused_and_never_applied(app: HubApplication) -> None:
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(case_id, referral_id, "declined", reason="定員超過のため")
    replies.reply(case_id, referral_id, "completed")

    ingester, deadletters = ingest(app, replies)

    assert (ingester.report.applied, ingester.report.rejected) == (1, 1)
    assert deadletters.parked[0][1].startswith("IllegalTransitionError")
    assert app.get_case(case_id).referrals[referral_id].status == "declined"


def test_unknown_referrals_and_undecodable_replies_are_refused(app: HubApplication) -> None:
    case_id, _ = referred(app)
    replies = Replies()
    replies.reply(case_id, uuid4(), "received")
    replies.write(AGENCY, os.urandom(30))
    replies.records.append(InRecord(topic="elsewhere", partition=0, offset=9, value=b"x"))

    ingester, deadletters = ingest(app, replies)

    assert ingester.report.rejected == 3
    reasons = [reason for _, reason in deadletters.parked]
    assert reasons[0].startswith("ReferralNotFoundError")
    assert reasons[1].startswith("undecodable")
    assert reasons[2] == "elsewhere is not an agency's reply topic"


def test_a_reply_in_the_confluent_wire_format_is_applied(app: HubApplication) -> None:
    """An integrator's producer with a registry (confluent-kafka's AvroSerializer and the
    bundle of ``hub schema export``) frames a reply 00 + schema id: it was parked as 'bad
    magic', and the agency never learnt its answer did not reach the hub."""
    case_id, referral_id = referred(app)
    replies = Replies()
    replies.write(AGENCY, confluent_wire.encode("ReferralReply", _received(case_id, referral_id)))
    replies.write(AGENCY, b"\x00" + (7).to_bytes(4, "big") + b"\x02")

    ingester, deadletters = ingest(app, replies)

    assert (ingester.report.applied, ingester.report.rejected) == (1, 1)
    assert app.get_case(case_id).referrals[referral_id].status == "received"
    assert [reason for _, reason in deadletters.parked] == ["unknown schema id"]


def test_a_decline_without_a_reason_is_refused(app: HubApplication) -> None:
    case_id, referral_id = referred(app)
    replies = Replies()
    # An integrator's own client, without the hub's check of a decline's reason.
    record = {**_received(case_id, referral_id), "answer": "declined"}
    replies.write(AGENCY, codec.encode("ReferralReply", record))

    ingester, deadletters = ingest(app, replies)

    assert ingester.report.rejected == 1
    # the field the integrator must fill, as the API's 422 names it; not "(record)"
    assert deadletters.parked[0][1] == "failed validation as AnswerReferral: reason_code"


def test_a_reply_refused_by_the_commands_rules_names_the_replys_own_field(
    app: HubApplication,
) -> None:
    """A reply dated without a zone was parked as 'failed validation as AnswerReferral:
    occurred_at', a field the agency's ReferralReply does not have."""
    case_id, referral_id = referred(app)
    replies = Replies()
    # no zone: the command's occurred_at refuses it
    record = {**_received(case_id, referral_id), "answered_at": "2025-05-07T10:00:00"}
    replies.write(AGENCY, codec.encode("ReferralReply", record))

    ingester, deadletters = ingest(app, replies)

    assert ingester.report.rejected == 1
    assert deadletters.parked[0][1] == "failed validation as AnswerReferral: answered_at"


# Acknowledgement timers ---------------------------------------------------------------------


def deadlines(urgency: str, made_at: datetime) -> datetime:
    return made_at + (timedelta(minutes=30) if urgency == "life_at_risk" else timedelta(hours=24))


def escalated(app: HubApplication, case_id: UUID, referral_id: UUID) -> bool:
    return app.get_case(case_id).referrals[referral_id].escalated


def test_a_referral_unanswered_past_its_deadline_is_escalated_to_the_ward_coordinator(
    app: HubApplication,
) -> None:
    case_id, referral_id = referred(app, urgency="soon")

    assert escalate_overdue(app, T0 + timedelta(hours=23), deadlines) == []
    (escalation,) = escalate_overdue(app, T0 + timedelta(hours=25), deadlines)
    outcome = escalation.outcome
    assert escalation.referral_id == referral_id

    assert outcome.events == ("ReferralEscalated",)
    assert escalated(app, case_id, referral_id)
    (event,) = [
        e
        for e in app.repository.event_store.get(case_id)
        if type(e).__name__ == "ReferralEscalated"
    ]
    assert event.payload.coordinator == "moji.coordinator"
    assert event.payload.overdue_minutes == 60


def test_life_at_risk_referrals_escalate_sooner(app: HubApplication) -> None:
    urgent_case, urgent = referred(app, urgency="life_at_risk")
    routine_case, routine = referred(app, urgency="routine")

    escalate_overdue(app, T0 + timedelta(minutes=31), deadlines)

    assert escalated(app, urgent_case, urgent)
    assert not escalated(app, routine_case, routine)


def test_answered_and_closed_referrals_are_not_escalated(app: HubApplication) -> None:
    answered_case, answered = referred(app)
    closed_case, _ = referred(app)
    app.execute(
        AnswerReferral(
            command_id=uuid4(),
            occurred_at=T0,
            case_id=answered_case,
            referral_id=answered,
            agency_id=AGENCY,
            answer="received",
        )
    )
    app.execute(CloseCase(command_id=uuid4(), occurred_at=T0, case_id=closed_case, reason="転居"))

    assert escalate_overdue(app, T0 + timedelta(days=30), deadlines) == []


def test_a_cancelled_referral_leaves_the_timers_and_is_not_tried_again_at_each_scan(
    app: HubApplication,
) -> None:
    """The referrer cancelled it before anyone answered: no deadline runs any more, so the
    timer neither escalates it nor retries it (and logs it as skipped) at every scan."""
    case_id, referral_id = referred(app)
    app.execute(
        CancelReferral(
            command_id=uuid4(),
            occurred_at=T0 + timedelta(hours=1),
            case_id=case_id,
            referral_id=referral_id,
            reason_code="referred_elsewhere",
        )
    )
    waiting = OpenReferrals()
    assert escalate_overdue(app, T0 + timedelta(days=30), deadlines, waiting) == []
    assert referral_id not in waiting.open


def _open(case_id: UUID, referral_id: UUID) -> OpenReferral:
    return OpenReferral(case_id, referral_id, AGENCY, "life_at_risk", T0)


def test_a_referral_is_escalated_once_however_many_timers_run(app: HubApplication) -> None:
    case_id, referral_id = referred(app, urgency="life_at_risk")
    first, second = OpenReferrals(), OpenReferrals()
    later = T0 + timedelta(hours=1)

    escalate_overdue(app, later, deadlines, first)
    assert escalate_overdue(app, later + timedelta(minutes=5), deadlines, second) == []
    assert escalate_overdue(app, later + timedelta(minutes=10), deadlines, first) == []
    # A timer that had not yet seen the escalation repeats the same command id: a no-op.
    stale = OpenReferrals()
    stale.open = dict(second.open) or {referral_id: _open(case_id, referral_id)}
    stale.position = 10**9
    assert [e.outcome.duplicate for e in escalate_overdue(app, later, deadlines, stale)] == [True]
    events = [type(e).__name__ for e in app.repository.event_store.get(case_id)]
    assert events.count("ReferralEscalated") == 1


def test_a_stop_request_lets_the_ingester_finish_the_reply_in_hand_and_commit_it(
    app: HubApplication,
) -> None:
    replies = Replies()
    for _ in range(4):
        case_id, referral_id = referred(app)
        replies.reply(case_id, referral_id, "received")
    source = FakeSource(replies.records, batch=4)
    ingester = ReplyIngester(app, source, FakeDeadLetters(), agency_of_topic)
    stop = StopFlag()
    handle = ingester.handle

    def handle_then_stop(record: InRecord) -> str:
        result = handle(record)
        if record.offset == 1:
            stop.request()
        return result

    ingester.handle = handle_then_stop  # type: ignore[method-assign]
    report = ingester.run(stop)

    assert report.applied == 2
    assert source.committed == {(f"replies.{AGENCY}", 0): 2}


def test_a_polls_answers_are_written_together_and_a_refused_one_leaves_the_others_written(
    app: HubApplication,
) -> None:
    """One poll's answers share one transaction (group commit); the refused one is parked
    with its reason as before, and each written answer keeps its own agency as actor."""
    refused_case, refused_referral = referred(app)
    answered = [referred(app) for _ in range(3)]
    replies = Replies()
    replies.reply(refused_case, refused_referral, "accepted", topic_agency=OTHER_AGENCY)
    for case_id, referral_id in answered:
        replies.reply(case_id, referral_id, "accepted")
    inserts: list[int] = []
    original = app.recorder.insert_events

    def counted(stored_events: Any, **kwargs: Any) -> Any:
        inserts.append(len(stored_events))
        return original(stored_events, **kwargs)

    app.recorder.insert_events = counted  # type: ignore[method-assign]
    deadletters = FakeDeadLetters()
    source = FakeSource(replies.records, batch=4)
    ingester = ReplyIngester(app, source, deadletters, agency_of_topic)
    ingester.run(StopFlag(), once=True)

    assert (ingester.report.applied, ingester.report.rejected) == (3, 1)
    assert len(inserts) == 1  # the three answers and their receipts: one transaction
    assert [reason.split(":")[0] for _, reason in deadletters.parked] == ["NotReferredAgencyError"]
    assert source.committed == {(f"replies.{AGENCY}", 0): 4} or source.committed == {
        (f"replies.{OTHER_AGENCY}", 0): 1,
        (f"replies.{AGENCY}", 0): 4,
    }
    assert app.get_case(refused_case).referrals[refused_referral].status == "sent"
    for case_id, referral_id in answered:
        case = app.get_case(case_id)
        assert case.referrals[referral_id].status == "accepted"
        answer = [e for e in app.events.get(case_id)][-1]
        assert answer.payload.actor.subject == reply_ingester(AGENCY).subject  # type: ignore[attr-defined]


def test_the_answers_a_poll_writes_together_are_counted_in_the_command_metric(
    app: HubApplication,
) -> None:
    # hub replies run --metrics-port: its answers are written in groups (execute_many);
    # each is timed and counted by its outcome, as a command of hub serve is.
    from ops import metrics, wiring

    case_id, referral_id = referred(app)
    replies = Replies()
    replies.reply(case_id, referral_id, "received", reply_id=uuid4())
    replies.records.append(replies.records[0])
    replies.reply(case_id, referral_id, "accepted", topic_agency=OTHER_AGENCY)
    deadletters = FakeDeadLetters()
    ingester = ReplyIngester(app, FakeSource(replies.records), deadletters, agency_of_topic)
    registry = metrics.registry(*wiring.reply_metrics(app, ingester, measured=True))

    ingester.run(StopFlag(), once=True)

    def count(outcome: str) -> float | None:
        labels = {"command": "AnswerReferral", "outcome": outcome}
        return registry.get_sample_value("hub_command_seconds_count", labels)

    assert (count("recorded"), count("duplicate")) == (1, 1)
    assert count("NotReferredAgencyError") == 1


def test_the_timers_say_each_referral_they_escalate(app: HubApplication) -> None:
    """`hub replies run --timers` printed the case of each escalation: two referrals of
    one case were two identical lines."""
    from consumers.escalation import EscalationTimer
    from ops.cli import agency

    case_id, first = referred(app, urgency="life_at_risk")
    _, second = referred(app, urgency="life_at_risk", agency=OTHER_AGENCY, case_id=case_id)
    timer = EscalationTimer(app, deadlines)
    later = T0 + timedelta(days=1)
    timer.tick = lambda _now: escalate_overdue(app, later, deadlines)  # type: ignore[method-assign]
    with agency.err.capture() as said:
        agency._escalate(timer)
    lines = said.get().splitlines()
    assert sorted(lines) == sorted(
        f"escalated: referral {r} (case {case_id})" for r in (first, second)
    )


def test_hub_escalations_run_serves_the_referral_metrics_and_times_its_escalations(
    app: HubApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hub escalations run --metrics-port: a long-running process serves metrics as the others
    # do (docs/METRICS.md), the referrals and the EscalateReferral commands it executes.
    from consumers.escalation import EscalationTimer
    from ops import metrics, wiring
    from ops.cli import agency

    referred(app, urgency="life_at_risk")
    served: dict[str, Any] = {}

    def serve(settings: Any, port: int | None, collectors: Any) -> None:
        served["port"] = port
        served["registry"] = metrics.registry(*collectors())

    def timer_of(app_: HubApplication) -> EscalationTimer:
        timer = EscalationTimer(app_, deadlines)
        later = T0 + timedelta(days=1)
        timer.tick = lambda _now: escalate_overdue(app_, later, deadlines)  # type: ignore[method-assign]
        return timer

    monkeypatch.setattr(wiring, "open_application", lambda _settings: app)
    monkeypatch.setattr(wiring, "escalation_timer", timer_of)
    monkeypatch.setattr(wiring, "serve_metrics", serve)
    monkeypatch.setattr(app, "close", lambda: None)

    agency.run_escalations(once=True, metrics_port=9469)

    registry = served["registry"]
    assert served["port"] == 9469
    escalated = {"command": "EscalateReferral", "outcome": "recorded"}
    assert registry.get_sample_value("hub_command_seconds_count", escalated) == 1
    assert registry.get_sample_value("hub_escalations_total") == 1
