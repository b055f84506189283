"""Plausible values: what the edge accepts for instants, dates, periods and counts.

A value the log accepts is a value every step behind it must process for ever (the log is
immutable), so the edge refuses what no step could: an instant before 2000 or far in the
future (a year-9999 instant west of UTC overflows as soon as it is read in JST), a period
no consent or emergency could last, an integer beyond its domain (and so beyond Avro's
``long`` and the stores' 64-bit integers). Each refusal names the field and the rule,
never the value. The bounds are documented in docs/GUARANTEES.md ("Poison events").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from hub.fiscal import JST, now
from hub.settings import get_settings

EARLIEST = datetime(2000, 1, 1, tzinfo=JST)
EARLIEST_BIRTH_DATE = date(1890, 1, 1)
# Real zones run from UTC-12:00 to UTC+14:00; anything else is a typing error.
WESTMOST, EASTMOST = timedelta(hours=-12), timedelta(hours=14)

# The longest period each kind of thing may cover (from its start).
MAX_CONSENT = timedelta(days=5 * 365 + 2)  # 5 years: renewed, never open-ended
# Vital interest (個人情報保護法 27条1項2号) is time-limited and reviewed: a month at most.
MAX_EMERGENCY = timedelta(days=30)
MAX_PLAN = timedelta(days=3 * 365 + 1)  # a support plan (プラン) is revised well before 3 years

# How far an agency's clock may lag the hub's: an answer dated this little before its
# referral (an acknowledgement sent at once by a client whose clock is behind) counts at the
# referral's own time; earlier, it is refused (BeforeReferralError).
CLOCK_SKEW = timedelta(minutes=5)

# Integers of the domain (all far inside Avro's long and a 64-bit SQL integer).
MAX_OVERDUE_MINUTES = 3653 * 24 * 60  # ten years
MAX_PARTICIPANTS = 100_000
AVRO_LONG = (-(2**63), 2**63 - 1)


def latest() -> datetime:
    """The latest instant accepted: now plus ``HUB_FUTURE_MARGIN_DAYS``."""
    return now() + timedelta(days=get_settings().future_margin_days)


def _margin() -> str:
    return f"{get_settings().future_margin_days} days (HUB_FUTURE_MARGIN_DAYS)"


def aware(moment: datetime) -> datetime:
    """An instant with a time zone whose UTC offset is a real one (the end of a period,
    bounded by its start; see ``period``)."""
    offset = moment.utcoffset()
    if moment.tzinfo is None or offset is None:
        raise ValueError("timestamps must carry a time zone (e.g. 2025-04-01T09:00:00+09:00)")
    if not WESTMOST <= offset <= EASTMOST:
        raise ValueError("the UTC offset must lie between -12:00 and +14:00")
    return moment


_NUMBER = re.compile(r"\s*[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*")


def written_out(value: Any) -> Any:
    """Refuses a number where a date or an instant is wanted (before parsing): pydantic
    reads ``1746057600``, ``"-1"`` or ``"20250401"`` as seconds since 1970, so a count or a
    date typed without dashes would pass as some other day."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            "write dates as YYYY-MM-DD and instants in ISO 8601 "
            "(e.g. 2025-04-01T09:00:00+09:00), not as a number"
        )
    return value


def instant(moment: datetime) -> datetime:
    """An aware instant with a real UTC offset, between 2000-01-01 (JST) and ``latest()``."""
    aware(moment)
    if moment < EARLIEST:
        raise ValueError("must not be before 2000-01-01T00:00:00+09:00")
    if moment > latest():
        raise ValueError(f"must not be more than {_margin()} ahead of now")
    return moment


def day(value: date) -> date:
    """A calendar date between 2000-01-01 and the date of ``latest()``."""
    if value < EARLIEST.date():
        raise ValueError("must not be before 2000-01-01")
    if value > latest().date():
        raise ValueError(f"must not be more than {_margin()} ahead of today")
    return value


def birth_date(value: date) -> date:
    """A birth date between 1890-01-01 and today (JST)."""
    if value < EARLIEST_BIRTH_DATE:
        raise ValueError("must not be before 1890-01-01")
    if value > now().date():
        raise ValueError("must not be in the future")
    return value


def period(start_name: str, end_name: str, length: timedelta, kind: str) -> str | None:
    """The rule a period broke, given its length (``None`` if it is plausible)."""
    if length <= timedelta(0):
        return f"{end_name} must be after {start_name}"
    limit = {"consent": MAX_CONSENT, "emergency": MAX_EMERGENCY, "plan": MAX_PLAN}[kind]
    if length > limit:
        return f"{end_name}: a {kind} lasts at most {limit.days} days from {start_name}"
    return None
