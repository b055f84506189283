"""The auditor's own check of every disclosure, against a small fake ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from hub import commands as c
from hub.application import HubApplication
from hub.identity import Actor, Role
from hub.labels import names
from hub.settings import get_settings
from ops.cli.main import app as cli
from ops.wiring import open_ledger
from producers.governance import AUDIT_EVENTS, GovernanceState, decide, logged
from projections.audit import subject
from projections.audit.history import History, replay
from projections.audit.source import log_entries
from projections.audit.verify import Disclosure, check, verify
from tests import audit_scenario as s
from tests import factories as f


@pytest.fixture(scope="module")
def story() -> Iterator[tuple[History, s.Scenario]]:
    app = HubApplication(env={})
    scenario = s.build(app)
    yield replay(log_entries(app)), scenario
    app.close()


def reasons(history: History, record: dict[str, Any]) -> list[str]:
    return check(history, Disclosure.from_record(record))


def test_a_disclosure_under_consent_in_force_is_proven(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    referral = s.event_at(history, "ReferralMade", 1)  # to kokurakita.hoken, before withdrawal
    record = s.disclosure(
        referral, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
    )
    assert reasons(history, record) == []


def test_a_disclosure_after_the_withdrawal_is_refuted(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    late = s.event_at(history, "ReferralMade", 2)  # recorded after the withdrawal
    record = s.disclosure(
        late, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
    )
    assert any("withdrawn" in r for r in reasons(history, record))


def test_a_category_the_consent_does_not_name_is_refuted(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    referral = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(referral, "kokurakita.hoken", "consent", sc.consent_id)
    assert reasons(history, record) == ["the consent does not cover narrative"]


def test_an_agency_outside_the_scope_is_refuted(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    referral = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(
        referral, "hoboku-shakyo", "consent", sc.consent_id, categories=["identity"]
    )
    found = reasons(history, record)
    assert "the consent's scope does not cover hoboku-shakyo" in found


def test_a_member_of_the_connection_meeting_may_receive_sensitive_data(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    visit = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(
        visit, "hoboku-shakyo", "support_meeting", sc.meeting_id, categories=["health"]
    )
    assert reasons(history, record) == []


def test_a_non_member_cannot_rest_on_the_meeting(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    event = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(event, "kokurakita.hoken", "support_meeting", sc.meeting_id)
    assert reasons(history, record) == ["kokurakita.hoken is not a member of the meeting"]


def test_an_emergency_never_carries_sensitive_data(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    event = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(
        event, s.EMERGENCY_AGENCY, "vital_interest", sc.declaration_id, categories=["health"]
    )
    found = reasons(history, record)
    assert any("sensitive" in r for r in found)


def test_an_emergency_disclosure_of_named_categories_is_proven(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    event = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(
        event, s.EMERGENCY_AGENCY, "vital_interest", sc.declaration_id, categories=["contact"]
    )
    assert reasons(history, record) == []


def test_a_statutory_referral_releases_to_the_agency_it_names(story) -> None:  # type: ignore[no-untyped-def]
    history, _ = story
    event = s.event_at(history, "ReferralMade", 2)
    record = s.disclosure(event, "kokurakita.kodomo", "statute", s.STATUTE, categories=["identity"])
    assert reasons(history, record) == []
    other = s.disclosure(event, "kokurakita.hogo", "statute", s.STATUTE, categories=["identity"])
    assert reasons(history, other) != []


def test_a_disclosure_of_an_event_that_is_not_in_the_log_is_refuted(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    event = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(
        event,
        "kokurakita.hogo",
        "vital_interest",
        sc.declaration_id,
        categories=["contact"],
        position=10_000,
    )
    assert reasons(history, record)[0] == "no event at position 10000 of the log"
    moved = s.disclosure(
        event,
        "kokurakita.hogo",
        "vital_interest",
        sc.declaration_id,
        categories=["contact"],
        occurred_at=sc.declared_at.isoformat(),
    )
    assert any("is not the event's" in r for r in reasons(history, moved))


def test_verify_lists_only_the_forged_record(story) -> None:  # type: ignore[no-untyped-def]
    history, sc = story
    event = s.event_at(history, "ReferralMade", 1)
    good = s.disclosure(
        event, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
    )
    forged = s.disclosure(event, "kokurakita.hoken", "vital_interest", sc.declaration_id)
    verdict = verify(history, [Disclosure.from_record(good), Disclosure.from_record(forged)])
    assert verdict.checked == 2 and not verdict.valid
    assert [r.disclosure.disclosure_id for r in verdict.refuted] == [forged["disclosure_id"]]


def test_a_disclosure_after_the_persons_erasure_is_refuted() -> None:
    # The relay forgets the person at PersonErased; the auditor refutes anything later.
    app = HubApplication(env={})
    try:
        sc = s.build(app)
        admin = Actor("shiken.kanri@city.example", Role.administrator)
        app.erase_person(sc.case_id, decided_by="試験 保健福祉局", reason="本人の求め", actor=admin)
        app.execute(f.referral(sc.case_id, "kokurakita.hogo", occurred_at=f.at(9)))
        entries = list(log_entries(app))
    finally:
        app.close()
    history = replay(entries)
    before = s.event_at(history, "ReferralMade", 1)
    after = s.event_at(history, "ReferralMade", -1)
    erased = s.event_at(history, "PersonErased").position
    assert before.position < erased < after.position
    found = {}
    for event in (before, after):
        record = s.disclosure(
            event, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
        )
        found[event.position] = [r for r in reasons(history, record) if "erased" in r]
    assert found == {
        before.position: [],
        after.position: [f"the person of case {sc.case_id} was erased at position {erased}"],
    }
    # The erasure is on audit.consent: an auditor without the log refutes it too, where the
    # event behind it (a referral, not on the topic) would otherwise leave it unchecked.
    topic_only = replay(
        (e for e in entries if type(e.payload).__name__ in AUDIT_EVENTS), complete=False
    )
    record = s.disclosure(
        after, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
    )
    verdict = verify(topic_only, [Disclosure.from_record(record)])
    (refuted,) = verdict.refuted
    assert f"the person of case {sc.case_id} was erased at position {erased}" in refuted.reasons


def _referred_after(app: HubApplication, case_id: Any, day: float) -> None:
    app.execute(f.referral(case_id, "kokurakita.hoken", occurred_at=f.at(day)))


def test_a_meeting_disclosure_after_the_case_moved_to_the_support_meeting_is_refuted() -> None:
    # From the move on the person's consent governs (docs/STREAMS.md): governance no longer
    # releases anything on the つながりづくり会議, so the auditor proves nothing on it either.
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        meeting_id = uuid4()
        app.execute(f.meeting([case_id], meeting_id=meeting_id, occurred_at=f.at(1)))
        app.execute(f.consent(case_id, occurred_at=f.at(2)))
        _referred_after(app, case_id, 3)
        app.execute(f.build(c.MoveToSupportMeeting, case_id=case_id, occurred_at=f.at(4)))
        _referred_after(app, case_id, 5)
        history = replay(log_entries(app))
    finally:
        app.close()
    before, after = [e for e in history.events.values() if e.event_type == "ReferralMade"]
    moved = s.event_at(history, "MovedToSupportMeeting").position

    def meeting_reasons(event: Any) -> list[str]:
        record = s.disclosure(event, "hoboku-shakyo", "support_meeting", meeting_id)
        return reasons(history, record)

    assert meeting_reasons(before) == []
    assert meeting_reasons(after) == [
        f"the case moved to the 重層的支援会議 (position {moved}): from then on consent governs, "
        "not the つながりづくり会議"
    ]


def test_a_statutory_disclosure_after_the_referral_was_cancelled_is_refuted() -> None:
    # A cancelled referral is ended like a declined or completed one: governance stops the
    # statute's release with it.
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        referral_id = uuid4()
        app.execute(
            f.referral(
                case_id,
                "kokurakita.kodomo",
                referral_id=referral_id,
                statute=s.STATUTE,
                occurred_at=f.at(1),
            )
        )
        s.details(app, case_id, 2)
        app.execute(
            f.build(
                c.CancelReferral,
                case_id=case_id,
                referral_id=referral_id,
                reason_code="entered_in_error",
                occurred_at=f.at(3),
            )
        )
        s.details(app, case_id, 4)
        history = replay(log_entries(app))
    finally:
        app.close()
    before, after = [e for e in history.events.values() if e.event_type == "PersonDetailsRecorded"]

    def statute_reasons(event: Any) -> list[str]:
        record = s.disclosure(
            event, "kokurakita.kodomo", "statute", s.STATUTE, categories=["identity"]
        )
        return reasons(history, record)

    assert statute_reasons(before) == []
    assert statute_reasons(after) == ["the statutory referral was declined, completed or cancelled"]


def test_a_consent_disclosure_to_an_agency_whose_referral_was_cancelled_is_refuted() -> None:
    # The consent covers the agency, but a cancelled referral holds the case for nothing.
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        referral_id = uuid4()
        agency = "kokurakita.kodomo"
        refer = f.referral(case_id, agency, referral_id=referral_id, occurred_at=f.at(1))
        app.execute(refer)
        app.execute(f.consent(case_id, scope=[agency], occurred_at=f.at(1)))
        s.details(app, case_id, 2)
        app.execute(
            f.build(
                c.CancelReferral,
                case_id=case_id,
                referral_id=referral_id,
                reason_code="referred_elsewhere",
                occurred_at=f.at(3),
            )
        )
        s.details(app, case_id, 4)
        history = replay(log_entries(app))
        consent_id = next(iter(history.consents.values())).consent_id
    finally:
        app.close()
    _consent_holds_before_and_not_after(history, agency, consent_id)


def test_a_consent_disclosure_for_emergency_response_after_the_emergency_ended_is_refuted() -> None:
    # The agency holds the case for emergency response only while the declaration is in force.
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        agency = "kokurakita.hogo"
        declared = f.emergency(case_id, agencies=[agency], occurred_at=f.at(1), expires_at=f.at(30))
        app.execute(declared)
        purposes = ["emergency_response"]
        app.execute(f.consent(case_id, scope=[agency], purposes=purposes, occurred_at=f.at(1)))
        s.details(app, case_id, 2)
        app.execute(
            f.build(
                c.EndEmergency,
                case_id=case_id,
                declaration_id=declared.declaration_id,
                occurred_at=f.at(3),
            )
        )
        s.details(app, case_id, 4)
        history = replay(log_entries(app))
        consent_id = next(iter(history.consents.values())).consent_id
    finally:
        app.close()
    _consent_holds_before_and_not_after(history, agency, consent_id)


def test_a_record_that_hides_a_fields_category_is_refuted(story) -> None:  # type: ignore[no-untyped-def]
    # The rules judge the categories a record names; its fields must not hold another
    # (health listed as identity would pass the statute's "never sensitive" rule).
    history, _ = story
    event = s.event_at(history, "ReferralMade", 2)
    hidden = s.disclosure(
        event,
        "kokurakita.kodomo",
        "statute",
        s.STATUTE,
        categories=["identity"],
        fields=["person.name", "person.health"],
    )
    assert reasons(history, hidden) == ["its fields hold health, which the record does not name"]
    made_up = s.disclosure(
        event, "kokurakita.kodomo", "statute", s.STATUTE, categories=["identity"], fields=["x"]
    )
    assert reasons(history, made_up) == ["x: not a personal field of the schemas"]


def test_from_audit_consent_alone_a_disclosure_of_an_event_not_on_it_is_never_proven() -> None:
    # An auditor without the log cannot see the referral behind this record: its position,
    # event id and instant (by which the emergency's expiry is judged) are the record's word.
    app = HubApplication(env={})
    try:
        sc = s.build(app)
        entries = list(log_entries(app))
    finally:
        app.close()
    history = replay(entries)
    topic_only = replay(
        (e for e in entries if type(e.payload).__name__ in AUDIT_EVENTS), complete=False
    )
    late = s.event_at(history, "ReferralMade", 2)  # day 7: the emergency expired on day 6
    forged = s.disclosure(
        late,
        s.EMERGENCY_AGENCY,
        "vital_interest",
        sc.declaration_id,
        categories=["contact"],
        occurred_at=f.at(4).isoformat(),  # an instant the declaration still covered
    )
    assert reasons(history, forged) != []  # the log shows the instant is not the event's
    verdict = verify(topic_only, [Disclosure.from_record(forged)])
    assert verdict.valid and len(verdict.unchecked) == 1
    assert "is not on audit.consent" in verdict.unchecked[0].reasons[0]
    declared = s.event_at(history, "EmergencyDeclared")  # on the topic: its record is checked
    shown = s.disclosure(
        declared, s.EMERGENCY_AGENCY, "vital_interest", sc.declaration_id, categories=["contact"]
    )
    verdict = verify(topic_only, [Disclosure.from_record(shown)])
    assert verdict.valid and verdict.unchecked == []


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"occurred_at": "2025-04-14T09:00:00"}, "occurred_at is not an ISO 8601 instant"),
        ({"occurred_at": "昨日"}, "occurred_at is not an ISO 8601 instant"),
        ({"position": "12"}, "position is not an integer"),
        ({"fields": None}, "fields is not a list of texts"),
        ({"categories": "identity"}, "categories is not a list of texts"),
    ],
    ids=["no-zone", "not-a-time", "text-position", "no-fields", "text-categories"],
)
def test_a_malformed_record_is_refuted_and_the_others_still_checked(
    story,  # type: ignore[no-untyped-def]
    override: dict[str, Any],
    why: str,
) -> None:
    # The ledger table is not hash-chained: an edited row must be listed, not stop the check
    # with a traceback (a naive instant cannot even be compared with the log's).
    history, sc = story
    referral = s.event_at(history, "ReferralMade", 1)
    good = s.disclosure(
        referral, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
    )
    edited = {**good, "disclosure_id": str(uuid4()), **override}
    verdict = verify(history, [Disclosure.from_record(good), Disclosure.from_record(edited)])
    assert verdict.checked == 2
    (refuted,) = verdict.refuted
    assert refuted.disclosure.disclosure_id == edited["disclosure_id"]
    assert refuted.reasons[0].startswith(f"malformed record: {why}")


def test_the_subject_report_shows_a_malformed_records_time_as_unknown(story) -> None:  # type: ignore[no-untyped-def]
    # Its instant is no instant: the PDF must still be made (year 1 is before 明治).
    history, sc = story
    referral = s.event_at(history, "ReferralMade", 1)
    record = s.disclosure(
        referral,
        "kokurakita.hoken",
        "consent",
        sc.consent_id,
        categories=["identity"],
        occurred_at="2025-04-14T09:00:00",
    )
    report = subject.build(
        history, [Disclosure.from_record(record)], str(sc.case_id), None, names(), f.at(30)
    )
    (row,) = report.sections[1].rows
    assert row[0] == "不明（提供の記録が不正）"


def test_a_ledger_row_edited_into_broken_json_is_refuted_by_hub_audit_verify(
    cli_store: Path,
) -> None:
    # The ledger table is not hash-chained (docs/AUDIT.md, Limits): an edited row is listed
    # as refuted, and `hub audit verify` still answers in lines, exit 1, no traceback.
    settings = get_settings()
    record = {
        "disclosure_id": str(uuid4()),
        "event_id": str(uuid4()),
        "position": 1,
        "case_id": str(uuid4()),
        "agency_id": "kokurakita.hoken",
        "fields": ["person.name"],
        "categories": ["identity"],
        "basis": "consent",
        "basis_ref": None,
        "confidentiality_duty": False,
        "occurred_at": f.at(1).isoformat(),
    }
    open_ledger(settings).record(1, [record])
    with sqlite3.connect(settings.sqlite_file) as db:
        db.execute("UPDATE disclosures SET fields = '[\"person.name\"' ")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert f"disclosure {record['disclosure_id']}" in result.stderr
    assert "malformed record: fields is not a list of texts" in result.stderr


def test_the_auditor_proves_what_a_relay_discloses_across_an_erasure() -> None:
    # After PersonErased a later event's narrative reads ［消去済み］: nothing personal is
    # left, so a consent covering `narrative` must record no disclosure of it (verify refutes
    # any disclosure after the erasure), whether the relay ran before the erasure or not.
    app = HubApplication(env={})
    state, made, seen = GovernanceState(), [], 0

    def relay() -> None:
        nonlocal seen
        for n in app.recorder.select_notifications(start=seen + 1, limit=10_000):
            made.extend(decide(state, logged(n.id, app.mapper.to_domain_event(n))).disclosures)
            seen = n.id

    try:
        case_id = app.execute(f.consultation(person=f.person())).aggregate_ids[0]
        app.execute(f.referral(case_id, "kokurakita.hoken", occurred_at=f.at(0.5)))
        narrative = ["identity", "contact", "narrative"]
        app.execute(f.consent(case_id, occurred_at=f.at(1), data_categories=narrative))
        app.execute(f.referral(case_id, "kokurakita.hoken", occurred_at=f.at(2)))
        relay()  # a live relay: read while the key existed
        admin = Actor("shiken.kanri@city.example", Role.administrator)
        app.erase_person(case_id, decided_by="試験 保健福祉局", reason="本人の求め", actor=admin)
        app.execute(f.referral(case_id, "kokurakita.hoken", occurred_at=f.at(3)))
        relay()
        history = replay(log_entries(app))
    finally:
        app.close()
    erased = s.event_at(history, "PersonErased").position
    assert made and all(d["position"] < erased for d in made)
    verdict = verify(history, [Disclosure.from_record(d) for d in made])
    assert verdict.valid, [r.line() for r in verdict.refuted]


def _consent_holds_before_and_not_after(history: Any, agency: str, consent_id: str) -> None:
    """The details recorded before the change are consented to the agency; those after are
    refuted: the agency holds the case for no purpose any more."""
    before, after = [e for e in history.events.values() if e.event_type == "PersonDetailsRecorded"]

    def consent_reasons(event: Any) -> list[str]:
        record = s.disclosure(event, agency, "consent", consent_id, categories=["identity"])
        return reasons(history, record)

    assert consent_reasons(before) == []
    assert consent_reasons(after) == [
        f"no purpose {agency} holds the case for (none) is consented to"
    ]


def test_a_disclosure_of_a_detail_emptied_and_not_recorded_again_is_refuted() -> None:
    # 訂正 by deletion: the relay drops the address until a value is recorded again; a
    # disclosure of it in between carried a value the hub no longer held.
    app = HubApplication(env={})
    try:
        sc = s.build(app)
        app.execute(
            f.build(
                c.ClearPersonDetails, case_id=sc.case_id, fields=["address"], occurred_at=f.at(9)
            )
        )
        app.execute(f.referral(sc.case_id, "kokurakita.hogo", occurred_at=f.at(10)))
        s.details(app, sc.case_id, 11)
        history = replay(log_entries(app))
    finally:
        app.close()
    emptied = s.event_at(history, "PersonDetailsCleared").position
    between = s.event_at(history, "ReferralMade", -1)
    again = s.event_at(history, "PersonDetailsRecorded", -1)
    assert emptied < between.position < again.position

    def found(event: Any, categories: list[str]) -> list[str]:
        record = s.disclosure(
            event, "kokurakita.kodomo", "statute", s.STATUTE, categories=categories
        )
        return [r for r in reasons(history, record) if "emptied" in r]

    assert found(between, ["contact"]) == [
        f"person.address of case {sc.case_id} was emptied at position {emptied}"
    ]
    assert found(between, ["identity"]) == []  # the name was not emptied
    assert found(again, ["contact"]) == []  # recorded again: its own value
