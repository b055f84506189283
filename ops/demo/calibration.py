"""The seed's R7 actuals (table ④, counted to the end of December 2025) and monthly quotas.

The generated year reproduces the actuals exactly for April–December; January–March go on at
about the same rate. Months are fiscal: index 0 is April 2025, 11 is March 2026.
"""

from __future__ import annotations

from datetime import date

FISCAL_YEAR = 2025
ACTUALS_CUT = date(2025, 12, 31)
LAST_DAY = date(FISCAL_YEAR + 1, 3, 31)

# The plan's R7 actuals (※R7.12月末時点); None where the plan says 集計中.
SEED_ACTUALS: dict[str, int | None] = {
    "visits": 450,  # 伴走型支援の訪問件数
    "plans": 13,  # 支援計画作成件数
    "activities": 2248,  # 支援に関する活動件数
    "participants": 2,  # 参加支援の支援対象者数
    "consultations": None,
    "businesses": None,
    "bases": None,
    "gathering_participants": None,
    "bodies": None,
}

# Monthly quotas, April 2025 .. March 2026; a new scheme ramps up through the year.
VISITS = (20, 35, 45, 50, 55, 55, 60, 60, 70, 65, 60, 70)
ACTIVITIES = (180, 220, 240, 250, 250, 260, 270, 280, 298, 280, 290, 310)
PLANS = (0, 1, 1, 2, 1, 2, 2, 2, 2, 2, 1, 2)
# New people matched to a place to take part (参加支援), by month.
NEW_PARTICIPANTS = (0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0)

assert sum(VISITS[:9]) == 450
assert sum(ACTIVITIES[:9]) == 2248
assert sum(PLANS[:9]) == 13
assert sum(NEW_PARTICIPANTS[:9]) == 2


def month_start(index: int) -> date:
    """First day of fiscal month ``index`` (0 = April)."""
    month = 4 + index
    year = FISCAL_YEAR + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def month_end(index: int) -> date:
    """First day of the following month (exclusive end)."""
    return month_start(index + 1)
