"""Fiscal years (April to March, in JST) and 和暦 labels, at their edges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.fiscal import (
    JST,
    fiscal_year,
    fiscal_year_bounds,
    parse_fiscal_year,
    reiwa_label,
    times_in_jst,
    wareki_date,
    wareki_month,
)


def test_31_march_belongs_to_the_year_before_and_1_april_starts_the_next() -> None:
    assert fiscal_year(datetime(2026, 3, 31, 23, 59, 59, tzinfo=JST)) == 2025
    assert fiscal_year(datetime(2026, 4, 1, 0, 0, tzinfo=JST)) == 2026


def test_a_utc_instant_is_bucketed_by_its_japanese_date() -> None:
    # 2026-03-31T15:30Z is 2026-04-01 00:30 in Kitakyushu.
    assert fiscal_year(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == 2026
    assert fiscal_year(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)) == 2025


def test_dates_are_bucketed_too() -> None:
    assert fiscal_year(date(2025, 4, 1)) == 2025
    assert fiscal_year(date(2025, 3, 31)) == 2024


def test_reiwa_labels_short_and_long_with_gannen() -> None:
    assert reiwa_label(2025) == "R7"
    assert reiwa_label(2025, long=True) == "令和7年度"
    assert reiwa_label(2019, long=True) == "令和元年度"
    assert reiwa_label(2019) == "R1"
    # The log may hold years from 2000 on (hub/plausible.py): earlier years are in 平成.
    assert reiwa_label(2018) == "H30"
    assert reiwa_label(2010, long=True) == "平成22年度"
    assert reiwa_label(1989, long=True) == "平成元年度"
    with pytest.raises(ValueError):
        reiwa_label(1988)


@pytest.mark.parametrize(
    ("label", "year"),
    [
        ("R7", 2025),
        ("令和7年度", 2025),
        ("令和元年度", 2019),
        ("R1", 2019),
        ("2025", 2025),
        # What reports print for years before 令和 reads back (reiwa_label(2018) == "H30").
        ("H30", 2018),
        ("平成22年度", 2010),
        ("平成31年度", 2019),  # April 2019 began in 平成31年
        ("H12", 2000),
        # As a Japanese input method types them: full width, lower case.
        ("Ｒ７", 2025),
        ("ｒ7", 2025),
        ("r7", 2025),
        ("令和７年度", 2025),
        ("Ｈ３０", 2018),
        ("２０２５", 2025),
    ],
)
def test_fiscal_year_labels_parse(label: str, year: int) -> None:
    assert parse_fiscal_year(label) == year


@pytest.mark.parametrize(
    "label",
    [
        "R0",
        "7",
        "令和",
        "",
        "9999",
        "0000",
        "1999",
        "R99",
        "2101",
        "H32",
        "H0",
        "H11",
        "平成元年度",
    ],
)
def test_bad_fiscal_year_labels_are_refused(label: str) -> None:
    with pytest.raises(ValueError):
        parse_fiscal_year(label)


@pytest.mark.parametrize("label", ["202²", "R²", "²⁰²⁵"])
def test_digits_that_are_no_decimal_digits_are_no_fiscal_year(label: str) -> None:
    """'²' is a digit to str.isdigit but no decimal int() can read: the refusal says what a
    fiscal year looks like, not "invalid literal for int()"."""
    with pytest.raises(ValueError, match="not a fiscal year"):
        parse_fiscal_year(label)


def test_bounds_are_half_open_in_jst() -> None:
    start, end = fiscal_year_bounds(2025)
    assert start == datetime(2025, 4, 1, tzinfo=JST)
    assert end == datetime(2026, 4, 1, tzinfo=JST)


def test_wareki_dates_follow_the_era_in_force_on_the_day() -> None:
    # A birth date in a subject's report may be long before 平成.
    assert wareki_date(date(2025, 12, 31)) == "令和7年12月31日"
    assert wareki_date(date(2019, 5, 1)) == "令和元年5月1日"
    assert wareki_date(date(2019, 4, 30)) == "平成31年4月30日"
    assert wareki_date(date(1989, 1, 7)) == "昭和64年1月7日"
    assert wareki_date(date(1950, 1, 2)) == "昭和25年1月2日"
    assert wareki_date(date(1912, 7, 30)) == "大正元年7月30日"
    assert wareki_month("2019-04") == "平成31年4月"
    assert wareki_month("2019-05") == "令和元年5月"
    with pytest.raises(ValueError):
        wareki_date(date(1868, 10, 22))


def test_instants_are_given_in_jst_and_nothing_else_is_touched() -> None:
    answer = {
        "opened_at": "2025-03-31T15:00:00.000000Z",
        "history": [{"occurred_at": "2025-04-01T00:00:00+00:00", "event": "CaseOpened"}],
        "valid_until": "2026-03-31T23:59:59+09:00",
        "monitoring_date": "2025-06-01",  # a day stays a day
        "reason_at": "2025-04-01",
        "broken_at": "9999-12-31T23:59:59-09:00",  # a quarantined event's: as written
        "naive_at": "2025-04-01T09:00:00",  # no zone: not guessed
        "name": "2025-04-01T00:00:00Z",  # not an instant's key
        "count": 3,
    }
    assert times_in_jst(answer) == {
        **answer,
        "opened_at": "2025-04-01T00:00:00+09:00",
        "history": [{"occurred_at": "2025-04-01T09:00:00+09:00", "event": "CaseOpened"}],
    }
