"""Table ④ of the plan: which events count, and how, as one pure fold.

Counting rules (also in docs/COUNTING-RULES.md; the tests in tests/unit/test_indicators*.py
pin every rule at its edge):

* An event counts at its payload ``occurred_at`` (when it happened in the world), never at
  the moment it was recorded. Back-dated records land in the period they happened in.
* Fiscal years run from 1 April 00:00:00 JST to 31 March 23:59:59.999999 JST
  (``hub.fiscal``). A UTC timestamp is converted to JST first: 2025-03-31T15:00:00Z is
  1 April 00:00 JST and belongs to R7; 2025-03-31T14:59:59Z belongs to R6.
* Months are JST calendar months ('YYYY-MM').
* ``--until DATE`` cuts at the end of that JST day, inclusive (23:59:59.999999 JST).
  A cut after 31 March is the fiscal year's end; a cut before 1 April gives zeros, stocks
  included (``Cut.before_start``).
* Ward: the event's own ward when it has one (ConsultationReceived, CooperatingBusiness-
  Registered, CommunityBaseRegistered, and their ends, CooperatingBusinessWithdrawn and
  CommunityBaseClosed, which count -1 from their day); otherwise the ward of the case it belongs to
  (CaseOpened.ward), or of the community base for gatherings. Unknown ward is ''.

The indicators, their labels and units are ``hub.labels.INDICATORS`` (one definition);
docs/COUNTING-RULES.md has the table of rules.

Breakdowns: by ward or month, flows are split where they happened; stocks by month are the
stock at the end of that month (so they do not add up to the year, they are the trend).
"First occurrence" is the earliest JST day of ``occurred_at`` (ties: the smallest ward
code), so the result does not depend on the order records arrive in, nor on the time of day
(which the analysts' records no longer carry).

Network measures (referrals made in the year, up to the cut): 紹介件数 (ReferralMade),
応答件数 (referrals with any answer by the cut), 初回応答までの時間 (minutes from the referral
to its earliest answer: median and 90th percentile by nearest rank), クローズドループ率
(percentage of referrals with an outcome, declined or completed, by the cut).

The fold reads only codes, ids, days and one duration: it works the same on the hub's
payloads and on the de-identified records of ``analytics.events`` (ids pseudonymised
consistently, instants cut to the JST day, an answer carrying ``minutes_since_referral``).
"""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from hub.fiscal import JST, fiscal_year
from hub.labels import BY_KEY as BY_KEY
from hub.labels import INDICATORS as INDICATORS
from hub.labels import NETWORK_FUNCTION as NETWORK_FUNCTION
from hub.labels import NETWORK_MEASURES
from hub.labels import Indicator as Indicator

UNKNOWN_WARD = ""

# Facts: what one event contributes -----------------------------------------------------------

Place = tuple[str, str]  # ("case" | "base", id)


@dataclass(frozen=True)
class PlaceWard:
    """The ward of a case or community base becomes known."""

    place: Place
    ward: str


@dataclass(frozen=True)
class Tally:
    """Add ``n`` to an indicator at ``at``, in ``ward`` or the ward of ``place``."""

    indicator: str
    at: str
    n: int
    ward: str | None = None
    place: Place | None = None


@dataclass(frozen=True)
class Member:
    """``member`` took part at ``at``: counted once per fiscal year, at its first time."""

    indicator: str
    at: str
    member: str
    ward: str | None = None
    place: Place | None = None


@dataclass(frozen=True)
class ReferralSent:
    referral_id: str
    at: str
    agency_id: str
    place: Place


@dataclass(frozen=True)
class ReferralReply:
    referral_id: str
    at: str
    closes: bool
    minutes: float | None = None  # since the referral: the analysts' records carry it


@dataclass(frozen=True)
class ReferralEnd:
    """How a referral ended: the outcome of its completion, or ``cancelled``."""

    referral_id: str
    at: str
    end: str


@dataclass(frozen=True)
class TargetFact:
    """The city's target for an indicator and fiscal year, as set at ``at`` (the latest
    ``occurred_at`` wins: a revision replaces the target)."""

    indicator: str
    fy: int
    value: float
    at: str


Fact = PlaceWard | Tally | Member | ReferralSent | ReferralReply | ReferralEnd | TargetFact


