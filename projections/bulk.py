"""Rebuilding a view from scratch without a statement per event: each view's change is folded
in memory (plain dicts, keyed as the view's tables are), then every table is written at
once with the view's position (``SqlView.write_all``: ``executemany`` on SQLite, ``COPY``
on PostgreSQL), in one transaction.

A fold is the view's SQL (``statements``) done in Python, with what the SQL would refuse
refused too: a second row for a primary key the statement does not upsert, or NULL in a
column that takes none, is an ``IntegrityError`` and the event is quarantined with every
other change it would have made left undone, as a batch applied one event at a time does.
Only the hub's own three projections have one; any other (a subclass with statements of
its own) is rebuilt with its statements.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import DataError, IntegrityError, Tracking

from hub.quarantine import reason_of
from projections import indicators as ind
from projections.base import HubProjection, Payload, Rejected
from projections.case_state import CaseStateProjection
from projections.inbox import InboxProjection
from projections.indicator_view import IndicatorsProjection
from projections.indicators import utc_text
from projections.sqlview import PostgresView, SQLiteView, SqlView

Rows = Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]  # table → columns, rows


def _not_null(*values: Any) -> None:
    if any(value is None for value in values):
        raise IntegrityError("NOT NULL constraint failed")


def _new(table: Mapping[Any, Any], key: Any) -> None:
    if key in table:
        raise IntegrityError("UNIQUE constraint failed")


class Fold:
    """One view's tables in memory; ``apply`` changes nothing if it raises."""

    @classmethod
    def for_view(cls, view: SqlView) -> Fold:
        return cls()

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def rows(self) -> Rows:
        raise NotImplementedError


class InboxFold(Fold):
    COLUMNS = (
        "referral_id",
        "agency_id",
        "case_id",
        "ward",
        "purpose",
        "urgency",
        "sent_at",
        "status",
        "answers",
        "first_answer_at",
        "last_answer_at",
        "escalated_at",
    )

    def __init__(self) -> None:
        self.referrals: dict[str, list[Any]] = {}
        self.answers: dict[tuple[str, str], str] = {}

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        match event_type:
            case "ReferralMade":
                row = [
                    str(p["referral_id"]),
                    p["agency_id"],
                    str(p["case_id"]),
                    p["ward"],
                    p["purpose"],
                    p["urgency"],
                    utc_text(p["occurred_at"]),
                    "sent",
                    0,
                    None,
                    None,
                    None,
                ]
                _new(self.referrals, row[0])
                _not_null(row[1], row[2], row[6])
                self.referrals[row[0]] = row
            case "ReferralAnswered":
                referral_id, answer = str(p["referral_id"]), p["answer"]
                at = utc_text(p["occurred_at"])
                found = self.referrals.get(referral_id)
                if found is not None:
                    _not_null(answer)
                _new(self.answers, (referral_id, answer))
                _not_null(answer, at)
                if found is not None:
                    found[7], found[8] = answer, found[8] + 1
                    found[9] = at if found[9] is None else found[9]
                    found[10] = at
                self.answers[(referral_id, answer)] = at
            case "ReferralCancelled":
                found = self.referrals.get(str(p["referral_id"]))
                if found is not None:
                    found[7] = "cancelled"
            case "ReferralEscalated":
                referral_id, at = str(p["referral_id"]), utc_text(p["occurred_at"])
                found = self.referrals.get(referral_id)
                if found is not None:
                    found[11] = at

    def rows(self) -> Rows:
        return {
            "referrals": (self.COLUMNS, list(self.referrals.values())),
            "answers": (
                ("referral_id", "answer", "answered_at"),
                [(r, a, at) for (r, a), at in self.answers.items()],
            ),
        }


