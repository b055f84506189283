"""Leak impact of a real topic: what a leaked copy of an agency's referral topic exposes."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from ops.privacy.leak import from_topic
from projections.audit.leak import assess
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, store_settings

pytestmark = pytest.mark.integration

NAMED = "moji.hoiku"
OTHER = "moji.inochinet"


def test_a_leaked_topic_exposes_what_its_agency_was_given_and_no_more(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    provisioned(settings, [NAMED, OTHER])
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    app.execute(f.referral(case_id, OTHER, occurred_at=f.at(1)))
    app.execute(
        f.emergency(
            case_id,
            agencies=[NAMED],
            data_categories=["identity"],
            sensitive_categories=["health"],
            sensitive_reason="試験: 持病の確認",
            occurred_at=f.at(2),
            expires_at=f.at(5),
        )
    )
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(3))
    )
    new_relay(settings, app).drain()
    app.close()

    named = assess(from_topic(settings, topics.referrals(settings, NAMED)), None, None)
    (person,) = named.people.values()
    assert person.person == str(case_id) and person.sensitive
    assert {"person.name", "person.health"} <= set(person.fields)
    assert "person.address" not in person.fields  # not named in the declaration
    assert [
        t.item[:3] for t in named.thresholds(unlawful=False, property_damage=False) if t.met
    ] == ["第1号"]
    other = assess(from_topic(settings, topics.referrals(settings, OTHER)), None, None)
    assert other.records > 0 and other.people == {}  # notices only: nobody exposed
