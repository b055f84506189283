"""Governance rules: each basis, no basis, withdrawal, expiry, sensitive data, determinism."""

from __future__ import annotations

from uuid import UUID

from hub import codec
from hub import events as ev
from hub.reference.directory import Directory
from producers.deidentify import deidentify, pseudonym
from producers.governance import Decision, GovernanceState, LoggedEvent, decide
from tests.unit.governance_log import (
    ADDRESS,
    HEALTH,
    NAME,
    NOTE,
    Log,
    at,
    consent,
    details,
    emergency,
    ended,
    ident,
    opened,
    person,
    referral,
    taken_up,
    withdrawn,
)

CASE = ident("case-1")
HOUKATSU = "moji.houkatsu"
HOKEN = "moji.hoken"


def run(log: Log) -> list[Decision]:
    """The decisions for the events after the network's import."""
    state = GovernanceState()
    decisions = [decide(state, event) for event in log.events]
    return [d for d in decisions if not Directory.is_network_event(d.event.payload)]


def for_agency(decision: Decision, agency: str) -> dict:
    (match,) = [r for r in decision.agencies if r.agency_id == agency]
    return {"record": match.record, "headers": match.headers(), "released": match.released}


def test_an_agency_receives_a_case_only_from_its_referral_onwards() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    first, second = run(log)
    assert first.agencies == ()
    assert [r.agency_id for r in second.agencies] == [HOUKATSU]


def test_without_a_basis_an_agency_gets_a_notice_saying_what_is_missing() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(details(CASE, 2))
    decisions = run(log)
    notice = for_agency(decisions[2], HOUKATSU)
    assert notice["record"]["person"]["name"] is None
    assert notice["record"]["person"]["health"] is None
    assert notice["record"]["case_id"] == str(CASE)
    assert notice["headers"]["basis"] == "none"
    assert "person.name" in notice["headers"]["withheld"].split(",")
    assert "person.health:consent|support_meeting" in notice["headers"]["missing_basis"]
    assert decisions[2].disclosures == ()


def test_a_notice_does_not_tell_whether_the_person_has_a_criminal_record_or_a_disability() -> None:
    """The headers named only the fields that had a value: a notice listing
    ``person.criminal_record`` told an agency without a basis that one was recorded."""
    with_record = ev.PersonDetailsRecorded(
        occurred_at=at(2), case_id=CASE, person=person(criminal_record="架空", disability="架空")
    )
    notices = []
    for recorded in (with_record, details(CASE, 2)):
        log = Log()
        log.add(opened(CASE))
        log.add(referral(CASE, HOUKATSU, 1))
        log.add(consent(CASE, 1.5, ["ward:moji"], ["identity"]))
        log.add(recorded)
        notices.append(for_agency(run(log)[3], HOUKATSU)["headers"])
    assert notices[0]["withheld"] == notices[1]["withheld"]
    assert notices[0]["missing_basis"] == notices[1]["missing_basis"]
    assert {"person.health", "person.disability", "person.criminal_record"} <= set(
        notices[1]["withheld"].split(",")
    )
    assert "person.name" not in notices[1]["withheld"]  # released on the consent


def test_a_consent_given_after_an_agencys_referral_was_cancelled_or_declined_gives_it_nothing() -> (
    None
):
    """The consent covers both agencies of the ward, but neither holds the case any more:
    one's referral was cancelled before the consent, the other declined it."""
    log = Log()
    log.add(opened(CASE))
    cancelled, declined = referral(CASE, HOUKATSU, 1), referral(CASE, HOKEN, 1)
    log.add(cancelled)
    log.add(declined)
    log.add(
        ev.ReferralCancelled(
            occurred_at=at(2),
            case_id=CASE,
            referral_id=cancelled.referral_id,
            agency_id=HOUKATSU,
            reason_code="referred_elsewhere",
        )
    )
    log.add(
        ev.ReferralAnswered(
            occurred_at=at(2),
            case_id=CASE,
            referral_id=declined.referral_id,
            agency_id=HOKEN,
            answer="declined",
        )
    )
    log.add(consent(CASE, 3, ["ward:moji"], ["identity", "contact"]))
    log.add(details(CASE, 4))
    decisions = run(log)
    given, recorded = decisions[5], decisions[6]
    assert [r.agency_id for r in given.agencies] == [HOKEN, HOUKATSU]  # notices, no delivery
    for decision in (given, recorded):
        assert decision.disclosures == ()
        for record in decision.agencies:
            assert record.released == ()
            person = record.record.get("person") or {}
            assert person.get("name") is None and person.get("address") is None