CASE_COLUMNS = (
    "case_id",
    "ward",
    "status",
    "origin",
    "opened_at",
    "updated_at",
    "complexity",
    "lead_agency",
    "meeting_kind",
    "plan_id",
    "plan_revision",
    "monitoring_date",
    "evaluation",
    "last_visit_at",
    "last_visit_outcome",
    "consultations",
    "visits",
    "activities",
)
C = {name: index for index, name in enumerate(CASE_COLUMNS)}
REFERRAL_COLUMNS = (
    "referral_id",
    "case_id",
    "agency_id",
    "purpose",
    "urgency",
    "made_at",
    "status",
    "answered_at",
    "last_answer_at",
    "escalated_at",
    "overdue_minutes",
    "escalated_to",
)
CONSENT_COLUMNS = (
    "consent_id",
    "case_id",
    "state",
    "recorded_at",
    "valid_from",
    "valid_until",
    "scope",
    "purposes",
    "data_categories",
    "by_proxy",
    "withdrawn_at",
)
_TOUCH_ONLY = frozenset(
    {
        "ParticipationMatched",
        "WatchOverArranged",
        "EmergencyDeclared",
        "EmergencyEnded",
        "ReferralMade",
        "ReferralAnswered",
        "ReferralCancelled",
        "ReferralEscalated",
        "ConsentGiven",
        "ConsentRefused",
        "ConsentWithdrawn",
        "UseStopRequested",
    }
)


