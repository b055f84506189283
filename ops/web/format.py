"""How the pages show values: JST times with 和暦 dates, labels and names for codes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hub.fiscal import JST, now
from hub.labels import Names, label

# The eras' first days (a person's birth date may be long before 令和).
ERAS = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 10, 23), "明治"),
)


def wareki_date(day: date) -> str:
    """1950-01-02 → '昭和25年1月2日'; the first year of an era is 元年."""
    for start, era in ERAS:
        if day >= start:
            n = day.year - start.year + 1
            return f"{era}{'元' if n == 1 else n}年{day.month}月{day.day}日"
    return day.isoformat()


def wareki_time(moment: datetime | str | None) -> str:
    """'令和7年5月1日 09:00 JST' ('' for none); a string is ISO 8601 with a zone."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    local = value.astimezone(JST)
    return f"{wareki_date(local.date())} {local:%H:%M} JST"


def wareki_day(day: date | str | None) -> str:
    if day is None or day == "":
        return ""
    value = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    return wareki_date(value)


def waited(since: datetime | str | None) -> str:
    """How long something has waited until now: '2日3時間', '45分'."""
    if since is None or since == "":
        return ""
    start = datetime.fromisoformat(since) if isinstance(since, str) else since
    minutes = max(0, int((now() - start).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}日{hours}時間"
    if hours:
        return f"{hours}時間{mins}分"
    return f"{mins}分"


def install(env: Any, names: Names) -> None:
    """Filters and globals for the templates."""
    env.filters["jst"] = wareki_time
    env.filters["day"] = wareki_day
    env.filters["waited"] = waited
    env.filters["label"] = lambda code, vocabulary: label(vocabulary, code)
    env.filters["agency"] = names.agency
    env.filters["ward"] = names.ward
    env.globals["names"] = names