def test_a_consent_for_emergency_response_ends_for_an_agency_with_the_emergency() -> None:
    """An agency named only by a declaration holds the case for emergency response while
    the declaration is in force: once it ended, or expired, a consent to that purpose
    releases nothing more to it."""
    for end in (ended(CASE, 3), None):
        log = Log()
        log.add(opened(CASE))
        log.add(emergency(CASE, 1, [HOKEN], ["identity"], until=4 if end is None else 100))
        log.add(consent(CASE, 2, [HOKEN], ["identity", "contact"], purposes=["emergency_response"]))
        log.add(details(CASE, 2.5))
        if end is not None:
            log.add(end)
        log.add(details(CASE, 5))
        decisions = run(log)
        during = for_agency(decisions[3], HOKEN)
        assert during["record"]["person"]["address"] == ADDRESS  # on the consent
        after = for_agency(decisions[-1], HOKEN)
        assert after["released"] == ()
        assert after["record"]["person"]["name"] is None


def test_consent_releases_the_categories_it_covers_to_agencies_in_its_scope() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, ["ward:moji"], ["identity", "narrative"]))
    log.add(details(CASE, 3))
    decision = run(log)[3]
    sent = for_agency(decision, HOUKATSU)
    assert sent["record"]["person"]["name"] == NAME
    assert sent["record"]["person"]["address"] is None  # contact not consented
    assert sent["record"]["person"]["health"] is None  # sensitive, not consented
    assert sent["headers"]["basis"] == "consent"
    assert sent["headers"]["basis_ref"] == str(ident(f"{CASE}/c"))
    (disclosure,) = decision.disclosures
    assert disclosure["fields"] == ["person.name"]
    assert disclosure["basis"] == "consent"
    assert disclosure["confidentiality_duty"] is False
    assert disclosure["agency_id"] == HOUKATSU


def test_consent_for_another_purpose_releases_nothing() -> None:
    log = Log()
    log.add(referral(CASE, HOUKATSU, 1, purpose="outreach"))
    log.add(consent(CASE, 2, [HOUKATSU], ["identity"], purposes=["consultation"]))
    log.add(details(CASE, 3))
    assert for_agency(run(log)[2], HOUKATSU)["record"]["person"]["name"] is None


def test_consent_outside_its_scope_releases_nothing() -> None:
    log = Log()
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, ["ward:kokurakita"], ["identity"]))
    log.add(details(CASE, 3))
    assert for_agency(run(log)[2], HOUKATSU)["record"]["person"]["name"] is None


def test_withdrawal_stops_every_later_disclosure_on_that_consent() -> None:
    log = Log()
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, [HOUKATSU], ["identity"]))
    log.add(details(CASE, 3))
    log.add(withdrawn(CASE, 4))
    log.add(details(CASE, 5))
    decisions = run(log)
    assert for_agency(decisions[2], HOUKATSU)["record"]["person"]["name"] == NAME
    after = for_agency(decisions[4], HOUKATSU)
    assert after["record"]["person"]["name"] is None
    assert after["headers"]["basis"] == "none"


def test_an_expired_consent_releases_nothing() -> None:
    log = Log()
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(consent(CASE, 2, [HOUKATSU], ["identity"], until=10))
    log.add(details(CASE, 9))
    log.add(details(CASE, 10))
    decisions = run(log)
    assert for_agency(decisions[2], HOUKATSU)["record"]["person"]["name"] == NAME
    assert for_agency(decisions[3], HOUKATSU)["record"]["person"]["name"] is None


def test_sensitive_fields_need_consent_to_their_category() -> None:
    log = Log()
    log.add(referral(CASE, HOKEN, 1))
    log.add(consent(CASE, 2, [HOKEN], ["identity", "health"]))
    log.add(details(CASE, 3))
    sent = for_agency(run(log)[2], HOKEN)
    assert sent["record"]["person"]["health"] == HEALTH


def test_a_connection_meeting_releases_everything_to_members_under_confidentiality() -> None:
    log = Log()
    log.add(taken_up(CASE, 1, [HOUKATSU, HOKEN]))
    log.add(details(CASE, 2))
    decision = run(log)[1]
    sent = for_agency(decision, HOKEN)
    assert sent["record"]["person"]["health"] == HEALTH
    assert sent["headers"]["basis"] == "support_meeting"
    assert {d["agency_id"] for d in decision.disclosures} == {HOUKATSU, HOKEN}
    assert all(d["confidentiality_duty"] for d in decision.disclosures)