@dataclass(frozen=True)
class TargetDetail:
    """Who set a target, when exactly and why: for `hub target list`, not for counting (the
    analysts' records carry no actor). ``at`` is the TargetFact's: the same one wins."""

    indicator: str
    fy: int
    at: str
    set_at: str
    set_by: str | None
    note: str | None


def target_detail(payload: Mapping[str, Any]) -> TargetDetail:
    """The detail of a TargetSet payload (JSON-like: ``actor`` a mapping or None)."""
    at = utc_text(payload["occurred_at"])
    actor = payload.get("actor") or {}
    return TargetDetail(
        payload["indicator"],
        int(payload["fiscal_year"]),
        day_start(at),
        at,
        actor.get("subject"),
        payload.get("note"),
    )


CLOSING_ANSWERS = frozenset({"declined", "completed"})


def utc_text(moment: Any) -> str:
    """A timestamp as fixed-width UTC text, so that text order is time order."""
    if isinstance(moment, datetime):
        return _utc_text(moment)
    return _utc_text_of_iso(str(moment))


@lru_cache(maxsize=4096)
def _utc_text_of_iso(text: str) -> str:
    # Each event's time is turned into text by every view it feeds: parse it once.
    return _utc_text(datetime.fromisoformat(text))


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp without a zone: {value.isoformat()!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def jst_day(at: str) -> str:
    """'YYYY-MM-DD' of the JST day of a ``utc_text`` timestamp."""
    return datetime.fromisoformat(at).astimezone(JST).date().isoformat()


def day_start(at: str) -> str:
    """The start of the JST day of a ``utc_text`` timestamp, as ``utc_text``."""
    day = datetime.fromisoformat(at).astimezone(JST).date()
    return utc_text(datetime(day.year, day.month, day.day, tzinfo=JST))


def fiscal_year_of(at: str) -> int:
    return fiscal_year(datetime.fromisoformat(at))


def body_name(text: str) -> str:
    """A participating body's name as counted: one body typed with the IME's full-width
    letters or spaces (ＮＰＯ法人　試験会) is the same as typed in ASCII (NPO法人 試験会)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def facts(event_type: str, payload: Mapping[str, Any]) -> list[Fact]:
    """What one event contributes to the indicators: a pure function of the record."""
    if event_type in _IGNORED:
        return []
    at = utc_text(payload["occurred_at"])
    case: Place | None = ("case", str(payload["case_id"])) if payload.get("case_id") else None
    match event_type:
        case "CaseOpened":
            return [PlaceWard(("case", str(payload["case_id"])), payload["ward"])]
        case "ConsultationReceived":
            return [Tally("consultations", at, 1, ward=payload.get("ward"), place=case)]
        case "ParticipationMatched":
            day = day_start(at)
            return [Member("participants_supported", day, str(payload["case_id"]), place=case)]
        case "CooperatingBusinessRegistered":
            return [Tally("cooperating_businesses", at, 1, ward=payload.get("ward") or "")]
        case "CommunityBaseRegistered":
            base: Place = ("base", str(payload["base_id"]))
            return [
                PlaceWard(base, payload["ward"]),
                Tally("community_bases", at, 1, ward=payload["ward"]),
            ]
        case "CooperatingBusinessWithdrawn":  # counted no more from its day, where it was
            return [Tally("cooperating_businesses", at, -1, ward=payload.get("ward") or "")]
        case "CommunityBaseClosed":
            return [Tally("community_bases", at, -1, ward=payload["ward"])]
        case "GatheringHeld":
            base = ("base", str(payload["base_id"]))
            result: list[Fact] = [
                Tally("gathering_participants", at, int(payload["participants"]), place=base)
            ]
            bodies = payload.get("bodies") or []
            day = day_start(at)
            named = {body_name(str(b)) for b in bodies}
            result += [Member("gathering_bodies", day, b, place=base) for b in named]
            return result
        case "OutreachVisitMade":
            return [Tally("outreach_visits", at, 1, place=case)]
        case "PlanAgreed":
            return [Tally("plans_made", at, 1, place=case)] if payload["revision"] == 1 else []
        case "SupportActivityRecorded":
            return [Tally("support_activities", at, 1, place=case)]
        case "ReferralMade" if case is not None:
            return [ReferralSent(str(payload["referral_id"]), at, payload["agency_id"], case)]
        case "ReferralAnswered":
            closes = payload["answer"] in CLOSING_ANSWERS
            minutes = payload.get("minutes_since_referral")
            reply: list[Fact] = [ReferralReply(str(payload["referral_id"]), at, closes, minutes)]
            if payload.get("outcome"):
                reply.append(ReferralEnd(str(payload["referral_id"]), at, payload["outcome"]))
            return reply
        case "ReferralCancelled":
            return [ReferralEnd(str(payload["referral_id"]), at, "cancelled")]
        case "TargetSet":
            fy, value = int(payload["fiscal_year"]), float(payload["value"])
            # The latest by JST day, then by log order (analysts see days, not times).
            return [TargetFact(payload["indicator"], fy, value, day_start(at))]
    return []


_IGNORED = frozenset({"CommandAccepted", "PersonDetailsRecorded", "PersonDetailsCleared"})


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def earlier(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


# Rows: what a store keeps, and the report computed from them ----------------------------------


@dataclass(frozen=True)
class TallyRow:
    indicator: str
    day: str
    ward: str
    n: int


@dataclass(frozen=True)
class MemberRow:
    indicator: str
    fy: int
    member: str
    at: str
    ward: str


@dataclass(frozen=True)
class ReferralRow:
    referral_id: str
    sent_at: str | None
    agency_id: str | None
    ward: str | None
    first_answer_at: str | None
    closed_at: str | None
    # Minutes to the first answer when the records carry the duration (analytics.events).
    first_answer_minutes: float | None = None
    end: str | None = None  # an outcome of completion, or "cancelled"
    end_at: str | None = None


@dataclass
class MemoryIndicators:
    """The fold kept in memory: for the analysts' rebuild and for checking the SQL view."""

    places: dict[Place, str]
    tallies: dict[tuple[str, str, str], int]
    members: dict[tuple[str, int, str], tuple[str, str]]
    referrals: dict[str, ReferralRow]
    targets: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)
    ends: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> MemoryIndicators:
        return cls({}, {}, {}, {})

    def ward(self, ward: str | None, place: Place | None) -> str:
        if ward is not None:
            return ward
        if place is not None:
            return self.places.get(place, UNKNOWN_WARD)
        return UNKNOWN_WARD

    def apply(self, event_type: str, payload: Mapping[str, Any]) -> None:
        for fact in facts(event_type, payload):
            self.apply_fact(fact)

    def apply_fact(self, fact: Fact) -> None:
        match fact:
            case PlaceWard(place, ward):
                self.places[place] = ward
            case Tally(indicator, at, n, ward, place):
                key = (indicator, jst_day(at), self.ward(ward, place))
                self.tallies[key] = self.tallies.get(key, 0) + n
            case Member(indicator, at, member, ward, place):
                mkey = (indicator, fiscal_year_of(at), member)
                candidate = (at, self.ward(ward, place))
                current = self.members.get(mkey)
                if current is None or candidate < current:
                    self.members[mkey] = candidate
            case ReferralSent(referral_id, at, agency_id, place):
                old = self.referrals.get(referral_id)
                self.referrals[referral_id] = ReferralRow(
                    referral_id,
                    at,
                    agency_id,
                    self.ward(None, place),
                    old.first_answer_at if old else None,
                    old.closed_at if old else None,
                    old.first_answer_minutes if old else None,
                )
            case ReferralEnd(referral_id, at, end):
                self.ends[referral_id] = (at, end)
            case TargetFact(indicator, fy, value, at):
                latest = self.targets.get((indicator, fy))
                if latest is None or at >= latest[0]:
                    self.targets[(indicator, fy)] = (at, value)
            case ReferralReply(referral_id, at, closes, minutes):
                old = self.referrals.get(referral_id) or ReferralRow(
                    referral_id, None, None, None, None, None
                )
                self.referrals[referral_id] = ReferralRow(
                    referral_id,
                    old.sent_at,
                    old.agency_id,
                    old.ward,
                    earlier(old.first_answer_at, at),
                    earlier(old.closed_at, at) if closes else old.closed_at,
                    _least(old.first_answer_minutes, minutes),
                )

    def tally_rows(self) -> list[TallyRow]:
        return [TallyRow(i, d, w, n) for (i, d, w), n in sorted(self.tallies.items())]

    def member_rows(self) -> list[MemberRow]:
        return [MemberRow(i, fy, m, at, w) for (i, fy, m), (at, w) in sorted(self.members.items())]

    def referral_rows(self) -> list[ReferralRow]:
        rows = []
        for key in sorted(self.referrals):
            row = self.referrals[key]
            if key in self.ends:
                at, end = self.ends[key]
                row = replace(row, end=end, end_at=at)
            rows.append(row)
        return rows

    def target_values(self, fy: int) -> dict[str, float]:
        return {i: v for (i, year), (_, v) in sorted(self.targets.items()) if year == fy}


