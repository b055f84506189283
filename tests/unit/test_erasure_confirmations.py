"""Erasure confirmations: the agency's message, the ingester's refusals, the event, the view."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from consumers.agency import erasure_confirmation
from consumers.ports import InRecord
from consumers.records import BadRecord
from consumers.replies import Confirmation, reply_command
from hub import codec
from hub import events as ev
from hub.application import HubApplication
from hub.errors import NotErasedError, PermissionDeniedError
from hub.identity import Actor, Role, reply_ingester
from projections.audit.source import log_entries
from projections.erasures import erasure_view
from tests import factories as f
from tests.unit.test_replies import Replies, ingest

ADMIN = Actor("shiken.kanri@city.example", Role.administrator)
HOUKATSU, KODOMO = "moji.houkatsu", "moji.kodomo"


def _erased(app: HubApplication, *, from_discovery: bool = False) -> UUID:
    case_id = uuid4()
    discovery_id = None
    if from_discovery:
        discovery_id = app.execute(f.discovery(ward="moji", person=f.person())).aggregate_ids[0]
    app.execute(
        f.open_case(case_id=case_id, ward="moji", discovery_id=discovery_id, person=f.person())
    )
    app.execute(f.referral(case_id, HOUKATSU, referral_id=uuid4(), occurred_at=f.at(1)))
    app.execute(f.referral(case_id, KODOMO, referral_id=uuid4(), occurred_at=f.at(1)))
    app.erase_person(case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN)
    return case_id


def _confirm(replies: Replies, case_id: UUID, topic_agency: str, claimed: str) -> None:
    record = erasure_confirmation(claimed, str(case_id), str(uuid4()))
    replies.write(topic_agency, codec.encode("ErasureConfirmation", record))


def test_a_confirmation_is_recorded_once_and_names_no_one() -> None:
    app = HubApplication(env={})
    case_id = _erased(app)
    replies = Replies()
    _confirm(replies, case_id, HOUKATSU, HOUKATSU)
    _confirm(replies, case_id, HOUKATSU, HOUKATSU)  # redelivered notice, confirmed again
    ingester, deadletters = ingest(app, replies)
    assert (ingester.report.applied, ingester.report.duplicates) == (1, 1), deadletters.parked
    payloads = [e.payload for e in app.events.get(case_id)]  # type: ignore[attr-defined]
    (confirmed,) = [p for p in payloads if isinstance(p, ev.ErasureConfirmed)]
    assert confirmed.agency_id == HOUKATSU
    assert f.SYNTHETIC_NAME not in confirmed.model_dump_json()
    (erasure,) = erasure_view(log_entries(app)).listed()
    assert erasure.notified == (HOUKATSU, KODOMO) and erasure.pending == (KODOMO,)


def test_another_agencys_confirmation_and_one_for_a_case_not_erased_are_refused() -> None:
    app = HubApplication(env={})
    case_id = _erased(app)
    kept = uuid4()
    app.execute(f.open_case(case_id=kept, ward="moji", person=f.person()))
    replies = Replies()
    _confirm(replies, case_id, HOUKATSU, KODOMO)  # written on houkatsu's topic, naming kodomo
    _confirm(replies, kept, HOUKATSU, HOUKATSU)
    ingester, deadletters = ingest(app, replies)
    assert (ingester.report.applied, ingester.report.rejected) == (0, 2)
    reasons = " ".join(reason for _, reason in deadletters.parked)
    assert "agency_id disagrees" in reasons and "NotErasedError" in reasons
    assert erasure_view(log_entries(app)).listed()[0].pending == (HOUKATSU, KODOMO)


def test_an_agency_the_case_was_never_sent_to_cannot_confirm_its_erasure() -> None:
    """Another ward's agency, on its own topic and naming itself, wrote ErasureConfirmed on a
    case it never held (found by a review session). The ward's coordinator confirms a case
    opened from a discovery (the notice went to it), not one opened from a consultation."""
    app = HubApplication(env={})
    plain, from_discovery = _erased(app), _erased(app, from_discovery=True)
    replies = Replies()
    _confirm(replies, plain, "tobata.houkatsu", "tobata.houkatsu")
    _confirm(replies, plain, "moji.coordinator", "moji.coordinator")
    _confirm(replies, from_discovery, "moji.coordinator", "moji.coordinator")
    ingester, deadletters = ingest(app, replies)
    assert (ingester.report.applied, ingester.report.rejected) == (1, 2), deadletters.parked
    reasons = [reason for _, reason in deadletters.parked]
    assert all(r.startswith("NotToldOfCaseError: ") for r in reasons)
    assert "tobata.houkatsu" in reasons[0] and "moji.coordinator" in reasons[1]

    def confirmed(case_id: UUID) -> list[str]:
        payloads = [e.payload for e in app.events.get(case_id)]  # type: ignore[attr-defined]
        return [p.agency_id for p in payloads if isinstance(p, ev.ErasureConfirmed)]

    assert confirmed(plain) == [] and confirmed(from_discovery) == ["moji.coordinator"]


@pytest.mark.parametrize(
    "actor",
    [reply_ingester(KODOMO), ADMIN, Actor("shiken.coordinator", Role.coordinator)],
)
def test_only_the_agencys_own_ingester_confirms(actor: Actor) -> None:
    app = HubApplication(env={})
    case_id = _erased(app)
    with pytest.raises(PermissionDeniedError):
        app.confirm_erasure(case_id, HOUKATSU, f.at(3), actor=actor)


def test_a_case_not_erased_has_nothing_to_confirm() -> None:
    app = HubApplication(env={})
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    with pytest.raises(NotErasedError):
        app.confirm_erasure(case_id, HOUKATSU, f.at(3), actor=reply_ingester(HOUKATSU))


def test_the_coordinator_that_received_the_discovery_is_awaited_too() -> None:
    app = HubApplication(env={})
    _erased(app, from_discovery=True)
    (erasure,) = erasure_view(log_entries(app)).listed(pending_only=True)
    assert erasure.pending == ("moji.coordinator", HOUKATSU, KODOMO)


def test_the_message_without_a_zone_is_refused() -> None:
    record = erasure_confirmation(HOUKATSU, str(uuid4()), str(uuid4()))
    record["confirmed_at"] = "2026-12-02T10:00:00"
    value = codec.encode("ErasureConfirmation", record)
    with pytest.raises(BadRecord):
        reply_command(InRecord("replies.moji.houkatsu", 0, 0, value), HOUKATSU)
    record["confirmed_at"] = "2026-12-02T10:00:00+09:00"
    value = codec.encode("ErasureConfirmation", record)
    command = reply_command(InRecord("replies.moji.houkatsu", 0, 0, value), HOUKATSU)
    assert isinstance(command, Confirmation) and command.agency_id == HOUKATSU


@pytest.mark.parametrize(
    "confirmed_at",
    [
        "9999-12-31T23:59:59-09:00",  # overflows once read in JST
        "0001-01-01T00:00:00+00:00",
        "2026-12-02T10:00:00+23:00",  # no real zone is 23 hours from UTC
        "2099-04-01T10:00:00+09:00",  # far beyond HUB_FUTURE_MARGIN_DAYS
    ],
)
def test_an_implausible_confirmation_time_is_refused_and_nothing_written(confirmed_at: str) -> None:
    # The time becomes ErasureConfirmed's occurred_at, in the immutable log: an agency's
    # message must pass the edge's rules as a command does (docs/GUARANTEES.md, poison events).
    app = HubApplication(env={})
    case_id = _erased(app)
    record = erasure_confirmation(HOUKATSU, str(case_id), str(uuid4()))
    record["confirmed_at"] = confirmed_at
    replies = Replies()
    replies.write(HOUKATSU, codec.encode("ErasureConfirmation", record))
    ingester, deadletters = ingest(app, replies)
    assert (ingester.report.applied, ingester.report.rejected) == (0, 1)
    ((_, reason),) = deadletters.parked
    assert reason.startswith("confirmed_at: ") and confirmed_at not in reason
    payloads = [e.payload for e in app.events.get(case_id)]  # type: ignore[attr-defined]
    assert not [p for p in payloads if isinstance(p, ev.ErasureConfirmed)]
