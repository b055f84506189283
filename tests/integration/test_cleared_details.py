"""訂正 by deletion end to end (real broker): a detail the agency was given on a consent is
emptied at the hub, the relay tells the agency, and its client removes it from the inbox's
file; a consent given afterwards delivers the details without it."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from hub import commands as c
from hub.application import HubApplication
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, store_settings
from tests.integration.test_erasure_confirmations import _client

pytestmark = pytest.mark.integration

AGENCY, LATER = "moji.houkatsu", "moji.hoken"


def _inbox_bytes(tmp_path: Path, agency: str) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob(f"{agency}.sqlite*"))


def test_a_cleared_detail_leaves_the_agencys_inbox_and_no_later_basis_sends_it(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [AGENCY, LATER, "moji.coordinator"])
    app = HubApplication(env=settings.eventsourcing_env())
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person(), occurred_at=f.at(0)))
    for agency in (AGENCY, LATER):
        app.execute(f.referral(case_id, agency, referral_id=uuid4(), occurred_at=f.at(1)))
    app.execute(f.consent(case_id, scope=[AGENCY], purposes=["consultation"], occurred_at=f.at(2)))
    relay = new_relay(settings, app)
    relay.drain()
    _client(settings, AGENCY, tmp_path)
    held = _inbox_bytes(tmp_path, AGENCY)
    assert f.SYNTHETIC_ADDRESS.encode() in held and f.SYNTHETIC_NAME.encode() in held

    app.execute(
        f.build(c.ClearPersonDetails, case_id=case_id, fields=["address"], occurred_at=f.at(3))
    )
    app.execute(f.consent(case_id, scope=[LATER], purposes=["consultation"], occurred_at=f.at(4)))
    relay.drain()
    relay.producer.close()
    (referral,) = _client(settings, AGENCY, tmp_path)
    _client(settings, LATER, tmp_path)

    held = _inbox_bytes(tmp_path, AGENCY)
    assert f.SYNTHETIC_ADDRESS.encode() not in held
    assert f.SYNTHETIC_NAME.encode() in held  # the fields not cleared stay
    # The notice is in the inbox as any record of the case, naming no value.
    assert "PersonDetailsCleared" in [d["event_type"] for d in referral["disclosures"]]
    later = _inbox_bytes(tmp_path, LATER)
    assert f.SYNTHETIC_NAME.encode() in later and f.SYNTHETIC_ADDRESS.encode() not in later
    app.close()
