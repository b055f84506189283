"""How the pages show values: JST times with 和暦 dates, labels and names for codes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from jinja2 import pass_context

from hub.fiscal import JST, now, wareki_date, wareki_month
from hub.labels import VOCABULARY, Names, label, referral_status_text


def wareki_time(moment: datetime | str | None) -> str:
    """'令和7年5月1日 09:00 JST' ('' for none); a string is ISO 8601 with a zone."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    try:
        local = value.astimezone(JST)
        return f"{wareki_date(local.date())} {local:%H:%M} JST"
    except (OverflowError, ValueError):  # a record below the edge (hub/quarantine.py): as written
        return value.isoformat()


def period(start: datetime | str | None, end: datetime | str | None) -> str:
    """A period whose end is exclusive, as people say it: days from midnight to midnight
    (JST) as '令和7年5月1日〜令和8年4月30日', the last day included (the form asked for the
    last day, 'その日まで'); any other period with its times."""

    def at(moment: datetime | str) -> datetime:
        value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return (value if value.tzinfo else value.replace(tzinfo=JST)).astimezone(JST)

    if start in (None, "") or end in (None, ""):
        return f"{wareki_time(start)}〜{wareki_time(end)}"
    try:
        first, after = at(start), at(end)  # type: ignore[arg-type]
        if first.time() == after.time() == time(0) and after > first:
            last = (after - timedelta(days=1)).date()
            return f"{wareki_date(first.date())}〜{wareki_date(last)}"
    except (OverflowError, ValueError):  # a record below the edge (hub/quarantine.py)
        pass
    return f"{wareki_time(start)}〜{wareki_time(end)}"


def wareki_day(day: date | str | None) -> str:
    if day is None or day == "":
        return ""
    value = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    try:
        return wareki_date(value)
    except ValueError:  # before 明治: a birth date below the edge (hub/quarantine.py), as written
        return value.isoformat()


def acted_by(text: str | None) -> str:
    """The audit's 'subject (role)' with the role's label: 'officer-1（区役所 窓口職員）'."""
    if not text:
        return "記録なし"
    subject, sep, role = text.rpartition(" (")
    if not sep or not role.endswith(")"):
        return text
    return f"{subject}（{label('role', role[:-1])}）"


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


def in_order(codes: Any, vocabulary: str) -> list[str]:
    """``codes`` in their vocabulary's order (氏名, カナ, 生年月日, 住所, …, as the case page and
    the inbox show them), not a path's alphabet; a code it has not, after, as given."""
    order = {code: i for i, code in enumerate(VOCABULARY.get(vocabulary, {}))}
    return sorted(codes, key=lambda code: order.get(code, len(order)))


def install(env: Any) -> None:
    """Filters for the templates; ``agency`` and ``ward`` name codes by the ``names`` of the
    page's context (the network in force, read once per page)."""
    env.filters["jst"] = wareki_time
    env.filters["day"] = wareki_day
    env.filters["month"] = lambda month: wareki_month(month) if month else ""
    env.filters["waited"] = waited
    env.globals["period"] = period
    env.filters["acted_by"] = acted_by
    env.filters["label"] = lambda code, vocabulary: label(vocabulary, code)
    env.filters["in_order"] = in_order
    env.filters["referral_status"] = referral_status_text
    env.filters["agency"] = pass_context(lambda context, code: _names(context).agency(code))
    env.filters["ward"] = pass_context(lambda context, code: _names(context).ward(code))


def _names(context: Any) -> Names:
    found = context["names"]()  # read once per page, when a name is first shown
    assert isinstance(found, Names)
    return found
