"""Time: ISO timestamps with a zone, fiscal years (April to March) and 和暦 labels.

R7 = 令和7年度 = April 2025 to March 2026. 令和N = Gregorian − 2018; year 1 is 元年.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9), "JST")
REIWA_OFFSET = 2018
# The fiscal years a report may name: the log holds nothing before 2000 (hub/plausible.py)
# and a year past 2100 is a typing slip, not a plan.
FIRST_FY, LAST_FY = 2000, 2100
HEISEI_OFFSET = 1988
_FY_LABEL = re.compile(r"^(R|令和|H|平成)(元|\d{1,2})(?:年度)?$")
# Full-width ASCII (U+FF01..U+FF5E) to ASCII: width only, not NFKC ('²' stays no digit).
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# 平成 ended in its 31st year: its fiscal year 31 (April 2019) is also 令和元年度.
LAST_HEISEI_YEAR = 31


def now() -> datetime:
    return datetime.now(tz=JST)


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must carry a time zone (e.g. 2025-04-01T09:00:00+09:00)")
    return moment


def fiscal_year(moment: datetime | date) -> int:
    """The Gregorian year in which the fiscal year containing ``moment`` (in JST) began."""
    day = moment.astimezone(JST).date() if isinstance(moment, datetime) else moment
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_bounds(fy: int) -> tuple[datetime, datetime]:
    """[start, end) of a fiscal year as JST instants."""
    return datetime(fy, 4, 1, tzinfo=JST), datetime(fy + 1, 4, 1, tzinfo=JST)


def reiwa_label(fy: int, *, long: bool = False) -> str:
    """2025 → 'R7' (or '令和7年度'); 2019 → 'R1' (or '令和元年度'). Earlier fiscal years, which
    the log may hold (from 2000), are in 平成: 2010 → 'H22' (or '平成22年度')."""
    era, short, n = "令和", "R", fy - REIWA_OFFSET
    if n < 1:
        era, short, n = "平成", "H", fy - HEISEI_OFFSET
    if n < 1:
        raise ValueError(f"fiscal year {fy} is before 平成 (1989)")
    if long:
        return f"{era}{'元' if n == 1 else n}年度"
    return f"{short}{n}"


def parse_fiscal_year(label: str) -> int:
    """'R7' (or 'Ｒ７', 'r7'), '令和7年度', '令和元年度' or '2025' → 2025, within
    FIRST_FY..LAST_FY; the 平成 years reports print for earlier years read back too: 'H30',
    '平成30年度' → 2018, and '平成31年度' (April 2019, when 平成 was still in force) → 2019."""
    # As typed with a Japanese input method: full-width letters and digits (Ｒ７), either case.
    text = label.strip().translate(_FULL_WIDTH).upper()
    if text.isdecimal() and len(text) == 4:
        year = int(text)
    else:
        match = _FY_LABEL.match(text)
        if not match:
            raise ValueError(f"not a fiscal year: {label!r} (use R7, 令和7年度 or 2025)")
        n = 1 if match.group(2) == "元" else int(match.group(2))
        heisei = match.group(1) in ("H", "平成")
        if n < 1 or (heisei and n > LAST_HEISEI_YEAR):
            raise ValueError(f"not a fiscal year: {label!r}")
        year = n + (HEISEI_OFFSET if heisei else REIWA_OFFSET)
    if not FIRST_FY <= year <= LAST_FY:
        raise ValueError(f"the fiscal year must lie between {FIRST_FY} and {LAST_FY}")
    return year


def fiscal_month_key(moment: datetime) -> str:
    """'YYYY-MM' of the JST month, for monthly breakdowns."""
    return moment.astimezone(JST).strftime("%Y-%m")


def jst_text(moment: datetime | str | None, *, seconds: bool = False) -> str:
    """A timestamp as people read it here: '2025-05-01 09:00 JST' ('' for none)."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {value.isoformat()!r}")
    try:
        return value.astimezone(JST).strftime(
            "%Y-%m-%d %H:%M:%S JST" if seconds else "%Y-%m-%d %H:%M JST"
        )
    except OverflowError:  # a quarantined event's instant (hub/quarantine.py): as written
        return value.isoformat()


# Fields that hold an instant without ending in ``_at``.
TIME_FIELDS = frozenset({"valid_from", "valid_until", "monitoring_date", "as_of"})


def jst_iso(text: str) -> str:
    """An ISO timestamp with a zone as the same instant in JST ('…+09:00'); a date, a
    value without a zone or one out of range (a quarantined event's) as written."""
    try:
        value = datetime.fromisoformat(text)
        if "T" not in text or value.tzinfo is None:
            return text
        return value.astimezone(JST).isoformat()
    except (ValueError, OverflowError):
        return text


def times_in_jst(value: Any) -> Any:
    """``value`` (JSON: dicts, lists, scalars) with every instant under a key ending in
    ``_at`` or named in ``TIME_FIELDS`` given in JST, so that one answer never mixes zones."""
    if isinstance(value, dict):
        return {
            key: jst_iso(item)
            if isinstance(item, str) and (key.endswith("_at") or key in TIME_FIELDS)
            else times_in_jst(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [times_in_jst(item) for item in value]
    return value


# The eras' first days: a person's birth date may be long before 令和.
ERAS = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 10, 23), "明治"),
)


def _era_year(day: date) -> str:
    """The era in force on ``day`` and its year: 2019-04-30 → '平成31年', 2019-05-01 →
    '令和元年' (the first year of an era is 元年)."""
    for start, era in ERAS:
        if day >= start:
            n = day.year - start.year + 1
            return f"{era}{'元' if n == 1 else n}年"
    raise ValueError(f"{day.isoformat()} is before 明治")


def wareki_month(month: str) -> str:
    """'2025-04' → '令和7年4月' (the era in force on the month's first day)."""
    year, number = (int(part) for part in month.split("-")[:2])
    return f"{_era_year(date(year, number, 1))}{number}月"


def wareki_date(day: date) -> str:
    """2025-12-31 → '令和7年12月31日'; 1950-01-02 → '昭和25年1月2日'."""
    return f"{_era_year(day)}{day.month}月{day.day}日"