class CaseStateFold(Fold):
    def __init__(self) -> None:
        self.cases: dict[str, list[Any]] = {}
        self.needs: dict[str, dict[str, None]] = {}  # case → its needs, in order
        self.referrals: dict[str, list[Any]] = {}
        self.consents: dict[str, list[Any]] = {}
        self.consents_of: dict[str, list[str]] = {}
        self.meetings: dict[tuple[str, str], tuple[str, str, str, str]] = {}

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        if "case_id" not in p or event_type == "DiscoveryLinkedToCase":
            return
        case_id = str(p["case_id"])
        at = utc_text(p["occurred_at"])
        case = self.cases.get(case_id)
        if event_type == "CaseOpened":
            ward, origin = p["ward"], p["origin"]
            _new(self.cases, case_id)
            _not_null(ward)
            row: list[Any] = [None] * len(CASE_COLUMNS)
            row[0:6] = [case_id, ward, "open", origin, at, at]
            row[15:18] = [0, 0, 0]
            self.cases[case_id] = row
            return
        if event_type in _TOUCH_ONLY:
            self._apply_other(event_type, p, case_id, at)  # checks first, then changes
            if case is not None:
                case[5] = at
            return
        match event_type:
            case "ConsultationReceived":
                needs = p.get("needs") or []
                _not_null(*needs)
                if case is not None:
                    case[15] += 1
                self.needs.setdefault(case_id, {}).update(dict.fromkeys(needs))
            case "AssessmentRecorded":
                complexity, needs = p["complexity"], p["needs"]
                _not_null(*needs)
                if case is not None:
                    case[6] = complexity
                self.needs[case_id] = dict.fromkeys(needs)
            case "TakenUpByMeeting":
                kind, meeting_id = p["kind"], str(p["meeting_id"])
                _new(self.meetings, (case_id, meeting_id))
                _not_null(kind)
                if case is not None:
                    case[8] = "support" if case[8] == "support" else kind
                self.meetings[(case_id, meeting_id)] = (case_id, meeting_id, kind, at)
            case "MovedToSupportMeeting":
                if case is not None:
                    case[8] = "support"
            case "SupportDecided":
                if case is not None:
                    case[2], case[7] = "in_support", p["lead_agency"]
            case "PlanAgreed":
                values = (
                    p["lead_agency"],
                    str(p["plan_id"]),
                    p["revision"],
                    str(p["monitoring_date"]),
                )
                if case is not None:
                    case[2] = "in_support"
                    case[7], case[9], case[10], case[11] = values
            case "CaseEvaluated":
                if case is not None:
                    case[12] = p["evaluation"]
            case "CaseSuspended":
                if case is not None:
                    case[2] = "suspended"
            case "CaseClosed":
                if case is not None:
                    case[2] = "closed"
            case "OutreachVisitMade":
                outcome = p["outcome"]
                if case is not None:
                    case[16] += 1
                    if case[13] is None or case[13] <= at:
                        case[13], case[14] = at, outcome
            case "SupportActivityRecorded":
                if case is not None:
                    case[17] += 1
            case _:
                return
        if case is not None:
            case[5] = at

    def _apply_other(self, event_type: str, p: Mapping[str, Any], case_id: str, at: str) -> None:
        match event_type:
            case "ReferralMade":
                row = [
                    str(p["referral_id"]),
                    case_id,
                    p["agency_id"],
                    p["purpose"],
                    p["urgency"],
                    at,
                    "sent",
                    None,
                    None,
                    None,
                    None,
                    None,
                ]
                _new(self.referrals, row[0])
                _not_null(row[2])
                self.referrals[row[0]] = row
            case "ReferralAnswered":
                answer = p["answer"]
                found = self.referrals.get(str(p["referral_id"]))
                if found is not None:
                    _not_null(answer)
                    found[6], found[8] = answer, at
                    found[7] = at if found[7] is None else found[7]
            case "ReferralCancelled":
                found = self.referrals.get(str(p["referral_id"]))
                if found is not None:
                    found[6] = "cancelled"
            case "ReferralEscalated":
                referral_id = str(p["referral_id"])
                minutes, coordinator = p["overdue_minutes"], p["coordinator"]
                found = self.referrals.get(referral_id)
                if found is not None:
                    found[9], found[10], found[11] = at, minutes, coordinator
            case "ConsentGiven":
                row = [
                    str(p["consent_id"]),
                    case_id,
                    "given",
                    at,
                    utc_text(p["valid_from"]),
                    utc_text(p["valid_until"]),
                    json.dumps(p["scope"]),
                    json.dumps(p["purposes"]),
                    json.dumps(p["data_categories"]),
                    1 if p.get("by_proxy") else 0,
                    None,
                ]
                self._add_consent(row)
            case "ConsentRefused":
                row = [str(p["consent_id"]), case_id, "refused", at, None, None]
                row += [json.dumps(p["scope"]), None, None, 0, None]
                self._add_consent(row)
            case "ConsentWithdrawn":
                found = self.consents.get(str(p["consent_id"]))
                if found is not None:
                    found[2], found[10] = "withdrawn", at
            case "UseStopRequested":
                for consent_id in self.consents_of.get(case_id, ()):
                    found = self.consents[consent_id]
                    if found[2] == "given":
                        found[2], found[10] = "stopped", at

    def _add_consent(self, row: list[Any]) -> None:
        _new(self.consents, row[0])
        self.consents[row[0]] = row
        self.consents_of.setdefault(row[1], []).append(row[0])

    def rows(self) -> Rows:
        return {
            "cases": (CASE_COLUMNS, list(self.cases.values())),
            "needs": (
                ("case_id", "need"),
                [(case_id, need) for case_id, needs in self.needs.items() for need in needs],
            ),
            "referrals": (REFERRAL_COLUMNS, list(self.referrals.values())),
            "consents": (CONSENT_COLUMNS, list(self.consents.values())),
            "meetings": (
                ("case_id", "meeting_id", "kind", "held_at"),
                list(self.meetings.values()),
            ),
        }


