"""Every view and every indicator on both stores: live, rebuilt, and folded in memory."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from hub import commands as c
from hub.application import HubApplication
from hub.fiscal import JST
from hub.sqldialect import quote
from projections import report
from projections.base import payload_of
from projections.indicator_view import IndicatorsProjection
from projections.indicators import Cut, MemoryIndicators
from projections.runner import (
    PROJECTIONS,
    catch_up,
    catch_up_all,
    open_projection,
    position_of,
    rebuild,
    rebuild_all,
    start_runner,
)
from tests import factories as f

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_env"
    return dict(request.getfixturevalue(name))


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@dataclass
class History:
    case_a: UUID
    case_b: UUID
    answered: UUID
    silent: UUID
    consent: UUID


def seed(app: HubApplication) -> History:
    """A year of synthetic work touching every indicator and every part of case state."""
    run = app.execute
    # Case A: a consultation at a kokurakita window, then more of everything.
    first = f.consultation(occurred_at=jst("2025-04-10T09:00:00"))
    case_a = run(first).aggregate_ids[0]
    run(f.consultation(case_id=case_a, occurred_at=jst("2025-05-01T09:00:00"), person=None))
    run(f.assessment(case_a, occurred_at=jst("2025-05-02T09:00:00")))
    answered = f.referral(case_a, occurred_at=jst("2025-05-03T09:00:00"))
    silent = f.referral(case_a, "hoboku-shakyo", occurred_at=jst("2025-05-03T10:00:00"))
    run(answered)
    run(silent)
    for answer, at in (("received", "2025-05-03T09:30:00"), ("accepted", "2025-05-04T09:00:00")):
        run(f.answer(case_a, answered.referral_id, "kokurakita.hogo", answer, occurred_at=jst(at)))
    run(
        f.build(
            c.EscalateReferral,
            case_id=case_a,
            referral_id=silent.referral_id,
            overdue_minutes=1440,
            occurred_at=jst("2025-05-04T10:00:00"),
        )
    )
    run(
        f.build(
            c.RefuseConsent,
            case_id=case_a,
            consent_id=uuid4(),
            scope=["ward_windows"],
            reason="架空の理由",
            occurred_at=jst("2025-04-20T09:00:00"),
        )
    )
    first_consent = f.consent(case_a, occurred_at=jst("2025-05-05T09:00:00"))
    run(first_consent)
    meeting = f.meeting([case_a], occurred_at=jst("2025-05-06T09:00:00"))
    run(meeting)
    run(f.build(c.MoveToSupportMeeting, case_id=case_a, occurred_at=jst("2025-05-07T09:00:00")))
    run(
        f.build(
            c.DecideSupport,
            case_id=case_a,
            meeting_id=meeting.meeting_id,
            lead_agency="kokurakita.coordinator",
            occurred_at=jst("2025-05-07T10:00:00"),
        )
    )
    run(f.plan(case_a, occurred_at=jst("2025-05-08T09:00:00")))
    run(f.plan(case_a, occurred_at=jst("2025-08-08T09:00:00"), monitoring_date="2025-10-30"))
    run(f.withdrawal(case_a, first_consent.consent_id, occurred_at=jst("2025-09-01T09:00:00")))
    consent = f.consent(
        case_a,
        occurred_at=jst("2025-09-02T09:00:00"),
        valid_from=jst("2025-09-02T09:00:00"),
        valid_until=jst("2026-09-01T00:00:00"),
    )
    run(consent)
    for day in ("2025-05-10", "2025-06-10", "2025-07-10"):
        run(f.visit(case_a, occurred_at=jst(f"{day}T09:00:00")))
    for day in ("2025-05-11", "2025-06-11"):
        run(f.activity(case_a, occurred_at=jst(f"{day}T09:00:00")))
    # Case B in tobata: one consultation each side of the fiscal year's edge (UTC given).
    case_b = uuid4()
    run(f.open_case(case_id=case_b, occurred_at=jst("2025-03-01T09:00:00")))
    for utc in ("2025-03-31T14:59:59+00:00", "2025-03-31T15:00:00+00:00"):
        run(
            f.consultation(
                case_id=case_b,
                window_agency="tobata.houkatsu",
                person=None,
                occurred_at=datetime.fromisoformat(utc),
            )
        )
    # 参加支援 and 地域づくり.
    business = f.build(
        c.RegisterCooperatingBusiness,
        name="架空商店",
        kind="retail",
        ward="tobata",
        occurred_at=jst("2025-04-20T09:00:00"),
    )
    base = f.build(
        c.RegisterCommunityBase,
        name="架空サロン",
        kind="salon",
        ward="tobata",
        occurred_at=jst("2024-10-01T09:00:00"),
    )
    run(business)
    run(base)
    for case, day in ((case_a, "2025-06-01"), (case_a, "2025-09-01"), (case_b, "2025-07-01")):
        run(
            f.build(
                c.MatchParticipation,
                case_id=case,
                place_kind="salon",
                base_id=base.base_id,
                occurred_at=jst(f"{day}T09:00:00"),
            )
        )
    for participants, bodies, day in (
        (12, ["町内会", "社協"], "06-15"),
        (8, ["社協", "NPO"], "07-15"),
    ):
        run(
            f.build(
                c.HoldGathering,
                base_id=base.base_id,
                participants=participants,
                bodies=bodies,
                occurred_at=jst(f"2025-{day}T13:00:00"),
            )
        )
    run(
        f.build(
            c.CloseCase, case_id=case_b, reason="架空の理由", occurred_at=jst("2025-10-01T09:00:00")
        )
    )
    return History(case_a, case_b, answered.referral_id, silent.referral_id, consent.consent_id)


EXPECTED_R7 = {
    "包括的相談支援事業における相談受付件数": 3,
    "参加支援事業の①支援対象者数": 2,
    "参加支援事業の②協力事業者数": 1,
    "地域づくり事業の①拠点数": 1,
    "地域づくり事業の②参加者数": 20,
    "地域づくり事業の③参加機関数": 3,
    "伴走型支援の訪問件数": 3,
    "①支援計画作成件数": 1,
    "②支援に関する活動件数": 2,
    "紹介件数": 2,
    "応答件数": 1,
    "初回応答までの時間 中央値": 30.0,
    "初回応答までの時間 90パーセンタイル": 30.0,
    "クローズドループ率": 0.0,
    "取消件数": 0,
    "完了（解決）件数": 0,
}


def memory_fold(app: HubApplication) -> MemoryIndicators:
    fold = MemoryIndicators.empty()
    for notification in app.recorder.select_notifications(start=None, limit=10_000):
        found = payload_of(app.mapper.to_domain_event(notification))
        if found:
            fold.apply(*found)
    return fold


def test_live_views_show_every_part_of_case_state_and_inboxes(env: dict[str, str]) -> None:
    app = HubApplication(env=env)
    history = seed(app)
    last = app.recorder.max_notification_id()
    with ExitStack() as stack:
        runners = [start_runner(HubApplication, cls, env) for cls in PROJECTIONS.values()]
        for runner in runners:
            stack.enter_context(runner)  # type: ignore[arg-type]
        for runner in runners:
            runner.wait(last, timeout=30)
        # Live: what is recorded while the runners run reaches the views too.
        app.execute(f.visit(history.case_a, occurred_at=jst("2025-11-11T09:00:00")))
        last = app.recorder.max_notification_id()
        for runner in runners:
            runner.wait(last, timeout=30)

    cases = open_projection("case_state", env).view
    a = cases.case(str(history.case_a), jst("2025-10-01T00:00:00"))
    assert a["status"] == "in_support"
    assert a["ward"] == "kokurakita"
    assert a["lead_agency"] == "kokurakita.coordinator"
    assert a["needs"] == ["8050", "hikikomori"]
    assert a["meeting_kind"] == "support"
    assert [m["kind"] for m in a["meetings"]] == ["connection"]
    assert (a["plan_revision"], a["monitoring_date"]) == (2, "2025-10-30")
    assert a["last_visit_at"].startswith("2025-11-11") and a["last_visit_outcome"] == "letter_left"
    assert a["consent_in_force"] == str(history.consent)
    assert [c["state"] for c in a["consents"]] == ["refused", "withdrawn", "given"]
    assert a["consents"][1]["withdrawn_at"].startswith("2025-09-01")
    assert cases.case(str(history.case_a), jst("2026-09-01T00:00:00"))["consent_in_force"] is None
    referrals = {r["referral_id"]: r for r in a["referrals"]}
    assert referrals[str(history.answered)]["status"] == "accepted"
    assert referrals[str(history.answered)]["answered_at"].startswith("2025-05-03T00:30")
    assert a["pending_escalations"] == [str(history.silent)]
    closed = cases.cases(ward="tobata", status="closed")
    assert [r["case_id"] for r in closed] == [str(history.case_b)]
    assert cases.cases(status="in_support")[0]["open_referrals"] == 1

    inbox = open_projection("inbox", env).view
    waiting = inbox.inbox("hoboku-shakyo", unanswered_only=True)
    assert [r["referral_id"] for r in waiting] == [str(history.silent)]
    assert waiting[0]["escalated_at"] is not None
    answers = inbox.answers(str(history.answered))
    assert [r["answer"] for r in answers] == ["received", "accepted"]

    dumped = repr(cases.dump()) + repr(inbox.dump())
    for text in (*f.SYNTHETIC_STRINGS, "架空の理由", "架空の目標", "架空の課題"):
        assert text not in dumped


def test_indicators_live_equal_rebuilt_equal_folded_in_memory(env: dict[str, str]) -> None:
    app = HubApplication(env=env)
    seed(app)
    projections = {name: open_projection(name, env) for name in PROJECTIONS}
    for projection in projections.values():
        catch_up(projection, app, batch_size=1)  # event by event, as live
    live = {name: p.view.dump() for name, p in projections.items()}
    view = projections["indicators"].view
    cut = Cut.of(2025)
    values = {r.indicator: r.value for r in report.from_view(view, cut)}
    assert values == EXPECTED_R7
    r6 = {r.indicator: r.value for r in report.from_view(view, Cut.of(2024))}
    assert (r6["包括的相談支援事業における相談受付件数"], r6["地域づくり事業の①拠点数"]) == (1, 1)
    by_ward = {(r.ward, r.indicator): r.value for r in report.from_view(view, cut, "ward")}
    assert by_ward[("kokurakita", "包括的相談支援事業における相談受付件数")] == 2
    assert by_ward[("tobata", "包括的相談支援事業における相談受付件数")] == 1
    assert by_ward[("tobata", "地域づくり事業の②参加者数")] == 20

    fold = memory_fold(app)
    for by in (None, "ward", "month"):
        for until in (None, datetime(2025, 6, 30).date()):
            cut = Cut.of(2025, until)
            assert report.from_view(view, cut, by) == report.from_memory(fold, cut, by)  # type: ignore[arg-type]

    for name, projection in projections.items():
        rebuild(projection, app, batch_size=7)
        assert projection.view.dump() == live[name], name


def test_one_pass_over_the_log_feeds_views_standing_at_different_positions(
    env: dict[str, str],
) -> None:
    app = HubApplication(env=env)
    seed(app)
    total = app.recorder.max_notification_id() or 0
    reference = {name: open_projection(name, env) for name in PROJECTIONS}
    for projection in reference.values():
        rebuild(projection, app)
    expected = {name: projection.view.dump() for name, projection in reference.items()}

    behind = [open_projection(name, env) for name in PROJECTIONS]
    rebuild_all(behind, app, batch_size=4)
    ahead = behind[0]
    ahead.view.drop()
    catch_up_all([ahead], app, batch_size=5)  # only the first view is back at the end
    for projection in behind[1:]:
        projection.view.drop()

    counts = catch_up_all(behind, app, batch_size=6)

    assert counts == {behind[0].name: 0, **{p.name: total for p in behind[1:]}}
    for projection in behind:
        assert projection.view.dump() == expected[projection.name], projection.name
        assert projection.view.max_tracking_id(app.name) == total


def test_a_batch_overlapping_one_applied_by_another_runner_is_refused(env: dict[str, str]) -> None:
    app = HubApplication(env=env)
    seed(app)
    first, second = open_projection("indicators", env), open_projection("indicators", env)
    position_of(first, app.name)

    def pairs(limit: int) -> list[tuple[Any, Tracking]]:
        notifications = app.recorder.select_notifications(start=None, limit=limit)
        return [(app.mapper.to_domain_event(n), Tracking(app.name, n.id)) for n in notifications]

    first.process_batch(pairs(10), after=0)
    with pytest.raises(IntegrityError):
        second.process_batch(pairs(20), after=0)  # would apply events 1-10 a second time
    catch_up(second, app, batch_size=3)
    assert first.view.max_tracking_id(app.name) == app.recorder.max_notification_id()
    cut = Cut.of(2025)
    assert report.from_view(first.view, cut, "month") == report.from_memory(
        memory_fold(app), cut, "month"
    )


def test_runners_catching_up_at_the_same_time_apply_each_event_once(env: dict[str, str]) -> None:
    app = HubApplication(env=env)
    seed(app)
    errors: list[BaseException] = []
    # Opened first: the library's creation of a new tracking table is not safe to race.
    runners = [(open_projection("indicators", env), HubApplication(env=env)) for _ in range(3)]

    def run(index: int) -> None:
        projection, own_app = runners[index]
        try:
            catch_up(projection, own_app, batch_size=index + 2)
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    view = open_projection("indicators", env).view
    cut = Cut.of(2025)
    assert report.from_view(view, cut, "ward") == report.from_memory(memory_fold(app), cut, "ward")


def test_events_applied_already_by_a_batch_are_skipped_by_an_event_runner(
    env: dict[str, str],
) -> None:
    app = HubApplication(env=env)
    seed(app)
    batch, single = open_projection("indicators", env), open_projection("indicators", env)
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    pairs = [(app.mapper.to_domain_event(n), Tracking(app.name, n.id)) for n in notifications]
    batch.process_batch(pairs[:10], after=position_of(batch, app.name))
    for event, tracking in pairs:
        single.process_event(event, tracking)
    cut = Cut.of(2025)
    assert report.from_view(single.view, cut, "month") == report.from_memory(
        memory_fold(app), cut, "month"
    )


def test_reads_catching_up_while_the_live_runner_runs_do_not_disturb_it(
    env: dict[str, str],
) -> None:
    app = HubApplication(env=env)
    history = seed(app)
    reader = open_projection("indicators", env)
    with start_runner(HubApplication, IndicatorsProjection, env) as runner:
        for i in range(12):
            app.execute(f.visit(history.case_a, occurred_at=jst("2025-12-01T09:00:00")))
            catch_up(reader, app, batch_size=1 + i % 3)
        runner.wait(app.recorder.max_notification_id(), timeout=30)
    view = open_projection("indicators", env).view
    cut = Cut.of(2025)
    assert report.from_view(view, cut, "ward") == report.from_memory(memory_fold(app), cut, "ward")


# The queries a person waits on (one case's page, one agency's inbox; a stop of use), each
# for one value: they reach their rows by an index, whatever the size of the views (on the
# 10M log's views, a scan of every referral or consent took 40–100 ms a query).
_BY_INDEX = {
    "case_state": [
        (
            "SELECT * FROM {referrals} WHERE case_id = :k ORDER BY made_at, referral_id",
            "referrals_case",
        ),
        (
            "SELECT * FROM {consents} WHERE case_id = :k ORDER BY recorded_at, consent_id",
            "consents_case",
        ),
        (
            "UPDATE {consents} SET state = 'stopped' WHERE case_id = :k AND state = 'given'",
            "consents_case",
        ),
    ],
    "inbox": [
        (
            "SELECT * FROM {referrals} WHERE agency_id = :k ORDER BY sent_at, referral_id",
            "referrals_agency",
        ),
    ],
}


def _plan(view: Any, sql: str) -> str:
    """How the store would run ``sql`` (on PostgreSQL with scans of whole tables priced out,
    so that an index is used wherever one fits, as it is on a large table)."""
    with view.datastore.transaction(commit=False) as cursor:
        if view.dialect.kind == "postgres":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(view.dialect.sql(f"EXPLAIN {sql}"), {"k": "x"})
            return " ".join(str(row["QUERY PLAN"]) for row in cursor.fetchall())
        cursor.execute(view.dialect.sql(f"EXPLAIN QUERY PLAN {sql}"), {"k": "x"})
        return " ".join(str(row[3]) for row in cursor.fetchall())


@pytest.mark.parametrize("name", sorted(_BY_INDEX))
def test_a_case_and_an_inbox_are_read_by_an_index_also_on_views_made_before_it(
    env: dict[str, str], name: str
) -> None:
    view = open_projection(name, env).view
    prefix = f"{name}_" if view.dialect.kind == "postgres" else ""
    schema = f"{quote(view.dialect.schema)}." if view.dialect.schema else ""
    with view.datastore.transaction(commit=True) as cursor:  # a view made before them
        for index in view.INDEXES:
            cursor.execute(f"DROP INDEX {schema}{view.dialect.index(index)}")
    for sql, index in _BY_INDEX[name]:
        assert f"{prefix}{index}" not in _plan(view, sql)
    projection = open_projection(name, env)  # opened again: it gains them
    view = projection.view
    for sql, index in _BY_INDEX[name]:
        assert f"{prefix}{index}" in _plan(view, sql)
    app = HubApplication(env=env)
    seed(app)
    rebuild(projection, app)  # written without them, then made at the end
    for sql, index in _BY_INDEX[name]:
        plan = _plan(view, sql)
        assert f"{prefix}{index}" in plan, plan
        assert "SCAN referrals" not in plan and "SCAN consents" not in plan, plan
        assert "Seq Scan" not in plan, plan


def test_an_answer_given_again_moves_the_inbox_on_live_and_rebuilt(env: dict[str, str]) -> None:
    """in_progress ⇄ on_hold and back (README: `hub agency ack … in_progress`, "also on_hold,
    and back") answers in_progress a second time: the hub's inbox shows it, quarantines
    nothing, and keeps the first time of each answer; a rebuild gives the same rows."""
    app = HubApplication(env=env)
    case_id = app.execute(f.consultation()).aggregate_ids[0]
    made = f.referral(case_id, "kokurakita.hogo", occurred_at=jst("2025-05-02T09:00:00"))
    app.execute(made)
    steps = ("accepted", "in_progress", "on_hold", "in_progress")
    for day, what in enumerate(steps, start=3):
        at = jst(f"2025-05-0{day}T09:00:00")
        app.execute(f.answer(case_id, made.referral_id, "kokurakita.hogo", what, occurred_at=at))
    projection = open_projection("inbox", env)
    catch_up(projection, app, batch_size=1)
    view = projection.view
    assert view.quarantined() == []
    row = view.referral(str(made.referral_id))
    assert (row["status"], row["answers"]) == ("in_progress", 4)
    answers = view.answers(str(made.referral_id))
    assert [(r["answer"], r["answered_at"][:10]) for r in answers] == [
        ("accepted", "2025-05-03"),
        ("in_progress", "2025-05-04"),
        ("on_hold", "2025-05-05"),
    ]
    live = view.dump()
    for chunk in (1, 100):
        rebuilt = open_projection("inbox", env)
        rebuild_all([rebuilt], app, batch_size=2, fold_chunk=chunk)
        assert rebuilt.view.dump() == live
    app.close()