def test_moving_to_the_support_meeting_ends_the_connection_meeting_basis() -> None:
    from hub import events as ev

    log = Log()
    log.add(taken_up(CASE, 1, [HOKEN]))
    log.add(ev.MovedToSupportMeeting(occurred_at=log_time(), case_id=CASE, consent_id=ident("c")))
    log.add(details(CASE, 3))
    sent = for_agency(run(log)[2], HOKEN)
    assert sent["record"]["person"]["name"] is None
    assert sent["headers"]["basis"] == "none"


def test_a_support_meeting_alone_is_not_a_basis() -> None:
    log = Log()
    log.add(taken_up(CASE, 1, [HOUKATSU], kind="support"))
    log.add(details(CASE, 2))
    assert for_agency(run(log)[1], HOUKATSU)["record"]["person"]["name"] is None


def test_vital_interest_releases_named_categories_but_never_sensitive_ones() -> None:
    log = Log()
    log.add(emergency(CASE, 1, [HOUKATSU], ["identity", "contact", "health"], until=5))
    log.add(details(CASE, 2))
    log.add(details(CASE, 6))
    decisions = run(log)
    during = for_agency(decisions[1], HOUKATSU)
    assert during["record"]["person"]["name"] == NAME
    assert during["record"]["person"]["address"] == ADDRESS
    assert during["record"]["person"]["health"] is None
    assert during["headers"]["basis"] == "vital_interest"
    assert for_agency(decisions[2], HOUKATSU)["record"]["person"]["name"] is None


def test_an_ended_emergency_releases_nothing() -> None:
    log = Log()
    log.add(emergency(CASE, 1, [HOUKATSU], ["identity"], until=50))
    log.add(ended(CASE, 2))
    log.add(details(CASE, 3))
    assert for_agency(run(log)[2], HOUKATSU)["record"]["person"]["name"] is None


def test_a_statute_named_on_a_referral_releases_identity_and_contact_only() -> None:
    log = Log()
    log.add(referral(CASE, HOUKATSU, 1, statute="高齢者虐待防止法 第7条"))
    log.add(details(CASE, 2))
    decisions = run(log)
    assert for_agency(decisions[0], HOUKATSU)["record"]["note"] is None
    sent = for_agency(decisions[1], HOUKATSU)
    assert sent["record"]["person"]["name"] == NAME
    assert sent["record"]["person"]["address"] == ADDRESS
    assert sent["record"]["person"]["health"] is None
    assert sent["headers"]["basis_ref"] == "高齢者虐待防止法 第7条"


def test_consent_and_meeting_events_go_to_audit_without_personal_fields() -> None:
    log = Log()
    log.add(emergency(CASE, 1, [HOUKATSU], ["narrative"], until=5))
    decision = run(log)[0]
    assert decision.audit_record is not None
    assert decision.audit_record["reason"] is None
    assert for_agency(decision, HOUKATSU)["record"]["reason"] == NOTE


def test_a_discovery_reaches_the_ward_coordinator_as_a_notice() -> None:
    from hub import events as ev

    log = Log()
    log.add(
        ev.DiscoveryReported(
            occurred_at=log_time(),
            discovery_id=ident("d"),
            reporter_kind="resident",
            ward="moji",
            signs=["odour"],
            urgency="urgent",
            note=NOTE,
        )
    )
    (decision,) = run(log)
    notice = for_agency(decision, "moji.coordinator")
    assert notice["record"]["note"] is None
    assert notice["record"]["urgency"] == "urgent"


def log_time():  # type: ignore[no-untyped-def]
    from tests.unit.governance_log import at

    return at(0)


def _outputs(events: list[LoggedEvent]) -> bytes:
    state = GovernanceState()
    out = bytearray()
    for event in events:
        decision = decide(state, event)
        for record in decision.agencies:
            out += record.agency_id.encode() + repr(sorted(record.headers().items())).encode()
            schema = record.own_event[1] if record.own_event else event.event_type
            out += codec.encode(schema, record.record)
        for disclosure in decision.disclosures:
            out += codec.encode("Disclosure", disclosure)
    return bytes(out)


