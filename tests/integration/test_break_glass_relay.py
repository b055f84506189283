"""Break-glass through the real broker: the declaration's sensitive category reaches only the
agency it names, only while in force; audit.consent carries the disclosures and the verdicts,
and the review list closes when the coordinator and the auditor have judged."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.identity import Actor, Role
from ops.wiring import ledger_disclosures
from projections.audit.breakglass import review_list
from projections.audit.history import replay
from projections.audit.source import log_entries
from projections.audit.verify import verify
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, read_topic, store_settings

pytestmark = pytest.mark.integration

NAMED = "moji.hoiku"
OTHER = "moji.inochinet"
COORDINATOR = Actor("kakaricho-試験", Role.coordinator, ward="moji")
AUDITOR = Actor("kansa-試験", Role.auditor)


def details(app: HubApplication, case_id: object, day: float) -> None:
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(day))
    )


def test_break_glass_releases_health_to_the_named_agency_and_is_reviewed(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    provisioned(settings, [NAMED, OTHER])
    case_id, declaration = uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    app.execute(f.referral(case_id, OTHER, occurred_at=f.at(1)))
    app.execute(
        f.emergency(
            case_id,
            declaration_id=declaration,
            agencies=[NAMED],
            data_categories=["identity"],
            sensitive_categories=["health"],
            sensitive_reason="意識不明、持病と服薬の確認が必要（試験）",
            occurred_at=f.at(2),
            expires_at=f.at(5),
        )
    )
    details(app, case_id, 3)
    app.execute(f.build(c.EndEmergency, case_id=case_id, declaration_id=declaration))
    details(app, case_id, 4)
    relay = new_relay(settings, app)
    relay.drain()

    received = [
        r.record["person"]
        for r in read_topic(settings, topics.referrals(settings, NAMED))
        if r.schema == "PersonDetailsRecorded"
    ]
    assert [p["health"] for p in received] == [f.SYNTHETIC_HEALTH, f.SYNTHETIC_HEALTH, None]
    assert [p["name"] for p in received] == [f.SYNTHETIC_NAME, f.SYNTHETIC_NAME, None]
    other = read_topic(settings, topics.referrals(settings, OTHER))
    assert other and f.SYNTHETIC_HEALTH.encode() not in b"".join(r.raw for r in other)

    audit = read_topic(settings, topics.audit(settings))
    declared = next(r for r in audit if r.schema == "EmergencyDeclared")
    assert declared.record["sensitive_categories"] == ["health"]
    assert declared.record["sensitive_reason"] is None  # personal: withheld on the topic
    on_topic = [r.record for r in audit if r.schema == "Disclosure"]
    sensitive = [d for d in on_topic if "health" in d["categories"]]
    assert {(d["agency_id"], d["basis"]) for d in sensitive} == {(NAMED, "vital_interest")}

    disclosures = ledger_disclosures(settings)
    history = replay(log_entries(app))
    assert verify(history, disclosures).valid
    (item,) = review_list(history, disclosures)
    assert len(item.disclosures) == len(sensitive) == 2
    assert not item.closed

    for actor, reviewer in ((COORDINATOR, "coordinator"), (AUDITOR, "auditor")):
        app.execute(
            f.build(
                c.ReviewBreakGlass,
                case_id=case_id,
                declaration_id=declaration,
                reviewer=reviewer,
                verdict="justified",
                note="試験: 救急搬送時の確認に必要だった",
                occurred_at=f.at(6),
            ),
            actor=actor,
        )
    relay.drain()
    history = replay(log_entries(app))
    (item,) = review_list(history, ledger_disclosures(settings))
    assert item.closed
    assert {r.reviewed_by for r in item.verdicts.values()} == {
        "kakaricho-試験 (coordinator)",
        "kansa-試験 (auditor)",
    }
    verdicts = [
        r.record["reviewer"]
        for r in read_topic(settings, topics.audit(settings))
        if r.schema == "BreakGlassReviewed"
    ]
    assert verdicts == ["coordinator", "auditor"]
    app.close()
