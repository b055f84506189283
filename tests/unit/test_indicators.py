"""The counting rules of table ④, at their edges, on the pure fold (no store)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from hub.errors import InvalidCommandError
from hub.fiscal import JST
from hub.labels import names
from projections import chart, report
from projections.indicators import (
    INDICATORS,
    Cut,
    MemoryIndicators,
    facts,
    jst_day,
    utc_text,
)

CASE = str(uuid4())
MAY = "2025-05-01T10:00:00+09:00"
WARDS = names().wards  # code → 区名, in the city's order
CITY_ORDER = ["門司区", "小倉北区", "小倉南区", "若松区", "八幡東区", "八幡西区", "戸畑区"]
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
    assert values(f, 2026)[("", "包括的相談支援事業における相談受付件数")] == 1
    assert values(f, 2025)[("", "包括的相談支援事業における相談受付件数")] == 0


def test_an_event_one_second_before_1_april_jst_belongs_to_the_old_fiscal_year() -> None:
    f = fold(opened(), consultation("2026-03-31T23:59:59+09:00"))
    assert values(f, 2025)[("", "包括的相談支援事業における相談受付件数")] == 1
    assert values(f, 2026)[("", "包括的相談支援事業における相談受付件数")] == 0


def test_utc_timestamps_are_bucketed_by_their_jst_day() -> None:
    # 15:00Z on 31 March is 00:00 JST on 1 April; 14:59:59Z is still 31 March in JST.
    f = fold(
        opened(),
        consultation("2026-03-31T15:00:00Z"),
        consultation("2026-03-31T14:59:59+00:00"),
    )
    assert values(f, 2026)[("", "包括的相談支援事業における相談受付件数")] == 1
    assert values(f, 2025)[("", "包括的相談支援事業における相談受付件数")] == 1
    assert jst_day(utc_text("2026-03-31T15:00:00Z")) == "2026-04-01"


def test_until_includes_the_whole_jst_day_and_nothing_after() -> None:
    f = fold(
        opened(),
        consultation("2025-12-31T23:59:59.999999+09:00"),
        consultation("2026-01-01T00:00:00+09:00"),
        consultation("2025-12-31T15:30:00Z"),  # 1 January 00:30 JST
    )
    assert values(f, until=date(2025, 12, 31))[("", "包括的相談支援事業における相談受付件数")] == 1
    assert values(f, until=date(2026, 1, 1))[("", "包括的相談支援事業における相談受付件数")] == 3


def test_until_before_the_fiscal_year_gives_zeros_and_after_it_gives_the_year() -> None:
    f = fold(opened(), consultation("2025-06-01T10:00:00+09:00"))
    assert values(f, until=date(2025, 3, 31))[("", "包括的相談支援事業における相談受付件数")] == 0
    assert values(f, until=date(2027, 1, 1))[("", "包括的相談支援事業における相談受付件数")] == 1


def test_a_person_matched_twice_in_a_year_is_counted_once_in_the_month_of_the_first() -> None:
    match = "ParticipationMatched"
    f = fold(
        opened(),
        event(match, "2025-09-01T10:00:00+09:00", case_id=CASE, match_id=str(uuid4())),
        event(match, "2025-05-01T10:00:00+09:00", case_id=CASE, match_id=str(uuid4())),
        event(match, "2026-04-02T10:00:00+09:00", case_id=CASE, match_id=str(uuid4())),
    )
    assert values(f)[("", "参加支援事業の①支援対象者数")] == 1
    assert values(f, 2026)[("", "参加支援事業の①支援対象者数")] == 1
    monthly = values(f, by="month")
    assert monthly[("2025-05", "参加支援事業の①支援対象者数")] == 1
    assert monthly[("2025-09", "参加支援事業の①支援対象者数")] == 0
    assert values(f, until=date(2025, 4, 30))[("", "参加支援事業の①支援対象者数")] == 0


def test_only_the_first_revision_of_a_plan_counts_as_a_plan_made() -> None:
    plan = {"case_id": CASE, "plan_id": str(uuid4())}
    f = fold(
        opened(),
        event("PlanAgreed", "2025-05-01T10:00:00+09:00", revision=1, **plan),
        event("PlanAgreed", "2025-08-01T10:00:00+09:00", revision=2, **plan),
    )
    assert values(f)[("", "①支援計画作成件数")] == 1


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
    assert year[("", "地域づくり事業の①拠点数")] == 1
    assert year[("", "参加支援事業の②協力事業者数")] == 1
    assert year[("", "地域づくり事業の②参加者数")] == 20
    assert year[("", "地域づくり事業の③参加機関数")] == 3
    assert values(f, until=date(2025, 6, 30))[("", "参加支援事業の②協力事業者数")] == 0
    by_ward = values(f, by="ward")
    assert by_ward[("tobata", "地域づくり事業の②参加者数")] == 20
    assert by_ward[("", "参加支援事業の②協力事業者数")] == 1  # registered without a ward
    monthly = values(f, by="month")
    assert (
        monthly[("2025-04", "地域づくり事業の①拠点数")] == 1
    )  # the stock at the end of each month
    assert monthly[("2025-06", "参加支援事業の②協力事業者数")] == 0
    assert monthly[("2025-07", "参加支援事業の②協力事業者数")] == 1
    assert monthly[("2025-05", "地域づくり事業の③参加機関数")] == 2
    assert monthly[("2025-06", "地域づくり事業の③参加機関数")] == 1


def test_a_body_typed_in_full_width_or_with_other_spaces_is_counted_once() -> None:
    """The IME types ＮＰＯ and a full-width space; another gathering's record says NPO."""
    gatherings = [
        event(
            "GatheringHeld",
            at,
            base_id=BASE,
            gathering_id=str(uuid4()),
            participants=5,
            bodies=bodies,
        )
        for at, bodies in (
            ("2025-05-10T10:00:00+09:00", ["ＮＰＯ法人　試験会", "NPO法人 試験会"]),
            ("2025-06-10T10:00:00+09:00", [" NPO法人  試験会 ", "試験町内会"]),
        )
    ]
    f = fold(*gatherings)
    assert values(f)[("", "地域づくり事業の③参加機関数")] == 2
    monthly = values(f, by="month")
    assert monthly[("2025-05", "地域づくり事業の③参加機関数")] == 1
    assert monthly[("2025-06", "地域づくり事業の③参加機関数")] == 1


