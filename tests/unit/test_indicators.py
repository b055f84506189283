"""The counting rules of table ④, at their edges, on the pure fold (no store)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

from hub.fiscal import JST
from projections import report
from projections.indicators import (
    INDICATORS,
    Cut,
    MemoryIndicators,
    facts,
    jst_day,
    utc_text,
)

CASE = str(uuid4())
OTHER_CASE = str(uuid4())
BASE = str(uuid4())


def event(kind: str, at: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"occurred_at": at, **fields}


def opened(case: str = CASE, ward: str = "moji") -> tuple[str, dict[str, Any]]:
    return event("CaseOpened", "2024-01-01T09:00:00+09:00", case_id=case, ward=ward)


def consultation(at: str, case: str = CASE, ward: str = "moji") -> tuple[str, dict[str, Any]]:
    return event("ConsultationReceived", at, case_id=case, ward=ward, consultation_id=str(uuid4()))


def fold(*events: tuple[str, dict[str, Any]]) -> MemoryIndicators:
    result = MemoryIndicators.empty()
    for kind, payload in events:
        result.apply(kind, payload)
    return result


def values(
    f: MemoryIndicators, fy: int = 2025, until: date | None = None, by: Any = None
) -> dict[Any, Any]:
    rows = report.from_memory(f, Cut.of(fy, until), by)
    return {(r.ward or r.month or "", r.indicator): r.value for r in rows}


def test_an_event_at_midnight_of_1_april_jst_belongs_to_the_new_fiscal_year() -> None:
    f = fold(opened(), consultation("2026-04-01T00:00:00+09:00"))
    assert values(f, 2026)[("", "相談受付件数")] == 1
    assert values(f, 2025)[("", "相談受付件数")] == 0


def test_an_event_one_second_before_1_april_jst_belongs_to_the_old_fiscal_year() -> None:
    f = fold(opened(), consultation("2026-03-31T23:59:59+09:00"))
    assert values(f, 2025)[("", "相談受付件数")] == 1
    assert values(f, 2026)[("", "相談受付件数")] == 0


def test_utc_timestamps_are_bucketed_by_their_jst_day() -> None:
    # 15:00Z on 31 March is 00:00 JST on 1 April; 14:59:59Z is still 31 March in JST.
    f = fold(
        opened(),
        consultation("2026-03-31T15:00:00Z"),
        consultation("2026-03-31T14:59:59+00:00"),
    )
    assert values(f, 2026)[("", "相談受付件数")] == 1
    assert values(f, 2025)[("", "相談受付件数")] == 1
    assert jst_day(utc_text("2026-03-31T15:00:00Z")) == "2026-04-01"


def test_until_includes_the_whole_jst_day_and_nothing_after() -> None:
    f = fold(
        opened(),
        consultation("2025-12-31T23:59:59.999999+09:00"),
        consultation("2026-01-01T00:00:00+09:00"),
        consultation("2025-12-31T15:30:00Z"),  # 1 January 00:30 JST
    )
    assert values(f, until=date(2025, 12, 31))[("", "相談受付件数")] == 1
    assert values(f, until=date(2026, 1, 1))[("", "相談受付件数")] == 3


def test_until_before_the_fiscal_year_gives_zeros_and_after_it_gives_the_year() -> None:
    f = fold(opened(), consultation("2025-06-01T10:00:00+09:00"))
    assert values(f, until=date(2025, 3, 31))[("", "相談受付件数")] == 0
    assert values(f, until=date(2027, 1, 1))[("", "相談受付件数")] == 1


def test_a_person_matched_twice_in_a_year_is_counted_once_in_the_month_of_the_first() -> None:
    match = "ParticipationMatched"
    f = fold(
        opened(),
        event(match, "2025-09-01T10:00:00+09:00", case_id=CASE, match_id=str(uuid4())),
        event(match, "2025-05-01T10:00:00+09:00", case_id=CASE, match_id=str(uuid4())),
        event(match, "2026-04-02T10:00:00+09:00", case_id=CASE, match_id=str(uuid4())),
    )
    assert values(f)[("", "支援対象者数")] == 1
    assert values(f, 2026)[("", "支援対象者数")] == 1
    monthly = values(f, by="month")
    assert monthly[("2025-05", "支援対象者数")] == 1
    assert monthly[("2025-09", "支援対象者数")] == 0
    assert values(f, until=date(2025, 4, 30))[("", "支援対象者数")] == 0


def test_only_the_first_revision_of_a_plan_counts_as_a_plan_made() -> None:
    plan = {"case_id": CASE, "plan_id": str(uuid4())}
    f = fold(
        opened(),
        event("PlanAgreed", "2025-05-01T10:00:00+09:00", revision=1, **plan),
        event("PlanAgreed", "2025-08-01T10:00:00+09:00", revision=2, **plan),
    )
    assert values(f)[("", "支援計画作成件数")] == 1


def test_stocks_are_cumulative_to_the_cut_and_flows_are_not() -> None:
    f = fold(
        event("CommunityBaseRegistered", "2024-06-01T10:00:00+09:00", base_id=BASE, ward="tobata"),
        event(
            "CooperatingBusinessRegistered", "2025-07-01T10:00:00+09:00", business_id=str(uuid4())
        ),
        event(
            "GatheringHeld",
            "2025-05-10T10:00:00+09:00",
            base_id=BASE,
            gathering_id=str(uuid4()),
            participants=12,
            bodies=["町内会", "社協"],
        ),
        event(
            "GatheringHeld",
            "2025-06-10T10:00:00+09:00",
            base_id=BASE,
            gathering_id=str(uuid4()),
            participants=8,
            bodies=["社協", "NPO"],
        ),
    )
    year = values(f)
    assert year[("", "拠点数")] == 1
    assert year[("", "協力事業者数")] == 1
    assert year[("", "参加者数")] == 20
    assert year[("", "参加機関数")] == 3
    assert values(f, until=date(2025, 6, 30))[("", "協力事業者数")] == 0
    by_ward = values(f, by="ward")
    assert by_ward[("tobata", "参加者数")] == 20
    assert by_ward[("", "協力事業者数")] == 1  # registered without a ward
    monthly = values(f, by="month")
    assert monthly[("2025-04", "拠点数")] == 1  # the stock at the end of each month
    assert monthly[("2025-06", "協力事業者数")] == 0
    assert monthly[("2025-07", "協力事業者数")] == 1
    assert monthly[("2025-05", "参加機関数")] == 2
    assert monthly[("2025-06", "参加機関数")] == 1


def test_case_events_are_counted_in_the_ward_of_the_case() -> None:
    f = fold(
        opened(CASE, "moji"),
        opened(OTHER_CASE, "tobata"),
        event("OutreachVisitMade", "2025-05-01T10:00:00+09:00", case_id=CASE, visit_id="v1"),
        event("OutreachVisitMade", "2025-05-02T10:00:00+09:00", case_id=OTHER_CASE, visit_id="v2"),
        event(
            "SupportActivityRecorded", "2025-05-03T10:00:00+09:00", case_id=CASE, activity_id="a"
        ),
    )
    by_ward = values(f, by="ward")
    assert by_ward[("moji", "訪問件数")] == 1
    assert by_ward[("tobata", "訪問件数")] == 1
    assert by_ward[("moji", "支援に関する活動件数")] == 1


def test_breakdowns_add_up_to_the_year_for_flows_and_distinct_counts() -> None:
    rng = random.Random(7)
    events = [opened(CASE, "moji"), opened(OTHER_CASE, "tobata")]
    start = datetime(2025, 3, 25, tzinfo=JST)
    for i in range(200):
        at = (start + timedelta(hours=rng.randrange(0, 24 * 380))).isoformat()
        case = rng.choice([CASE, OTHER_CASE])
        kind = rng.choice(["OutreachVisitMade", "ParticipationMatched", "ConsultationReceived"])
        payload = {"case_id": case, "visit_id": str(i), "match_id": str(i)}
        if kind == "ConsultationReceived":
            payload["ward"] = "moji" if case == CASE else "tobata"
        events.append(event(kind, at, **payload))
    f = fold(*events)
    year = values(f)
    for by in ("ward", "month"):
        split = values(f, by=by)
        for label in ("訪問件数", "支援対象者数", "相談受付件数"):
            assert sum(v for (_, lbl), v in split.items() if lbl == label) == year[("", label)]


def test_the_result_does_not_depend_on_the_order_of_aggregates() -> None:
    events = [
        opened(CASE, "moji"),
        opened(OTHER_CASE, "tobata"),
        event("ParticipationMatched", "2025-05-01T10:00:00+09:00", case_id=CASE, match_id="m1"),
        event(
            "ParticipationMatched", "2025-06-01T10:00:00+09:00", case_id=OTHER_CASE, match_id="m"
        ),
        event(
            "ReferralMade",
            "2025-05-01T10:00:00+09:00",
            case_id=CASE,
            referral_id="r",
            agency_id="x",
        ),
        event(
            "ReferralAnswered",
            "2025-05-01T10:30:00+09:00",
            case_id=CASE,
            referral_id="r",
            answer="received",
        ),
    ]
    forward = report.from_memory(fold(*events), Cut.of(2025), "ward")
    # Other cases' records may interleave differently on another partition.
    shuffled = [events[1], events[3], events[0], events[2], events[4], events[5]]
    assert report.from_memory(fold(*shuffled), Cut.of(2025), "ward") == forward


def test_network_measures_time_to_first_answer_and_closed_loop() -> None:
    events = [opened()]
    for i, minutes in enumerate([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]):
        sent = datetime(2025, 6, 1, 9, tzinfo=JST) + timedelta(days=i)
        rid = f"r{i}"
        events.append(
            event("ReferralMade", sent.isoformat(), case_id=CASE, referral_id=rid, agency_id="x")
        )
        first = sent + timedelta(minutes=minutes)
        answer = "received"
        events.append(
            event(
                "ReferralAnswered", first.isoformat(), case_id=CASE, referral_id=rid, answer=answer
            )
        )
        if i < 4:
            done = (first + timedelta(days=1)).isoformat()
            events.append(
                event("ReferralAnswered", done, case_id=CASE, referral_id=rid, answer="declined")
            )
    events.append(
        event(
            "ReferralMade",
            "2025-07-01T09:00:00+09:00",
            case_id=CASE,
            referral_id="silent",
            agency_id="x",
        )
    )
    measures = values(fold(*events))
    assert measures[("", "紹介件数")] == 11
    assert measures[("", "応答件数")] == 10
    assert measures[("", "初回応答までの時間 中央値(分)")] == 55.0
    assert measures[("", "初回応答までの時間 90パーセンタイル(分)")] == 90.0
    assert measures[("", "クローズドループ率")] == round(4 / 11, 4)


def test_personal_and_unknown_events_contribute_nothing() -> None:
    assert facts("PersonDetailsRecorded", {"occurred_at": "2025-05-01T00:00:00Z"}) == []
    assert facts("CommandAccepted", {"occurred_at": "2025-05-01T00:00:00Z"}) == []
    assert facts("SomethingNew", {"occurred_at": "2025-05-01T00:00:00Z"}) == []


def test_json_rows_carry_function_indicator_value_and_the_breakdown() -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    rows = json.loads(report.to_json(report.from_memory(f, Cut.of(2025), "ward")))
    assert {
        "function": "包括的相談支援",
        "indicator": "相談受付件数",
        "value": 1,
        "ward": "moji",
    } in rows
    plain = json.loads(report.to_json(report.from_memory(f, Cut.of(2025))))
    assert set(plain[0]) == {"function", "indicator", "value"}
    labels = [(r["function"], r["indicator"]) for r in plain[: len(INDICATORS)]]
    assert labels == [
        ("包括的相談支援", "相談受付件数"),
        ("参加支援", "支援対象者数"),
        ("参加支援", "協力事業者数"),
        ("地域づくりに向けた支援", "拠点数"),
        ("地域づくりに向けた支援", "参加者数"),
        ("地域づくりに向けた支援", "参加機関数"),
        ("アウトリーチ等を通じた継続的支援", "訪問件数"),
        ("多機関協働", "支援計画作成件数"),
        ("多機関協働", "支援に関する活動件数"),
    ]


def test_csv_starts_with_a_byte_order_mark_for_excel() -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    data = report.to_csv(report.from_memory(f, Cut.of(2025), "month"))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0].keys() == {"month", "function", "indicator", "value"}
    assert {
        "month": "2025-05",
        "function": "包括的相談支援",
        "indicator": "相談受付件数",
        "value": "1",
    } in rows


def test_the_monthly_chart_is_written_as_png(tmp_path: Any) -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    path = tmp_path / "trend.png"
    report.chart(report.from_memory(f, Cut.of(2025), "month"), path, "FY2025")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