class IndicatorsFold(Fold):
    """``MemoryIndicators`` (the fold the analysts' rebuild uses) as the view's rows."""

    def __init__(self, *, nan_is_null: bool = False) -> None:
        self.memory = ind.MemoryIndicators.empty()
        self.nan_is_null = nan_is_null

    @classmethod
    def for_view(cls, view: SqlView) -> Fold:
        # SQLite stores a NaN REAL as NULL, which the targets' value refuses (NOT NULL);
        # PostgreSQL keeps NaN as a double precision.
        return cls(nan_is_null=isinstance(view, SQLiteView))

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        facts = ind.facts(event_type, p)
        for fact in facts:  # what the view's statements work out, before anything changes
            if isinstance(fact, ind.TargetFact) and self.nan_is_null and math.isnan(fact.value):
                raise IntegrityError("NOT NULL constraint failed")
            if isinstance(fact, ind.Tally):
                ind.jst_day(fact.at)
            elif isinstance(fact, ind.Member):
                ind.fiscal_year_of(fact.at)
        for fact in facts:
            self.memory.apply_fact(fact)

    def rows(self) -> Rows:
        m = self.memory
        return {
            "places": (("kind", "id", "ward"), [(k, i, w) for (k, i), w in m.places.items()]),
            "tallies": (
                ("indicator", "day", "ward", "n"),
                [(i, d, w, n) for (i, d, w), n in m.tallies.items()],
            ),
            "members": (
                ("indicator", "fy", "member", "at", "ward"),
                [(i, fy, mem, at, w) for (i, fy, mem), (at, w) in m.members.items()],
            ),
            "referrals": (
                ("referral_id", "sent_at", "agency_id", "ward", "first_answer_at", "closed_at"),
                [
                    (r.referral_id, r.sent_at, r.agency_id, r.ward, r.first_answer_at, r.closed_at)
                    for r in m.referrals.values()
                ],
            ),
            "referral_ends": (
                ("referral_id", "end_kind", "at"),
                [(r, end, at) for r, (at, end) in m.ends.items()],
            ),
            "targets": (
                ("indicator", "fy", "value", "at"),
                [(i, fy, value, at) for (i, fy), (at, value) in m.targets.items()],
            ),
        }


FOLDS: dict[type[HubProjection[Any]], type[Fold]] = {
    CaseStateProjection: CaseStateFold,
    InboxProjection: InboxFold,
    IndicatorsProjection: IndicatorsFold,
}

QUARANTINE_COLUMNS = ("position", "event_id", "event_type", "reason")


class BulkView:
    """A projection's fold and its quarantine, written to its view at the end."""

    def __init__(self, projection: HubProjection[Any], fold: Fold) -> None:
        self.projection = projection
        self.fold = fold
        self.quarantine: list[tuple[Any, ...]] = []
        # PostgreSQL's text refuses a NUL character (SQLite keeps it).
        self.nul_refused = isinstance(projection.view, PostgresView)

    def take(self, found: Payload | Rejected | None, tracking: Tracking) -> None:
        if found is None:
            return
        if isinstance(found, Rejected):
            self._quarantine(tracking, found.reason)
            return
        try:
            if _odd_text(found[1], self.nul_refused):
                self._refuse_as_the_store(found)
            self.fold.apply(*found)
        except Exception as error:  # a bad event: the fold changed nothing
            self._quarantine(tracking, reason_of(error, self.projection.name))

    def _refuse_as_the_store(self, found: Payload) -> None:
        """Raises what the store raises binding the event's statements, for a text it
        cannot hold: a lone surrogate (no UTF-8 for it) or, on PostgreSQL, a NUL. Rare, and
        decided by the statements themselves: such a text in a field the view never stores
        is fine."""
        for statement in self.projection.statements(*found):
            for value in statement.params.values():
                if _odd_text(value, nul=False):
                    str(value).encode()  # UnicodeEncodeError, as the driver raises
                if self.nul_refused and _odd_text(value, nul=True):
                    raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    def _quarantine(self, tracking: Tracking, reason: str) -> None:
        params = self.projection._quarantined(tracking, reason).params
        self.quarantine.append(tuple(params[column] for column in QUARANTINE_COLUMNS))

    def write(self, tracking: Tracking) -> None:
        rows = dict(self.fold.rows())
        rows["quarantine"] = (QUARANTINE_COLUMNS, self.quarantine)
        self.projection.view.write_all(rows, tracking, after=0)


def _odd_text(value: Any, nul: bool) -> bool:
    """Whether ``value`` holds a text with a lone surrogate (or a NUL, with ``nul``)."""
    if isinstance(value, str):
        if value.isascii():
            return nul and "\x00" in value
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return nul and "\x00" in value
    if isinstance(value, Mapping):
        return any(_odd_text(v, nul) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_odd_text(v, nul) for v in value)
    return False


def bulk_view(projection: HubProjection[Any]) -> BulkView | None:
    """The projection's fold, if it is one of the hub's own (not a subclass)."""
    fold = FOLDS.get(type(projection))
    return BulkView(projection, fold.for_view(projection.view)) if fold else None