def test_by_ward_lists_the_seven_wards_in_the_citys_order_then_unknown_only_with_figures() -> None:
    f = fold(opened(CASE, "tobata"), consultation(MAY, CASE, ward="tobata"))
    rows = report.from_memory(f, Cut.of(2025), "ward")
    wards = list(dict.fromkeys(r.ward for r in rows))
    assert wards == list(WARDS)  # no 区不明 (nothing there); zeros for the six others
    assert {r.value for r in rows if r.ward == "moji"} == {0}
    with_unknown = fold(opened(CASE, "tobata"), consultation(MAY, CASE, ward=""))
    rows = report.from_memory(with_unknown, Cut.of(2025), "ward")
    assert list(dict.fromkeys(r.ward for r in rows)) == [*WARDS, ""]  # 区不明 last
    labels = [r["ward_label"] for r in json.loads(report.to_json(rows, WARDS))]
    assert list(dict.fromkeys(labels)) == [*CITY_ORDER, "区不明"]


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
    assert by_ward[("moji", "伴走型支援の訪問件数")] == 1
    assert by_ward[("tobata", "伴走型支援の訪問件数")] == 1
    assert by_ward[("moji", "②支援に関する活動件数")] == 1


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
        for label in (
            "伴走型支援の訪問件数",
            "参加支援事業の①支援対象者数",
            "包括的相談支援事業における相談受付件数",
        ):
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
    assert measures[("", "初回応答までの時間 中央値")] == 55.0
    assert measures[("", "初回応答までの時間 90パーセンタイル")] == 90.0
    assert measures[("", "クローズドループ率")] == round(100 * 4 / 11, 1)


def test_personal_and_unknown_events_contribute_nothing() -> None:
    assert facts("PersonDetailsRecorded", {"occurred_at": "2025-05-01T00:00:00Z"}) == []
    assert facts("CommandAccepted", {"occurred_at": "2025-05-01T00:00:00Z"}) == []
    assert facts("SomethingNew", {"occurred_at": "2025-05-01T00:00:00Z"}) == []


def test_json_rows_carry_code_and_label_unit_value_and_the_named_breakdown() -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    rows = json.loads(
        report.to_json(report.from_memory(f, Cut.of(2025), "ward"), {"moji": "門司区"})
    )
    assert {
        "function": "包括的相談支援",
        "code": "consultations",
        "label": "包括的相談支援事業における相談受付件数",
        "unit": "件",
        "value": 1,
        "ward": "moji",
        "ward_label": "門司区",
    } in rows
    plain = json.loads(report.to_json(report.from_memory(f, Cut.of(2025))))
    assert set(plain[0]) == {"function", "code", "label", "unit", "value"}
    labels = [(r["function"], r["label"], r["unit"]) for r in plain[: len(INDICATORS)]]
    assert labels == [
        ("包括的相談支援", "包括的相談支援事業における相談受付件数", "件"),
        ("参加支援", "参加支援事業の①支援対象者数", "人"),
        ("参加支援", "参加支援事業の②協力事業者数", "者"),
        ("地域づくりに向けた支援", "地域づくり事業の①拠点数", "か所"),
        ("地域づくりに向けた支援", "地域づくり事業の②参加者数", "人"),
        ("地域づくりに向けた支援", "地域づくり事業の③参加機関数", "機関"),
        ("アウトリーチ等を通じた継続的支援", "伴走型支援の訪問件数", "回"),
        ("多機関協働", "①支援計画作成件数", "件"),
        ("多機関協働", "②支援に関する活動件数", "回"),
    ]
    rate = next(r for r in plain if r["code"] == "closed_loop")
    assert (rate["label"], rate["unit"]) == ("クローズドループ率", "%")


