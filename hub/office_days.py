"""The city office's closed days (閉庁日), and a clock that stops on them.

The days a city office is closed are set by its 休日条例 (地方自治法第4条の2): Saturdays and
Sundays, the holidays of 国民の祝日に関する法律 (振替休日 and 国民の休日 included), and
12月29日 to 1月3日. An acknowledgement timer may count only the days the office is open, so
that a routine referral sent on a Friday evening is not overdue on the Sunday
(``consumers/config.py``, ``HUB_ACK_PAUSE_ON_CLOSED_DAYS``).
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

from hub.fiscal import JST

_lock = threading.Lock()  # filling in a year changes the calendar: one thread at a time


@cache
def _national() -> Any:
    """The national holidays by law, as python-holidays computes them (years filled in as
    asked); imported on first use, as most processes never pause a timer."""
    import holidays

    return holidays.country_holidays("JP")


def _year_end(day: date) -> bool:
    """12月29日 to 1月3日."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@lru_cache(maxsize=4096)
def closed(day: date) -> bool:
    """Whether the city office is closed on ``day`` (a JST calendar day)."""
    if day.weekday() >= 5 or _year_end(day):
        return True
    with _lock:
        return day in _national()


def after_open_time(start: datetime, span: timedelta) -> datetime:
    """The instant ``span`` after ``start`` when only the days the office is open count: the
    clock stops from the start of a closed day (JST) to the start of the next open one."""
    left = span
    at = start.astimezone(JST)
    while True:
        day = at.date()
        next_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=JST)
        if not closed(day):
            if left <= next_day - at:
                return (at + left).astimezone(start.tzinfo)
            left -= next_day - at
        at = next_day