@dataclass(frozen=True)
class ReportRow:
    """One figure of the report. ``indicator`` is the plan's label; ``code`` its stable key."""

    function: str
    indicator: str
    value: int | float | None
    ward: str | None = None
    month: str | None = None
    code: str = ""
    unit: str = ""
    # Progress against the city's target for the year (R8目標), when one is set.
    target: float | None = None
    progress_rate: float | None = None  # value / target, in %
    pace_needed: float | None = None  # per month, for the rest of the year

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "function": self.function,
            "code": self.code,
            "label": self.indicator,
            "unit": self.unit,
            "value": self.value,
        }
        if self.target is not None:
            row["target"] = self.target
            row["progress_rate"] = self.progress_rate
            row["pace_needed_per_month"] = self.pace_needed
        if self.ward is not None:
            row["ward"] = self.ward
        if self.month is not None:
            row["month"] = self.month
        return row


Breakdown = Literal["ward", "month"] | None


@dataclass(frozen=True)
class Cut:
    """The days a report covers: from 1 April of ``fy`` to ``last_day`` (JST, inclusive)."""

    fy: int
    first_day: date
    last_day: date

    @classmethod
    def of(cls, fy: int, until: date | None = None) -> Cut:
        end = date(fy + 1, 3, 31)
        return cls(fy, date(fy, 4, 1), min(until, end) if until else end)

    @property
    def before_start(self) -> bool:
        """A cut before 1 April of its year: every figure, stocks included, is zero."""
        return self.last_day < self.first_day

    @property
    def end_instant(self) -> str:
        """The first instant after the cut, as ``utc_text``."""
        start_next = datetime.combine(self.last_day + timedelta(days=1), datetime.min.time(), JST)
        return utc_text(start_next)

    def months(self) -> list[str]:
        months: list[str] = []
        if self.before_start:
            return months
        day = self.first_day
        while day <= self.last_day:
            months.append(day.strftime("%Y-%m"))
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
        return months