def test_replaying_the_same_log_gives_byte_identical_outputs() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(taken_up(CASE, 2, [HOKEN]))
    log.add(consent(CASE, 3, [HOUKATSU], ["identity", "contact"]))
    log.add(emergency(CASE, 4, [HOUKATSU, HOKEN], ["identity"], until=8))
    log.add(details(CASE, 5))
    log.add(withdrawn(CASE, 6))
    log.add(details(CASE, 7))
    first = _outputs(log.events)
    assert first == _outputs(log.events)
    assert NAME.encode() in first


def test_deidentified_records_have_no_personal_field_and_stable_pseudonyms() -> None:
    log = Log()
    opened_event = log.add(opened(CASE))
    detail_event = log.add(details(CASE, 1))
    key = b"test-key"
    a = deidentify(opened_event.record, key)
    b = deidentify(detail_event.record, key)
    assert a["person"] == {k: None for k in a["person"]}
    assert a["case_id"] == b["case_id"] == a["aggregate_id"] == pseudonym(str(CASE), key)
    assert a["case_id"] != str(CASE)
    assert UUID(a["event_id"]).version == 8
    assert a["event_id"] != opened_event.record["event_id"]
    assert deidentify(opened_event.record, b"other")["case_id"] != a["case_id"]
    encoded = codec.encode("CaseOpened", a)
    assert NAME.encode() not in encoded
    assert str(CASE).encode() not in encoded


def test_an_escalation_reaches_the_wards_coordinator_as_well_as_the_late_agency() -> None:
    from datetime import timedelta

    from hub import events as ev

    log = Log()
    log.add(opened(CASE))
    made = log.add(referral(CASE, HOUKATSU, 1))
    log.add(
        ev.ReferralEscalated(
            occurred_at=made.payload.occurred_at + timedelta(hours=2),
            case_id=CASE,
            referral_id=made.payload.referral_id,  # type: ignore[attr-defined]
            agency_id=HOUKATSU,
            coordinator="moji.coordinator",
            overdue_minutes=60,
        )
    )
    escalated = run(log)[-1]
    assert [r.agency_id for r in escalated.agencies] == ["moji.coordinator", HOUKATSU]
    assert for_agency(escalated, "moji.coordinator")["record"]["overdue_minutes"] == 60


def test_a_basis_after_the_referral_delivers_the_details_once_as_a_record_of_its_own() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))  # no basis yet: a notice
    log.add(consent(CASE, 3, [HOUKATSU], ["identity", "contact"]))
    log.add(consent(CASE, 4, [HOUKATSU], ["identity", "contact"], label="c"))  # the same again
    decisions = run(log)
    notice = for_agency(decisions[1], HOUKATSU)
    assert notice["released"] == ()
    given = decisions[2]
    (details,) = [r for r in given.agencies if r.own_event is not None]
    assert details.agency_id == HOUKATSU
    assert details.own_event[1] == "PersonDetailsRecorded"  # type: ignore[index]
    assert details.record["person"]["name"] == NAME
    assert details.record["person"]["health"] is None  # sensitive: the consent does not cover it
    assert details.record["event_id"] == details.own_event[0]  # type: ignore[index]
    assert {r.basis for r in details.released} == {"consent"}
    delivered = [d for d in given.disclosures if d["agency_id"] == HOUKATSU]
    assert delivered and all(d["event_id"] == given.event.event_id for d in delivered)
    codec.encode("PersonDetailsRecorded", details.record)
    # Once: the same consent folded again (its id unchanged) owes nothing more.
    assert [r for r in decisions[3].agencies if r.own_event is not None] == []


def test_a_meeting_taking_the_case_up_delivers_the_details_to_its_new_members() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(taken_up(CASE, 2, [HOKEN]))
    (details,) = [r for r in run(log)[1].agencies if r.own_event is not None]
    assert (details.agency_id, details.record["person"]["address"]) == (HOKEN, ADDRESS)
    assert {r.basis for r in details.released} == {"support_meeting"}


def test_a_basis_after_an_erasure_delivers_nothing_the_relay_read_before_it() -> None:
    # A relay running since before the erasure read the person's details while the key still
    # existed; a consent recorded on the erased case must not send them to anyone.
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(
        ev.PersonErased(
            occurred_at=at(2),
            case_id=CASE,
            decided_by="試験 保健福祉局",
            reason="保存期間満了",
            subjects=[str(CASE)],
        )
    )
    log.add(consent(CASE, 3, [HOUKATSU], ["identity", "contact"]))
    after = run(log)[2:]
    sent = repr([r.record for d in after for r in d.agencies])
    assert NAME not in sent and ADDRESS not in sent


