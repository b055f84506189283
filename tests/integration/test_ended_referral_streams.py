"""An agency whose referral ended before the person consented reads nothing personal on its
topic: the consent covers it, but it no longer holds the case for any purpose."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, read_topic, store_settings

pytestmark = pytest.mark.integration

CANCELLED = "moji.inochinet"
DECLINED = "moji.hoiku"
HOLDING = "moji.houkatsu"


def test_a_referral_cancelled_or_declined_before_consent_gets_no_details_on_its_topic(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    provisioned(settings, [CANCELLED, DECLINED, HOLDING])
    case_id, cancelled, declined = uuid4(), uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    for agency, referral_id in [(CANCELLED, cancelled), (DECLINED, declined), (HOLDING, None)]:
        app.execute(f.referral(case_id, agency, referral_id=referral_id, occurred_at=f.at(1)))
    app.execute(
        f.build(
            c.CancelReferral,
            case_id=case_id,
            referral_id=cancelled,
            reason_code="referred_elsewhere",
            occurred_at=f.at(2),
        )
    )
    app.execute(
        f.answer(
            case_id, declined, DECLINED, "declined", reason_code="capacity", occurred_at=f.at(2)
        )
    )
    app.execute(f.consent(case_id, scope=["ward:moji"], occurred_at=f.at(3)))
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(4))
    )
    new_relay(settings, app).drain()
    app.close()

    for agency in (CANCELLED, DECLINED):
        received = read_topic(settings, topics.referrals(settings, agency))
        assert [r.headers["event_type"] for r in received][-2:] == [
            "ConsentGiven",
            "PersonDetailsRecorded",
        ]
        assert {r.headers["basis"] for r in received} == {"none"}
        assert not [r for r in received if f.SYNTHETIC_NAME.encode() in r.raw]
    holding = read_topic(settings, topics.referrals(settings, HOLDING))
    assert [r.headers["basis"] for r in holding if r.schema.endswith("PersonDetailsRecorded")] == [
        "consent",
        "consent",
    ]
