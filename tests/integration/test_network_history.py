"""Invariant 7 against the real broker: a network change after a history changes neither
the streams a relay from scratch publishes for that history nor the auditor's verdicts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.settings import Settings
from ops.wiring import kafka_disclosures, kafka_history, ledger_disclosures, log_history
from producers.governance import NETWORK_EVENTS
from projections.audit.verify import verify
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, read_topic, store_settings
from tests.network_changes import NEW_MEMBER, changed, network

pytestmark = pytest.mark.integration

LEAVING = "moji.hoken"  # retired after the history
RENAMED = "moji.houkatsu"
LEAVING_MEMBER = "council-17"  # leaves the council after the history
MEMBER = "moji.kodomo"
AGENCIES = [LEAVING, RENAMED, LEAVING_MEMBER, MEMBER, "moji.coordinator"]
EARLIER = f.at(3.5)  # an instant inside the history, before the change


def _history(app: HubApplication) -> None:
    case_id = uuid4()
    app.execute(f.discovery(ward="moji", occurred_at=f.at(0)))  # to the ward's coordinator
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    for agency in (LEAVING, RENAMED, LEAVING_MEMBER):
        app.execute(f.referral(case_id, agency, occurred_at=f.at(1)))
    app.execute(  # a scope of groups: resolved with the network as of this consent
        f.consent(
            case_id,
            scope=["ward:moji", "council"],
            data_categories=["identity", "contact"],
            purposes=["consultation"],
            occurred_at=f.at(2),
        )
    )
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(3))
    )
    app.execute(f.meeting([case_id], ward="moji", members=[MEMBER], occurred_at=f.at(4)))
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(5))
    )


@pytest.fixture
def before_and_after(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Settings, Settings]]:
    """The same history in two stores; in the second, the network changed after it."""
    before = store_settings("sqlite", sqlite_env, tmp_path)
    app = HubApplication(env=before.eventsourcing_env())
    _history(app)
    app.close()
    copy = tmp_path / "after.sqlite"
    with sqlite3.connect(before.sqlite_file) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    after = store_settings("sqlite", {"SQLITE_DBNAME": str(copy)}, tmp_path)
    app = HubApplication(env=after.eventsourcing_env())
    wanted = changed(
        retire=(LEAVING, LEAVING_MEMBER), rename={RENAMED: "試験 改称後の名称"}, join=(NEW_MEMBER,)
    )
    assert len(app.apply_network(network(wanted), f.at(10))) == 4
    app.close()
    for settings in (before, after):  # each relayed from scratch, on topics of its own
        provisioned(settings, AGENCIES)
        app = HubApplication(env=settings.eventsourcing_env())
        new_relay(settings, app).drain()
        app.close()
    yield before, after


def _streams(settings: Settings) -> dict[str, list[tuple[str, dict[str, str], bytes]]]:
    names = {"analytics": topics.analytics(settings), "audit": topics.audit(settings)}
    names |= {a: topics.referrals(settings, a) for a in AGENCIES}
    return {
        label: [(r.key, r.headers, r.raw) for r in read_topic(settings, topic)]
        for label, topic in names.items()
    }


def _verdicts(settings: Settings) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for source, history, disclosures in (
        ("log", log_history(settings), ledger_disclosures(settings)),
        ("kafka", kafka_history(settings), kafka_disclosures(settings)),
    ):
        verdict = verify(history, disclosures)
        found[source] = {
            "checked": verdict.checked,
            "by_basis": dict(verdict.by_basis),
            "refuted": [r.line() for r in verdict.refuted],
            "unchecked": len(verdict.unchecked),
            "as_of": history.snapshot(EARLIER).view(),
            "as_of_leaving": history.snapshot(EARLIER, agency_id=LEAVING).view(),
            "as_of_leaving_member": history.snapshot(EARLIER, agency_id=LEAVING_MEMBER).view(),
        }
    return found


def test_a_network_change_after_a_history_changes_neither_its_streams_nor_its_verdicts(
    before_and_after: tuple[Settings, Settings],
) -> None:
    before, after = before_and_after
    sent, resent = _streams(before), _streams(after)
    for label in ["analytics", *AGENCIES]:
        assert resent[label] == sent[label], label
    assert all(sent[a] for a in AGENCIES)
    # The chain heads witness where each relay batch ended, not the history: left aside.
    first = [r for r in sent["audit"] if r[1]["event_type"] != "ChainHead"]
    audit = [r for r in resent["audit"] if r[1]["event_type"] != "ChainHead"]
    assert audit[: len(first)] == first
    added = [headers["event_type"] for _, headers, _ in audit[len(first) :]]
    assert sorted(added) == sorted(
        ["AgencyRetired", "CouncilMemberLeft", "AgencyRenamed", "CouncilMemberJoined"]
    )
    assert set(added) <= NETWORK_EVENTS

    verdicts = _verdicts(before)
    assert _verdicts(after) == verdicts
    for source in ("log", "kafka"):
        assert verdicts[source]["refuted"] == [] and verdicts[source]["checked"] > 0
        assert verdicts[source]["by_basis"].get("consent", 0) > 0
        # The consent's group scope covered both leavers when it was given.
        assert verdicts[source]["as_of_leaving"]["consents_in_force"]
        assert verdicts[source]["as_of_leaving_member"]["consents_in_force"]