def test_csv_starts_with_a_byte_order_mark_for_excel_and_labels_every_code() -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    data = report.to_csv(report.from_memory(f, Cut.of(2025), "month"))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == [
        "month",
        "month_label",
        "function",
        "code",
        "label",
        "unit",
        "value",
    ]
    assert {
        "month": "2025-05",
        "month_label": "令和7年5月",
        "function": "包括的相談支援",
        "code": "consultations",
        "label": "包括的相談支援事業における相談受付件数",
        "unit": "件",
        "value": "1",
    } in rows


def test_the_wide_csv_lays_indicators_against_wareki_months_with_the_year_total() -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    cut = Cut.of(2025, date(2025, 6, 30))
    table = report.wide(report.from_memory(f, cut, "month"), report.from_memory(f, cut))
    data = report.to_wide_csv(table, report.title(cut))
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["④ 重層的支援体制整備事業の評価指標 令和7年度（令和7年6月30日まで）"]
    assert lines[1] == [
        "事業",
        "評価指標",
        "単位",
        "令和7年4月",
        "令和7年5月",
        "令和7年6月",
        "年度計（累計）",
    ]
    assert lines[2] == [
        "包括的相談支援",
        "包括的相談支援事業における相談受付件数",
        "件",
        "0",
        "1",
        "0",
        "1",
    ]


def test_the_workbook_has_the_wide_table_and_the_long_data(tmp_path: Any) -> None:
    from openpyxl import load_workbook

    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    cut = Cut.of(2025)
    table = report.wide(report.from_memory(f, cut, "ward"), report.from_memory(f, cut), WARDS)
    path = tmp_path / "r7.xlsx"
    report.to_xlsx(table, report.from_memory(f, cut), report.title(cut), path)
    book = load_workbook(path)
    sheet = book["評価指標"]
    headers = ["事業", "評価指標", "単位", *CITY_ORDER, "年度計（累計）"]
    assert [c.value for c in sheet[2]] == headers
    assert [c.value for c in sheet[3]] == [
        "包括的相談支援",
        "包括的相談支援事業における相談受付件数",
        "件",
        1,  # 門司区
        *([0] * 6),  # the other six wards: zero, not missing
        1,
    ]
    assert book["データ"]["B2"].value == "consultations"


def test_the_chart_draws_one_panel_per_indicator_in_a_japanese_font(tmp_path: Any) -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"))
    path = tmp_path / "trend.png"
    cut = Cut.of(2025, date(2025, 6, 30))
    rows = report.from_memory(f, cut, "month")
    chart.draw(rows, cut, path, report.title(cut))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = chart.figure(rows, cut, report.title(cut)).axes
    assert len(axes) == len(INDICATORS)
    assert axes[0].get_title() == "包括的相談支援事業における相談受付件数（件）"
    line = axes[0].get_lines()[0]
    assert list(line.get_xdata()) == [0, 1, 2]  # April to June: the line stops at the cut
    assert {t.get_fontname() for t in axes[0].get_xticklabels()} == {"IPAexGothic"}


def test_the_chart_by_ward_draws_one_bar_per_ward_in_the_order_of_the_tables() -> None:
    f = fold(opened(), consultation("2025-05-01T10:00:00+09:00"), consultation(MAY, ward=""))
    cut = Cut.of(2025)
    fig = chart.figure(report.from_memory(f, cut, "ward"), cut, "t", WARDS)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [*CITY_ORDER, "区不明"]


def test_a_chart_into_a_missing_folder_is_one_clear_error(tmp_path: Any) -> None:
    f = fold(opened())
    cut = Cut.of(2025)
    with pytest.raises(InvalidCommandError, match="does not exist"):
        chart.draw(report.from_memory(f, cut, "month"), cut, tmp_path / "no" / "c.png", "t")


def test_a_cut_before_1_april_gives_zeros_even_for_stocks() -> None:
    business = event(
        "CooperatingBusinessRegistered", "2025-03-15T10:00:00+09:00", business_id="b", ward="moji"
    )
    f = fold(business)
    assert values(f, 2025, until=date(2025, 3, 31))[("", "参加支援事業の②協力事業者数")] == 0
    assert values(f, 2025, until=date(2025, 4, 1))[("", "参加支援事業の②協力事業者数")] == 1