def tabulate(
    tallies: Iterable[TallyRow],
    members: Iterable[MemberRow],
    cut: Cut,
    by: Breakdown = None,
    wards: Sequence[str] = (),
) -> list[ReportRow]:
    """Table ④ for a cut, from the rows a store keeps (SQL view or memory alike).

    By ward: every ward of ``wards`` (the city's seven, in the city's order) even with
    nothing in it, then any other ward code met, then the unknown ward ('') last, and only
    when something was counted there."""
    first, last = cut.first_day.isoformat(), cut.last_day.isoformat()
    if cut.before_start:
        tallies, members = [], []  # a cut before 1 April: nothing of the year has happened
    flows: dict[tuple[str, str], int] = {}
    stocks: dict[tuple[str, str], int] = {}  # by month: additions in the month, summed later
    distinct: dict[tuple[str, str], int] = {}
    groups: set[str] = set()

    def group(day: str, ward: str) -> str:
        return ward if by == "ward" else day[:7] if by == "month" else ""

    for t in tallies:
        if t.day > last:
            continue
        kind = BY_KEY[t.indicator].kind
        if kind == "stock":
            key = t.day[:7] if by == "month" and t.day >= first else group(t.day, t.ward)
            if by == "month" and t.day < first:
                key = "before"
            stocks[(t.indicator, key)] = stocks.get((t.indicator, key), 0) + t.n
            if by == "ward":
                groups.add(t.ward)
        elif t.day >= first:
            g = group(t.day, t.ward)
            flows[(t.indicator, g)] = flows.get((t.indicator, g), 0) + t.n
            groups.add(g)
    for m in members:
        day = jst_day(m.at)
        if m.fy != cut.fy or day > last:
            continue
        g = group(day, m.ward)
        distinct[(m.indicator, g)] = distinct.get((m.indicator, g), 0) + 1
        groups.add(g)

    if by is None:
        keys = [""]
    elif by == "month":
        keys = cut.months()
    else:
        others = sorted(g for g in groups if g not in wards and g != UNKNOWN_WARD)
        keys = [*wards, *others, *([UNKNOWN_WARD] if UNKNOWN_WARD in groups else [])]

    rows: list[ReportRow] = []
    for key in keys:
        for ind in INDICATORS:
            if ind.kind == "flow":
                value = flows.get((ind.key, key), 0)
            elif ind.kind == "distinct":
                value = distinct.get((ind.key, key), 0)
            elif by == "month":
                value = stocks.get((ind.key, "before"), 0) + sum(
                    stocks.get((ind.key, month), 0) for month in cut.months() if month <= key
                )
            else:
                value = stocks.get((ind.key, key), 0)
            rows.append(
                ReportRow(
                    ind.function,
                    ind.label,
                    value,
                    ward=key if by == "ward" else None,
                    month=key if by == "month" else None,
                    code=ind.key,
                    unit=ind.unit,
                )
            )
    return rows


