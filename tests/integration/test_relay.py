"""The relay against the real broker and both stores: routing and redaction per basis,
disclosures on audit.consent and in the ledger, de-identified analytics."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from uuid import NAMESPACE_URL, uuid4, uuid5

import pytest

from hub import commands as c
from hub import topics
from hub.application import HubApplication
from hub.domain.network import NETWORK_ID
from hub.identity import Actor, Role
from ops import metrics
from ops.wiring import open_ledger, relay_metrics
from producers.deidentify import pseudonym
from producers.governance import GovernanceState, decide, logged
from tests import factories as f
from tests.integration.streams import IMPORTED, new_relay, provisioned, read_topic, store_settings

pytestmark = pytest.mark.integration

CONSENTED = "moji.houkatsu"
STATUTE = "moji.kodomo"
NOTHING = "moji.inochinet"
MEMBER = "moji.hoken"
EMERGENCY = "moji.hoiku"
AGENCIES = [CONSENTED, STATUTE, NOTHING, MEMBER, EMERGENCY]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, kafka_broker: object, tmp_path: Path) -> tuple:
    env = request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env")
    settings = store_settings(request.param, env, tmp_path)
    return settings, HubApplication(env=settings.eventsourcing_env())


def _history(app: HubApplication) -> dict:
    case_id, consent_id = uuid4(), uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()))
    for agency, statute in [(CONSENTED, None), (STATUTE, "児童虐待防止法 第6条"), (NOTHING, None)]:
        app.execute(
            f.referral(case_id, agency, referral_id=uuid4(), statute=statute, occurred_at=f.at(1))
        )
    app.execute(f.meeting([case_id], ward="moji", members=[MEMBER], occurred_at=f.at(2)))
    app.execute(
        f.emergency(
            case_id,
            agencies=[EMERGENCY],
            data_categories=["identity", "health"],
            occurred_at=f.at(2),
            expires_at=f.at(30),
        )
    )
    app.execute(
        f.consent(
            case_id,
            consent_id=consent_id,
            scope=[CONSENTED],
            data_categories=["identity", "contact", "health"],
            purposes=["consultation"],
            occurred_at=f.at(3),
        )
    )
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(4))
    )
    app.execute(f.withdrawal(case_id, consent_id, occurred_at=f.at(5)))
    app.execute(
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(6))
    )
    app.execute(  # after the emergency expired
        f.build(c.RecordPersonDetails, case_id=case_id, person=f.person(), occurred_at=f.at(31))
    )
    return {"case_id": case_id, "consent_id": consent_id}


def _details(settings, agency: str) -> list:  # type: ignore[no-untyped-def]
    received = read_topic(settings, topics.referrals(settings, agency))
    return [r for r in received if r.schema == "PersonDetailsRecorded"]


def test_each_agency_receives_personal_fields_only_on_a_basis_in_force(store: tuple) -> None:
    settings, app = store
    provisioned(settings, AGENCIES)
    ids = _history(app)
    counts = new_relay(settings, app).drain()
    assert counts.events > 0

    delivered, first, second, _ = _details(settings, CONSENTED)
    # The consent came after the referral: the details as they stood then, once, as a record
    # of their own (its id derived from the consent's event), then each later event's.
    assert delivered.headers["basis"] == "consent"
    assert delivered.record["person"]["name"] == f.SYNTHETIC_NAME
    assert delivered.headers["event_id"] == delivered.record["event_id"]
    assert delivered.headers["event_id"] != first.headers["event_id"]
    assert first.record["person"]["name"] == f.SYNTHETIC_NAME
    assert first.record["person"]["health"] == f.SYNTHETIC_HEALTH
    assert first.headers["basis"] == "consent"
    assert first.headers["basis_ref"] == str(ids["consent_id"])
    assert first.key == str(ids["case_id"])
    assert second.record["person"]["name"] is None  # withdrawn before this event
    assert second.headers["basis"] == "none"

    (by_statute, _, _) = _details(settings, STATUTE)
    assert by_statute.record["person"]["name"] == f.SYNTHETIC_NAME
    assert by_statute.record["person"]["address"] == f.SYNTHETIC_ADDRESS
    assert by_statute.record["person"]["health"] is None
    assert by_statute.headers["basis"] == "statute"

    (notice, _, _) = _details(settings, NOTHING)
    assert set(notice.record["person"].values()) == {None}
    assert notice.headers["basis"] == "none"
    assert "person.health:consent|support_meeting" in notice.headers["missing_basis"]
    assert f.SYNTHETIC_NAME.encode() not in notice.raw

    # Taken up by the meeting, or named in the emergency, after the details were recorded:
    # the details as they stood, once, on that basis, then each later event's.
    (on_meeting, by_meeting, _, _) = _details(settings, MEMBER)
    assert on_meeting.headers["basis"] == "support_meeting"
    assert on_meeting.record["person"]["name"] == f.SYNTHETIC_NAME
    assert by_meeting.record["person"]["health"] == f.SYNTHETIC_HEALTH
    assert by_meeting.headers["basis"] == "support_meeting"

    (on_emergency, by_emergency, _, expired) = _details(settings, EMERGENCY)
    assert on_emergency.headers["basis"] == "vital_interest"
    assert on_emergency.record["person"]["health"] is None  # never on vital interest
    assert by_emergency.record["person"]["name"] == f.SYNTHETIC_NAME
    assert by_emergency.record["person"]["address"] is None  # not named in the declaration
    assert by_emergency.record["person"]["health"] is None  # never on vital interest
    assert by_emergency.headers["basis"] == "vital_interest"
    assert expired.record["person"]["name"] is None
    assert expired.headers["basis"] == "none"


def test_every_disclosure_is_on_audit_consent_and_in_the_ledger(store: tuple) -> None:
    settings, app = store
    provisioned(settings, AGENCIES)
    ids = _history(app)
    relay = new_relay(settings, app)
    relay.drain()

    audit = read_topic(settings, topics.audit(settings))
    disclosures = [r.record for r in audit if r.schema == "Disclosure"]
    assert {(d["agency_id"], d["basis"]) for d in disclosures} == {
        (CONSENTED, "consent"),
        (STATUTE, "statute"),
        (MEMBER, "support_meeting"),
        (EMERGENCY, "vital_interest"),
    }
    assert all(d["confidentiality_duty"] == (d["basis"] == "support_meeting") for d in disclosures)
    ledger = open_ledger(settings).disclosures(case_id=str(ids["case_id"]))
    assert sorted(ledger, key=lambda d: d["disclosure_id"]) == sorted(
        disclosures, key=lambda d: d["disclosure_id"]
    )
    # The relay's metrics count the same disclosures by basis, read from the ledger.
    scraped = metrics.registry(*relay_metrics(settings, relay))
    bases = Counter(d["basis"] for d in open_ledger(settings).disclosures())
    assert len(bases) == 4
    for basis, count in bases.items():
        assert scraped.get_sample_value("hub_disclosures_total", {"basis": basis}) == count
    assert scraped.get_sample_value("hub_relay_lag") == 0
    consent_events = {r.schema for r in audit} - {"Disclosure"}
    assert {
        "ConsentGiven",
        "ConsentWithdrawn",
        "EmergencyDeclared",
        "MeetingHeld",
    } <= consent_events
    emergency = next(r for r in audit if r.schema == "EmergencyDeclared")
    assert emergency.record["reason"] is None


def test_analysts_receive_every_case_event_de_identified(store: tuple) -> None:
    settings, app = store
    provisioned(settings, AGENCIES)
    ids = _history(app)
    counts = new_relay(settings, app).drain()

    analytics = read_topic(settings, topics.analytics(settings))
    # Every event but the network's (public reference data the indicators do not count).
    assert len(analytics) == counts.analytics_records == counts.events - len(app.network_events())
    key = settings.pseudonym_key.get_secret_value().encode()
    case_pseudonym = pseudonym(str(ids["case_id"]), key)
    for received in analytics:
        for text in f.SYNTHETIC_STRINGS:
            assert text.encode() not in received.raw
        assert str(ids["case_id"]).encode() not in received.raw
    details = [r for r in analytics if r.schema == "PersonDetailsRecorded"]
    assert {r.record["case_id"] for r in details} == {case_pseudonym}
    assert {r.key for r in details} == {case_pseudonym}


def test_a_relay_failing_between_publish_and_store_loses_nothing_on_restart(store: tuple) -> None:
    settings, app = store
    provisioned(settings, AGENCIES)
    _history(app)

    def crash(position: int) -> None:
        if position > IMPORTED + 6:
            raise RuntimeError("injected crash after publishing, before storing the position")

    first = new_relay(settings, app, batch_size=4, before_store=crash)
    with pytest.raises(RuntimeError):
        first.drain()
    stored = open_ledger(settings).position()
    assert IMPORTED < stored <= IMPORTED + 6

    new_relay(settings, app, batch_size=4).drain()
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    expected = {
        str(uuid5(NAMESPACE_URL, f"/events/{n.originator_id}/{n.originator_version}"))
        for n in notifications
    }
    analytics = read_topic(settings, topics.analytics(settings))
    positions = [int(r.headers["position"]) for r in analytics]
    assert set(positions) == {n.id for n in notifications if n.originator_id != NETWORK_ID}
    assert len(positions) > len(set(positions))  # the failed batch was sent again
    # Records of their own (details delivered when a basis came later) derive their ids from
    # the event that brought the basis.
    expected |= {str(uuid5(NAMESPACE_URL, f"/details-on-basis/{e}")) for e in expected}
    agency = read_topic(settings, topics.referrals(settings, MEMBER))
    assert {r.headers["event_id"] for r in agency} <= expected
    assert {r.record["event_type"] for r in agency} >= {"PersonDetailsRecorded", "TakenUpByMeeting"}
    ledger = open_ledger(settings).disclosures()
    assert len({d["disclosure_id"] for d in ledger}) == len(ledger)
    assert open_ledger(settings).position() == notifications[-1].id


def test_a_relay_retrying_in_process_after_a_failed_batch_sends_it_again(store: tuple) -> None:
    settings, app = store
    provisioned(settings, AGENCIES)
    _history(app)
    failures = iter([RuntimeError("the broker did not take the batch")])

    def fail_once(position: int) -> None:
        if position > IMPORTED + 6:  # a batch past the referral, with disclosures in it
            error = next(failures, None)
            if error is not None:
                raise error

    relay = new_relay(settings, app, batch_size=4, before_store=fail_once)
    with pytest.raises(RuntimeError):
        relay.drain()
    assert IMPORTED < open_ledger(settings).position() <= IMPORTED + 6
    relay.drain()  # the same instance: folds the log again up to the stored position

    notifications = app.recorder.select_notifications(start=1, limit=1000)
    assert open_ledger(settings).position() == notifications[-1].id
    analytics = read_topic(settings, topics.analytics(settings))
    assert {int(r.headers["position"]) for r in analytics} == {
        n.id for n in notifications if n.originator_id != NETWORK_ID
    }
    fresh = GovernanceState()
    expected = set()
    for n in notifications:
        decision = decide(fresh, logged(n.id, app.mapper.to_domain_event(n)))
        expected |= {d["disclosure_id"] for d in decision.disclosures}
    assert relay.state == fresh
    assert expected, "the history discloses something"
    assert {d["disclosure_id"] for d in open_ledger(settings).disclosures()} == expected


def test_replaying_the_same_log_publishes_byte_identical_streams(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    settings = store_settings("sqlite", sqlite_env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    _history(app)
    copy = tmp_path / "replay.sqlite"
    with sqlite3.connect(settings.sqlite_file) as source, sqlite3.connect(copy) as target:
        source.backup(target)  # the same log (WAL included), no relay position yet
    replay = store_settings("sqlite", {"SQLITE_DBNAME": str(copy)}, tmp_path)
    streams = []
    for s in (settings, replay):
        provisioned(s, AGENCIES)
        new_relay(s, HubApplication(env=s.eventsourcing_env())).drain()
        names = [topics.audit(s), topics.analytics(s)]
        names += [topics.referrals(s, a) for a in AGENCIES]
        streams.append([[(r.key, r.headers, r.raw) for r in read_topic(s, name)] for name in names])
    assert streams[0] == streams[1]
    assert all(streams[0])


def test_agencies_and_analysts_never_learn_who_acted_or_who_read(store: tuple) -> None:
    settings, app = store
    provisioned(settings, AGENCIES)
    officer = Actor("試験-officer-0001@city.test", Role.ward_officer, ward="moji")
    reader = Actor("試験-reader-0002@agency.test", Role.member_agency, agency_id=STATUTE)
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="moji", person=f.person()), officer)
    app.execute(
        f.referral(case_id, STATUTE, statute="児童虐待防止法 第6条", occurred_at=f.at(1)), officer
    )
    assert app.read_person(case_id, reader, "statute", "consultation") is not None
    app.execute(f.consent(case_id, scope=[STATUTE], occurred_at=f.at(2)), officer)

    counts = new_relay(settings, app).drain()

    assert counts.position == app.recorder.max_notification_id()
    agency = read_topic(settings, topics.referrals(settings, STATUTE))
    analytics = read_topic(settings, topics.analytics(settings))
    audit = read_topic(settings, topics.audit(settings))
    assert agency and analytics
    # The read goes to no topic at all; the network's import to audit.consent only.
    assert len(analytics) == counts.events - 1 - IMPORTED
    for received in agency + analytics:
        assert received.record["actor"] is None
        assert b"officer-0001" not in received.raw and b"reader-0002" not in received.raw
    (given,) = [r for r in audit if r.schema == "ConsentGiven"]
    assert given.record["actor"] == {"subject": officer.subject, "role": "ward_officer"}
    assert not [r for r in audit if b"reader-0002" in r.raw]
