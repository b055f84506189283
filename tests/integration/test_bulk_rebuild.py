"""A rebuild from scratch folds the hub's views in memory and writes each once
(``projections.bulk``): the same rows and the same quarantine, on both stores, as applying
each event's statements, for events whose SQL the store refuses (a second row for the same
key, written below the edge) as for the rest."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.domain.case import Case
from hub.domain.others import Target
from projections.base import HubProjection
from projections.bulk import BulkView
from projections.indicators import utc_text
from projections.runner import PROJECTIONS, catch_up_all, open_projection, rebuild_all
from tests import factories as f
from tests.integration.test_projections import History, jst, seed

pytestmark = pytest.mark.integration
LATE_ENTRY_AGENCY, LATE_ENTRY_REFERRAL = "kokurakita.houkatsu", UUID(int=0x1A7E)


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_env"
    return dict(request.getfixturevalue(name))


def events_the_views_refuse(app: HubApplication, history: History) -> None:
    """Below the edge (the aggregate's own event methods): a referral, an answer, a consent
    and a meeting for the second time, then a use stop over the consents given."""
    case = app.get_case(history.case_a)
    at = jst("2025-10-01T09:00:00")
    log = app.recorder.select_notifications(start=None, limit=10_000)
    payloads = [app.mapper.to_domain_event(n).payload for n in log]  # type: ignore[attr-defined]

    def first(kind: type[Any], **match: Any) -> Any:
        return next(
            p
            for p in payloads
            if isinstance(p, kind) and all(getattr(p, k) == v for k, v in match.items())
        )

    case._referral_made(first(ev.ReferralMade, referral_id=history.answered))
    answered = first(ev.ReferralAnswered, referral_id=history.answered, answer="received")
    case._referral_answered(answered)
    case._consent_given(first(ev.ConsentGiven, consent_id=history.consent))
    case._taken_up_by_meeting(first(ev.TakenUpByMeeting, case_id=history.case_a))
    case._use_stop_requested(
        ev.UseStopRequested(
            occurred_at=at + timedelta(days=1), case_id=history.case_a, request_id=uuid4()
        )
    )
    # The answered referral (completed, with its outcome, by then) cancelled: its end again.
    case._referral_cancelled(
        ev.ReferralCancelled(
            occurred_at=at + timedelta(days=2),
            case_id=history.case_a,
            referral_id=history.answered,
            agency_id="kokurakita.hogo",
            reason_code="other",
        )
    )
    app.save(case)
    # Case B opened again in another ward, by an aggregate of another id: a second case row
    # (refused) and the place's ward again (the indicators' upsert takes it).
    opened = first(ev.CaseOpened, case_id=history.case_b).model_copy(
        update={"ward": "yahatahigashi"}
    )
    app.save(Case._create(Case.CaseOpened, id=uuid4(), payload=opened))


def events_touching_earlier_rows(app: HubApplication, history: History) -> None:
    """Events late in the log that change rows made early in it, in every table of the
    three views: counters and earliest/latest columns (a back-dated visit on a day already
    counted, a back-dated participation, a second gathering on a day already counted), needs
    added and replaced, a referral cancelled, one completed with its outcome and one declined
    with its reason, targets
    revised later and earlier."""
    run = app.execute
    log = app.recorder.select_notifications(start=None, limit=10_000)
    payloads = [app.mapper.to_domain_event(n).payload for n in log]  # type: ignore[attr-defined]
    base = next(p for p in payloads if isinstance(p, ev.CommunityBaseRegistered)).base_id
    run(f.visit(history.case_a, outcome="met", occurred_at=jst("2025-05-10T15:00:00")))
    # An answer recorded late (given by phone) dated before the answer recorded first.
    late = f.referral(
        history.case_a,
        LATE_ENTRY_AGENCY,
        referral_id=LATE_ENTRY_REFERRAL,
        occurred_at=jst("2025-05-03T11:00:00"),
    )
    run(late)
    for answer, at in (("received", "2025-05-06T09:00:00"), ("accepted", "2025-05-05T09:00:00")):
        run(
            f.answer(
                history.case_a, LATE_ENTRY_REFERRAL, LATE_ENTRY_AGENCY, answer, occurred_at=jst(at)
            )
        )
    run(f.assessment(history.case_a, needs=["hikikomori", "poverty"], complexity="single_agency"))
    run(f.consultation(case_id=history.case_a, needs=["elderly"], person=None))
    run(
        f.build(
            c.MatchParticipation,
            case_id=history.case_a,
            place_kind="salon",
            base_id=base,
            occurred_at=jst("2025-05-01T09:00:00"),
        )
    )
    run(
        f.build(
            c.HoldGathering,
            base_id=base,
            participants=5,
            bodies=["社協"],
            occurred_at=jst("2025-06-15T18:00:00"),
        )
    )
    run(
        f.build(
            c.CancelReferral,
            case_id=history.case_a,
            referral_id=history.silent,
            reason_code="no_longer_needed",
            occurred_at=jst("2025-08-01T09:00:00"),  # after the referral (BeforeReferralError)
        )
    )
    run(
        f.answer(
            history.case_a,
            history.answered,
            "kokurakita.hogo",
            "completed",
            outcome="resolved",
            occurred_at=jst("2025-09-10T09:00:00"),
        )
    )
    declined = f.referral(history.case_a, "kokurakita.hogo", occurred_at=jst("2025-09-11T09:00:00"))
    run(declined)
    run(
        f.answer(
            history.case_a,
            declined.referral_id,
            "kokurakita.hogo",
            "declined",
            reason_code="capacity",
            occurred_at=jst("2025-09-12T09:00:00"),
        )
    )
    for value, day in ((10.0, "2025-06-01"), (20.0, "2025-07-01"), (30.0, "2025-05-01")):
        at = jst(f"{day}T09:00:00")
        run(
            f.build(
                c.SetTarget,
                fiscal_year=2025,
                indicator="consultations",
                value=value,
                note=f"試験 {value:g}",  # who, when and why follow the target in force
                occurred_at=at,
            )
        )


def by_statements(app: HubApplication, env: dict[str, str]) -> dict[str, Any]:
    projections = [open_projection(name, env) for name in PROJECTIONS]
    for projection in projections:
        projection.view.drop()
    catch_up_all(projections, app, batch_size=3)
    reasons = {p.name: {r["reason"] for r in p.view.quarantined()} for p in projections}
    assert reasons["case_state"] == {"case_state: IntegrityError"}
    assert reasons["inbox"] == {"inbox: IntegrityError"}
    return {p.name: p.view.dump() for p in projections}


def no_statements(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("a rebuild from scratch applied statements")


def rebuilt_equal(
    app: HubApplication, env: dict[str, str], expected: dict[str, Any], **kw: Any
) -> None:
    rebuilt = [open_projection(name, env) for name in PROJECTIONS]
    counts = rebuild_all(rebuilt, app, batch_size=4, **kw)
    total = app.recorder.max_notification_id()
    assert counts == {name: total for name in PROJECTIONS}
    for projection in rebuilt:
        assert projection.view.dump() == expected[projection.name], projection.name
        assert projection.view.max_tracking_id(app.name) == total


def statements_then_none(
    app: HubApplication, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The history written and its views by statements; from then on, no statements."""
    history(app)
    expected = by_statements(app, env)
    monkeypatch.setattr(HubProjection, "process_payloads", no_statements)
    return expected


def history(app: HubApplication) -> None:
    seeded = seed(app)
    events_touching_earlier_rows(app, seeded)
    events_the_views_refuse(app, seeded)


def test_a_rebuild_folds_in_memory_and_writes_what_the_statements_write(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = HubApplication(env=env)
    expected = statements_then_none(app, env, monkeypatch)
    rebuilt_equal(app, env, expected)
    app.close()


def test_the_first_answer_is_the_earliest_given_not_the_first_recorded(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 最初の応答 (the inbox page, `hub inbox`) showed the answer recorded first; the network
    # measure, as COUNTING-RULES.md says, counts from the earliest: the two disagreed.
    app = HubApplication(env=env)
    expected = statements_then_none(app, env, monkeypatch)
    (row,) = [
        r for r in expected["inbox"]["referrals"] if r["referral_id"] == str(LATE_ENTRY_REFERRAL)
    ]
    assert row["first_answer_at"] == utc_text(jst("2025-05-05T09:00:00"))
    assert row["last_answer_at"] == utc_text(jst("2025-05-05T09:00:00"))  # recorded last
    rebuilt_equal(app, env, expected)
    app.close()


def test_a_log_folded_in_chunks_gives_the_rows_and_quarantine_of_the_statements(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk's rows are written and forgotten; a later event that touches one (every
    table: counters, earliest/latest columns, needs, consents stopped, ends, targets) reads
    it back, and a key written twice is refused across a chunk's edge as within one."""
    app = HubApplication(env=env)
    expected = statements_then_none(app, env, monkeypatch)
    total = app.recorder.max_notification_id() or 0
    for chunk in (1, 2, 7, total // 2, total):
        rebuilt_equal(app, env, expected, fold_chunk=chunk)
    app.close()


def test_a_chunk_ends_when_its_folds_hold_many_rows_whatever_its_events(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log with more people at once (a prefecture's) touches more rows per event, and the
    memory grows with the rows held: past ``fold_rows`` of them the chunk ends after its
    batch, however few its events, with the same rows and quarantine as the statements."""
    app = HubApplication(env=env)
    expected = statements_then_none(app, env, monkeypatch)
    total = app.recorder.max_notification_id() or 0
    written: list[int] = []
    write = BulkView.write

    def counted(self: BulkView, tracking: Any) -> None:
        if self.projection.name == "case_state":
            written.append(tracking.notification_id)
        write(self, tracking)

    monkeypatch.setattr(BulkView, "write", counted)
    rebuilt_equal(app, env, expected, fold_chunk=total, fold_rows=10**9)
    assert written == [total]  # neither bound reached before the end
    written.clear()
    rebuilt_equal(app, env, expected, fold_chunk=total, fold_rows=1)
    # After every batch of 4 from the first that holds a row (the network's seed holds none).
    assert len(written) > total / 10
    assert written == [*range(written[0], total, 4), total]
    written.clear()
    rebuilt_equal(app, env, expected, fold_chunk=total, fold_rows=40)
    assert 1 < len(written) < total / 4
    app.close()


def test_a_target_that_is_not_a_number_is_quarantined_by_the_fold_as_by_statements(
    env: dict[str, str],
) -> None:
    """Attacker's edge below the command's checks: a target whose value is NaN (the model's
    float takes it; the stored JSON says NaN). SQLite keeps NaN as NULL, which the targets'
    NOT NULL refuses: the statements quarantine that event. The fold must too, instead of
    failing the whole view's write and leaving the rebuilt views empty."""
    app = HubApplication(env=env)
    seed(app)
    at = jst("2025-06-01T09:00:00")
    target = Target.set(at, fiscal_year=2025, indicator="試験指標", value=float("nan"), note=None)
    app.save(target)
    projections = [open_projection(name, env) for name in PROJECTIONS]
    for projection in projections:
        projection.view.drop()
    catch_up_all(projections, app, batch_size=3)
    quarantined = {r["event_type"] for p in projections for r in p.view.quarantined()}
    assert quarantined == ({"TargetSet"} if "sqlite" in env["PERSISTENCE_MODULE"] else set())
    # repr: PostgreSQL keeps the NaN, and NaN equals nothing, not even itself.
    expected = {p.name: repr(p.view.dump()) for p in projections}
    rebuilt = [open_projection(name, env) for name in PROJECTIONS]
    rebuild_all(rebuilt, app, batch_size=4)
    assert {p.name: repr(p.view.dump()) for p in rebuilt} == expected
    app.close()


def _built_live(app: HubApplication, env: dict[str, str]) -> dict[str, Any]:
    """Each view's rows (its quarantine among them), built event by event from the start."""
    projections = [open_projection(name, env) for name in PROJECTIONS]
    for projection in projections:
        projection.view.drop()
    catch_up_all(projections, app, batch_size=3)
    return {p.name: p.view.dump() for p in projections}


def test_a_fiscal_year_beyond_a_32_bit_column_is_quarantined_alike_on_both_stores(
    env: dict[str, str],
) -> None:
    """Attacker's edge below the command's checks (fiscal years 2019..2100): a target for the
    year 2**31, which PostgreSQL's INTEGER column refuses. Every step keeps it back by the
    screen's rule, the same on both stores, and a rebuild ends with the live views (before,
    on PostgreSQL, the rebuild's bulk insert failed and left the indicators empty)."""
    app = HubApplication(env=env)
    seed(app)
    at = jst("2025-06-01T09:00:00")
    app.save(Target.set(at, fiscal_year=2**31, indicator="試験指標", value=5.0, note=None))
    expected = _built_live(app, env)
    assert [r["reason"] for r in expected["indicators"]["quarantine"]] == [
        "fiscal_year: integer outside 2019..2100"
    ]
    rebuilt_equal(app, env, expected)
    app.close()


def test_an_erasure_does_not_change_what_a_rebuild_keeps_back(env: dict[str, str]) -> None:
    """A case opened (below the edge) with a birth date before 1890: the views keep no
    personal field, so they do not look at it. Whether its key is destroyed (the field
    then reads as erased) never changes what a rebuild writes or keeps back."""
    app = HubApplication(env=env)
    seed(app)
    case_id = uuid4()
    opened = f.open_case(case_id=case_id, ward="tobata", person=f.person())
    app.execute(opened)
    payload = app.events.get(case_id).__next__().payload  # type: ignore[attr-defined]
    other = uuid4()
    old = payload.model_copy(
        update={
            "case_id": other,
            "person": payload.person.model_copy(update={"birth_date": date(1800, 1, 1)}),
        }
    )
    app.save(Case._create(Case.CaseOpened, id=other, payload=old))
    expected = _built_live(app, env)
    app.data_keys.destroy(str(other))
    rebuilt_equal(app, env, expected)
    app.close()


def _an_escalation(app: HubApplication) -> tuple[Any, ev.ReferralEscalated]:
    """The seeded log's first escalated referral, and its case."""
    seed(app)
    log = app.recorder.select_notifications(start=None, limit=10_000)
    payloads = [app.mapper.to_domain_event(n).payload for n in log]  # type: ignore[attr-defined]
    escalated = next(p for p in payloads if isinstance(p, ev.ReferralEscalated))
    return app.get_case(escalated.case_id), escalated


def test_a_nul_character_in_a_text_column_is_quarantined_by_the_fold_as_by_statements(
    env: dict[str, str],
) -> None:
    """Attacker's edge: a text the model takes (any str) with a NUL character, which
    PostgreSQL's text refuses. The statements quarantine the event; the fold must too."""
    app = HubApplication(env=env)
    case, escalated = _an_escalation(app)
    case._referral_escalated(escalated.model_copy(update={"coordinator": "試験\x00架空"}))
    app.save(case)
    projections = [open_projection(name, env) for name in PROJECTIONS]
    for projection in projections:
        projection.view.drop()
    catch_up_all(projections, app, batch_size=3)
    expected = {p.name: p.view.dump() for p in projections}
    rebuilt_equal(app, env, expected)
    app.close()


def test_a_lone_surrogate_in_a_text_column_is_quarantined_by_the_fold_as_by_statements(
    env: dict[str, str],
) -> None:
    """Attacker's edge below the store's API: a stored state whose text holds a lone
    surrogate (``\\ud800``: json reads it, the model takes it, no store encodes it). The
    statements quarantine the event (UnicodeEncodeError); the fold must too."""
    app = HubApplication(env=env)
    case, escalated = _an_escalation(app)
    case._referral_escalated(escalated.model_copy(update={"coordinator": "SURROGATE"}))
    app.save(case)
    last = app.recorder.select_notifications(start=None, limit=10_000)[-1]
    forged = last.state.replace(b"SURROGATE", b"\\ud800")
    postgres = "postgres" in env["PERSISTENCE_MODULE"]
    table = app.recorder.events_table_name
    if postgres:  # the test's own schema, never the search path's
        table = f'"{app.recorder.datastore.schema}"."{table}"'
    mark = "%s" if postgres else "?"
    column = "notification_id" if postgres else "rowid"
    with app.recorder.datastore.transaction(commit=True) as curs:
        curs.execute(
            f"UPDATE {table} SET state = {mark} WHERE {column} = {mark}", (forged, last.id)
        )
    assert app.recorder.select_notifications(start=last.id, limit=1)[0].state == forged
    projections = [open_projection(name, env) for name in PROJECTIONS]
    for projection in projections:
        projection.view.drop()
    catch_up_all(projections, app, batch_size=3)
    assert any(p.view.quarantined() for p in projections), forged
    expected = {p.name: p.view.dump() for p in projections}
    rebuilt_equal(app, env, expected)
    app.close()