MONTH_DAYS = 365.25 / 12


def with_targets(rows: list[ReportRow], targets: Mapping[str, float], cut: Cut) -> list[ReportRow]:
    """The year's rows with progress against the targets: the rate reached (value / target,
    in %) and the pace needed per month for the rest of the fiscal year (None after its end).
    Only rows without a breakdown carry a target: it is a target for the year."""
    days_left = (date(cut.fy + 1, 3, 31) - max(cut.last_day, cut.first_day - timedelta(1))).days
    result = []
    for row in rows:
        target = targets.get(row.code)
        if target is None or row.ward is not None or row.month is not None:
            result.append(row)
            continue
        value = float(row.value or 0)
        rate = round(100 * value / target, 1) if target else None
        remaining = max(target - value, 0.0)
        pace = round(remaining / (days_left / MONTH_DAYS), 1) if days_left > 0 else None
        # A whole target as people write it (600, not 600.0), as `hub target list` gives it.
        shown = int(target) if float(target).is_integer() else target
        result.append(replace(row, target=shown, progress_rate=rate, pace_needed=pace))
    return result


def network_measures(referrals: Iterable[ReferralRow], cut: Cut) -> list[ReportRow]:
    """The network's own measures for referrals made in the cut."""
    start = utc_text(datetime.combine(cut.first_day, datetime.min.time(), JST))
    end = cut.end_instant
    sent = answered = closed = cancelled = resolved = 0
    minutes: list[float] = []
    for r in referrals:
        if r.sent_at is None or not (start <= r.sent_at < end):
            continue
        sent += 1
        if r.first_answer_at is not None and r.first_answer_at < end:
            answered += 1
            if r.first_answer_minutes is not None:
                minutes.append(r.first_answer_minutes)
            else:
                delta = datetime.fromisoformat(r.first_answer_at) - datetime.fromisoformat(
                    r.sent_at
                )
                minutes.append(delta.total_seconds() / 60)
        if r.closed_at is not None and r.closed_at < end:
            closed += 1
        if r.end is not None and r.end_at is not None and r.end_at < end:
            cancelled += r.end == "cancelled"
            resolved += r.end == "resolved"
    minutes.sort()
    median = round(statistics.median(minutes), 1) if minutes else None
    p90 = round(minutes[math.ceil(0.9 * len(minutes)) - 1], 1) if minutes else None
    rate = round(100 * closed / sent, 1) if sent else None
    values: dict[str, int | float | None] = {
        "sent": sent,
        "answered": answered,
        "median": median,
        "p90": p90,
        "closed_loop": rate,
        "cancelled": cancelled,
        "resolved": resolved,
    }
    return [
        ReportRow(NETWORK_FUNCTION, NETWORK_MEASURES[k][0], v, code=k, unit=NETWORK_MEASURES[k][1])
        for k, v in values.items()
    ]