def reported_in_moji(found: UUID, note: str | None = None) -> ev.DiscoveryReported:
    """A welfare commissioner's discovery in moji, with the person's name and address."""
    return ev.DiscoveryReported(
        occurred_at=at(0),
        discovery_id=found,
        reporter_kind="welfare_commissioner",
        ward="moji",
        signs=["mailbox_full"],
        urgency="soon",
        note=note,
        person=ev.PersonDetails(name=NAME, address=ADDRESS),
    )


def test_a_discovery_erasure_reaches_the_coordinator_that_received_it_and_no_auditor() -> None:
    log = Log()
    found = ident("discovery-1")
    log.add(reported_in_moji(found, note=NOTE))
    log.add(
        ev.DiscoveryErased(
            occurred_at=at(1),
            discovery_id=found,
            ward="moji",
            decided_by="試験 保健福祉局",
            reason="保存期間満了",
        )
    )
    reported, erased = run(log)
    assert [r.agency_id for r in erased.agencies] == [r.agency_id for r in reported.agencies]
    assert [r.agency_id for r in erased.agencies] == ["moji.coordinator"]
    notice = for_agency(erased, "moji.coordinator")
    assert notice["record"]["discovery_id"] == str(found) and notice["record"]["actor"] is None
    assert erased.audit_record is None and erased.analytics and erased.disclosures == ()
    sent = repr([r.record for r in erased.agencies])
    assert NAME not in sent and ADDRESS not in sent and NOTE not in sent


def test_an_erasure_reaches_the_coordinator_that_received_the_discovery() -> None:
    log = Log()
    found = ident("discovery-1")
    log.add(reported_in_moji(found))
    log.add(
        ev.CaseOpened(
            occurred_at=at(1), case_id=CASE, ward="moji", origin="discovery", discovery_id=found
        )
    )
    log.add(
        ev.PersonErased(
            occurred_at=at(2),
            case_id=CASE,
            decided_by="試験 保健福祉局",
            reason="保存期間満了",
            subjects=[str(CASE), str(found)],
        )
    )
    reported, _, erased = run(log)
    assert [r.agency_id for r in reported.agencies] == ["moji.coordinator"]
    assert "moji.coordinator" in [r.agency_id for r in erased.agencies]


def test_bases_and_their_references_are_listed_in_the_documented_order() -> None:
    # STREAMS.md: consent,support_meeting,statute,vital_interest, whatever field comes first
    # (the name here goes on the meeting, the address on a consent to contact data only).
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOKEN, 1))
    meeting = log.add(taken_up(CASE, 2, [HOKEN])).payload
    given = log.add(consent(CASE, 3, [HOKEN], ["contact"])).payload
    log.add(details(CASE, 4))
    sent = for_agency(run(log)[-1], HOKEN)
    assert [r.basis for r in sent["released"]][:2] == ["support_meeting", "consent"]
    assert sent["headers"]["basis"] == "consent,support_meeting"
    assert sent["headers"]["basis_ref"] == f"{given.consent_id},{meeting.meeting_id}"


def test_a_watch_overs_details_reach_a_watcher_only_on_a_basis_its_frequency_always() -> None:
    """Release 3 of WatchOverArranged: how often is a code every involved agency gets; who
    looks in when and where (a name, a phone number) is the ``note``, personal data
    withheld without a basis for ``narrative`` and released, and disclosed, with one."""

    def arranged(hours: float) -> ev.WatchOverArranged:
        return ev.WatchOverArranged(
            occurred_at=at(hours),
            case_id=CASE,
            watch_id=ident(f"watch-{hours}"),
            watchers=[HOUKATSU],
            frequency="weekly",
            note="毎週月曜 試験花子宅 090-0000-0000",
        )

    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, HOUKATSU, 1))
    log.add(arranged(2))
    log.add(consent(CASE, 3, ["ward:moji"], ["narrative"]))
    log.add(arranged(4))
    decisions = run(log)
    withheld = for_agency(decisions[2], HOUKATSU)
    assert withheld["record"]["frequency"] == "weekly" and withheld["record"]["note"] is None
    assert "note" in withheld["headers"]["withheld"].split(",")
    assert decisions[2].disclosures == ()
    released = for_agency(decisions[4], HOUKATSU)
    assert released["record"]["note"].startswith("毎週月曜")
    assert [d["fields"] for d in decisions[4].disclosures] == [["note"]]
