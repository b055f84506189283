"""A deterministic fiscal year R7 of Kitakyushu's network, as hub commands.

``generate_year(seed, scale)`` always returns the same commands with the same ids for the same
arguments, so re-submitting a year writes nothing new. Referral answers are not commands of
the hub's users: they are the agencies' behaviour (``PlannedAnswer``: who answers what, and
when), which the demo feeds to each agency's client, or applies directly when there is none.

The year is built from stories (a window consultation, a discovery by a 見守り部会 partner, a
complex case that goes to 多機関協働 with consent, a refusal that starts in the
つながりづくり会議 and moves to the 重層的支援会議 after outreach visits open the door, an
emergency) and from monthly quotas for visits, activities, plans and participation matches
that reproduce the seed's R7 actuals exactly to the end of December (``calibration``).
"""

from __future__ import annotations

from datetime import date, datetime

from hub import commands as c
from ops.demo.stories import YearBuilder
from ops.demo.year import LAST_DAY, DemoYear, PlannedAnswer, count_indicators

__all__ = ["DEFAULT_SEED", "DemoYear", "PlannedAnswer", "count_indicators", "generate_year"]

DEFAULT_SEED = 2025


def generate_year(seed: int = DEFAULT_SEED, scale: int = 1, until: date | None = None) -> DemoYear:
    """The year R7 for ``seed``; ``scale`` plays that many independent copies of the city."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    items: list[tuple[datetime, int, int, c.Command]] = []
    answers: list[PlannedAnswer] = []
    for replica in range(scale):
        builder = YearBuilder(seed, replica)
        builder.build()
        items += [(at, replica, seq, cmd) for at, seq, cmd in builder.items]
        answers += builder.answers
    items.sort(key=lambda item: item[:3])
    answers.sort(key=lambda a: (a.at, str(a.referral_id)))
    year = DemoYear(seed, scale, tuple(i[3] for i in items), tuple(answers))
    return year.cut(min(until or LAST_DAY, LAST_DAY))
