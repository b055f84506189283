"""The safety net behind the screen: an event that passes ``hub.quarantine.screen`` but still
cannot be processed (governance refuses it, its SQL fails, its statements raise) is
quarantined by that step alone, with a reason, and the step goes on. A fake producer stands
in for Kafka here; tests/faults/test_poison_events.py runs the real broker and stores."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from hub import codec
from hub import events as ev
from hub.application import HubApplication
from hub.commands import derived_id
from hub.domain.others import Discovery
from hub.quarantine import reason_of, screen
from hub.settings import Settings
from ops.wiring import open_ledger
from producers.relay import Relay
from projections.case_state import CaseStateProjection
from projections.runner import catch_up, open_view, rebuild
from projections.sqlview import Statement
from tests import factories as f
from tests.poison import HUGE, YEAR_9999_WEST, escalated_for_ever


class Sent:
    def get(self, timeout: float = 0) -> None:
        return None


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, bytes]]] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Sent:
        codec.decode(value)  # everything sent is a readable record
        self.sent.append((topic, dict(headers)))
        return Sent()

    def flush(self) -> None:
        return None


@pytest.fixture
def store(tmp_path: Path) -> tuple[Settings, HubApplication]:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    return settings, HubApplication(env=settings.eventsourcing_env())


def discovery_in_no_ward(app: HubApplication) -> None:
    """Passes the screen, but names a ward the network does not have: governance cannot route
    it (it is folded first, so the relay must fold the log again without it)."""
    payload = ev.DiscoveryReported(
        occurred_at=f.T0,
        discovery_id=uuid4(),
        reporter_kind="resident",
        ward="atlantis",
        signs=["mailbox_full"],
        urgency="urgent",
    )
    app.save(Discovery(payload=payload))


def test_the_screen_names_the_field_and_the_rule_never_the_value() -> None:
    payload = ev.OutreachVisitMade(
        occurred_at=YEAR_9999_WEST,
        case_id=uuid4(),
        visit_id=uuid4(),
        agency_id="hoboku-shakyo",
        outcome="met",
    )
    reason = screen(payload)
    assert reason == "occurred_at: instant outside 2000-01-01 .. 2100-01-01 (JST)"
    nested = ev.PersonDetailsRecorded(
        occurred_at=f.T0, case_id=uuid4(), person={"birth_date": "0001-01-01"}
    )
    assert screen(nested) == "person.birth_date: date outside 1890-01-01 .. 2100-01-01"
    # The views keep no personal field: they leave it unlooked at, so an erasure (the field
    # then reads as erased) cannot change what they keep back.
    assert screen(nested, personal=False) is None
    assert screen(nested.model_copy(update={"occurred_at": YEAR_9999_WEST}), personal=False)
    assert screen(f_escalation(HUGE)) == "overdue_minutes: integer outside 0..5260320"
    assert screen(f_escalation(90)) is None
    assert reason_of(ValueError("試験 花子 is not valid"), "inbox") == "inbox: ValueError"


def f_escalation(minutes: int) -> ev.ReferralEscalated:
    return ev.ReferralEscalated(
        occurred_at=f.T0,
        case_id=uuid4(),
        referral_id=uuid4(),
        agency_id="moji.hogo",
        coordinator="moji.coordinator",
        overdue_minutes=minutes,
    )


def test_the_relay_quarantines_what_governance_cannot_route_and_goes_on(
    store: tuple[Settings, HubApplication],
) -> None:
    settings, app = store
    opened = f.consultation(window_agency="moji.houkatsu")
    app.execute(opened)
    case_id = derived_id(opened.command_id, "case_id")
    discovery_in_no_ward(app)
    bad = app.recorder.max_notification_id()
    life = f.referral(case_id, "moji.hoken", urgency="life_at_risk", occurred_at=f.at(1))
    app.execute(life)
    producer = FakeProducer()
    relay = Relay(settings, app, open_ledger(settings), producer, batch_size=3)

    counts = relay.drain()

    assert counts.quarantined == 1
    (kept,) = open_ledger(settings).quarantined()
    assert (kept["position"], kept["event_type"]) == (bad, "DiscoveryReported")
    assert kept["reason"] == "governance: UnknownWardError"
    # Events only: the chain head witnessed with each batch names the position stored.
    positions = {int(h["position"]) for _, h in producer.sent if h["event_type"] != b"ChainHead"}
    assert bad not in positions
    assert max(positions) == app.recorder.max_notification_id()
    referrals = [h for t, h in producer.sent if t.endswith("referrals.moji.hoken")]
    assert b"ReferralMade" in {h["event_type"] for h in referrals}
    # A relay started again folds the log passing over it, and has nothing more to send.
    again = Relay(settings, app, open_ledger(settings), FakeProducer())
    assert again.drain().events == 0


class FailingCaseState(CaseStateProjection):
    """Case state whose change for one kind of event fails: in Python or in SQL."""

    name = "case_state"

    def statements(self, event_type: str, payload: Mapping[str, Any]) -> list[Statement]:
        if event_type == "ReferralMade":
            raise KeyError("purpose")
        if event_type == "ConsultationReceived":
            return [Statement("INSERT INTO {cases} (case_id) VALUES (:x)", {"x": None})]
        return super().statements(event_type, payload)


def test_a_view_quarantines_an_event_whose_change_fails_and_applies_the_rest(
    store: tuple[Settings, HubApplication],
) -> None:
    settings, app = store
    env = settings.eventsourcing_env()
    opened = f.consultation(window_agency="moji.houkatsu")
    app.execute(opened)
    case_id = derived_id(opened.command_id, "case_id")
    app.execute(f.referral(case_id, "moji.hoken"))
    escalated_for_ever(app, case_id, next(iter(app.get_case(case_id).referrals)), f.T0)
    app.execute(f.visit(case_id, occurred_at=f.at(2)))
    projection = FailingCaseState(view=open_view(CaseStateProjection, env))

    applied = catch_up(projection, app)

    assert applied == app.recorder.max_notification_id()
    reasons = {r["event_type"]: r["reason"] for r in projection.view.quarantined()}
    assert reasons == {
        "ReferralMade": "case_state: KeyError",
        "ConsultationReceived": "case_state: IntegrityError",
        "ReferralEscalated": "overdue_minutes: integer outside 0..5260320",
    }
    (case,) = projection.view.cases()
    assert case["visits"] == 1  # the events after the failures were applied
    assert rebuild(projection, app) == applied
    assert len(projection.view.quarantined()) == 3


def test_quarantine_list_json_labels_the_event_type(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub quarantine list --json` is one object a line, and like every JSON output of the
    hub (README, output conventions) each coded field `x` has `x_label` beside it."""
    import json

    from typer.testing import CliRunner

    from ops.cli import quarantine
    from ops.cli.main import app as cli

    row = {
        "step": "relay",
        "position": 5,
        "event_id": str(uuid4()),
        "event_type": "ConsentGiven",
        "aggregate_id": str(uuid4()),
        "reason": "試験",
    }
    monkeypatch.setattr(quarantine, "quarantined", lambda *_args: [dict(row)])
    result = CliRunner().invoke(cli, ["quarantine", "list", "--step", "relay", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    shown = json.loads(line)
    assert shown["event_type"] == "ConsentGiven" and shown["event_type_label"] == "同意"
