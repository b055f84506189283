"""Rebuilding a view from scratch without a statement per event: each view's change is folded
in memory (plain dicts, keyed as the view's tables are), then every table is written at
once with the view's position (``SqlView.write_all``: ``executemany`` on SQLite, ``COPY``
on PostgreSQL), in one transaction.

The log is folded in chunks, so that memory is bounded by a chunk and not by the log (a chunk
ends after so many events, or after a batch that leaves the folds holding so many rows,
``Fold.held``): at the end of each chunk every row the fold holds is written (a row it read
back from the view is deleted there first, then written again as the fold left it) and the
fold forgets them. In a later chunk, an event that touches a row the fold does not hold
reads that row back from the view by its key (one SELECT, for such events only) and holds it
from then on; so does every uniqueness check, which must see the rows of earlier chunks too.

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
from collections.abc import Callable, Mapping, Sequence, Sized
from contextlib import ExitStack
from typing import Any

from eventsourcing.persistence import DataError, IntegrityError, Tracking

from hub.quarantine import OUTAGES, reason_of
from projections import indicators as ind
from projections.base import HubProjection, Payload, Rejected
from projections.case_state import CaseStateProjection
from projections.inbox import InboxProjection
from projections.indicator_view import IndicatorsProjection
from projections.indicators import utc_text
from projections.sqlview import Fetch, Keys, PostgresView, SQLiteView, SqlView

# Reads the rows whose ``column`` is one of ``keys`` (SQL with KEYS_IN where that goes).
FetchAny = Callable[[str, str, Sequence[str], Mapping[str, Any]], list[tuple[Any, ...]]]

Rows = Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]  # table → columns, rows


def _not_null(*values: Any) -> None:
    if any(value is None for value in values):
        raise IntegrityError("NOT NULL constraint failed")


def _new(table: Mapping[Any, Any], key: Any) -> None:
    if key in table:
        raise IntegrityError("UNIQUE constraint failed")


class Fold:
    """One view's tables in memory, or the part of them one chunk of the log touched;
    ``apply`` changes nothing if it raises (it may hold rows it read back, unchanged)."""

    KEYS: Mapping[str, Sequence[str]] = {}  # table → the columns a row read back is keyed by

    def __init__(self) -> None:
        # Read the view's rows of earlier chunks (by one key; by many keys, the SQL's
        # KEYS_IN being true where the column is one of them); None while the view holds none.
        self.fetch: Fetch | None = None
        self.fetch_any: FetchAny | None = None
        self.old: dict[str, set[Any]] = {}  # table → keys whose rows the view may hold
        self.absent: dict[str, set[Any]] = {}  # table → keys the view was found without
        self.empty()

    @classmethod
    def for_view(cls, view: SqlView) -> Fold:
        return cls()

    def empty(self) -> None:
        """Forget every row held (after they were written)."""
        self.old, self.absent = {}, {}

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def rows(self) -> Rows:
        raise NotImplementedError

    def held(self) -> int:
        """How many rows and keys the fold holds: what its memory grows with."""
        return sum(map(len, self.old.values())) + sum(map(len, self.absent.values()))

    def replaced(self) -> Keys:
        """The keys whose rows in the view the rows held take the place of."""
        return {
            table: (self.KEYS[table], [k if isinstance(k, tuple) else (k,) for k in keys])
            for table, keys in self.old.items()
            if keys
        }

    def _read(self, table: str, key: Any, sql: str, **params: Any) -> tuple[Any, ...] | None:
        """The view's row for ``key`` from an earlier chunk, if any (the caller holds it from
        then on: it is written again, in place of the view's, at the end of the chunk)."""
        if self.fetch is None:
            return None
        absent = self.absent.setdefault(table, set())
        if key in absent:
            return None
        found = self.fetch(sql, params)
        if not found:
            absent.add(key)
            return None
        self.old.setdefault(table, set()).add(key)
        return found[0]

    def _row(
        self, held: dict[str, list[Any]], table: str, columns: Sequence[str], key: str
    ) -> list[Any] | None:
        """The row of ``key`` (its first column) held, or read back from an earlier chunk
        and held from then on."""
        found = held.get(key)
        if found is None:
            sql = f"SELECT {', '.join(columns)} FROM {{{table}}} WHERE {columns[0]} = :k"
            row = self._read(table, key, sql, k=key)
            if row is not None:
                found = held[key] = list(row)
        return found

    def _unique(
        self, table: str, held: Mapping[Any, Any], key: Any, sql: str, **params: Any
    ) -> None:
        """``_new`` against the rows held and the view's rows of earlier chunks."""
        _new(held, key)
        if self.fetch is None:
            return
        absent = self.absent.setdefault(table, set())
        if key in absent:
            return
        if self.fetch(sql, params):
            raise IntegrityError("UNIQUE constraint failed")
        absent.add(key)

    def prefetch(self, payloads: Sequence[Payload]) -> None:
        """Read back at once the rows a batch of events will touch that are not held (so
        that a batch costs a statement per table, not one per miss): each is held from
        then on, and a key the view lacks is remembered as absent. A key not read here is
        read when its event touches it."""

    def _prefetch(
        self,
        table: str,
        held: Mapping[Any, Any],
        keys: Sequence[str],
        sql: str,
        column: str,
        hold: Callable[[tuple[Any, ...]], None],
        **params: Any,
    ) -> None:
        """Hold the view's rows of ``keys`` (``sql`` selects them, its first column the key)
        that are neither held nor known absent."""
        if self.fetch_any is None:
            return
        absent = self.absent.setdefault(table, set())
        wanted = [key for key in dict.fromkeys(keys) if key not in held and key not in absent]
        if not wanted:
            return
        found = set()
        for row in self.fetch_any(sql, column, wanted, params):
            found.add(row[0])
            hold(row)
        self.old.setdefault(table, set()).update(found)
        absent.update(key for key in wanted if key not in found)

    def _replaces(self, table: str, key: Any) -> None:
        """A row written without reading the view's first (an upsert): delete the view's."""
        if self.fetch is not None:
            self.old.setdefault(table, set()).add(key)


def _ids(payloads: Sequence[Payload], types: frozenset[str], field: str) -> list[str]:
    """The ``field`` of the payloads of ``types`` that have one, as text."""
    return [str(p[field]) for t, p in payloads if t in types and p.get(field) is not None]


_REFERRAL_EVENTS = frozenset(
    {"ReferralMade", "ReferralAnswered", "ReferralCancelled", "ReferralEscalated"}
)


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

    KEYS = {"referrals": ("referral_id",), "answers": ("referral_id", "answer")}  # noqa: RUF012

    def empty(self) -> None:
        super().empty()
        self.referrals: dict[str, list[Any]] = {}
        self.answers: dict[tuple[str, str], str] = {}

    def prefetch(self, payloads: Sequence[Payload]) -> None:
        if self.fetch_any is None:
            return
        ids = _ids(payloads, _REFERRAL_EVENTS, "referral_id")
        sql = f"SELECT {', '.join(self.COLUMNS)} FROM {{referrals}} WHERE KEYS_IN"
        self._prefetch("referrals", self.referrals, ids, sql, "referral_id", self._hold_referral)
        keys = [
            (str(p["referral_id"]), p.get("answer"))
            for t, p in payloads
            if t == "ReferralAnswered" and p.get("referral_id") is not None
        ]
        wanted = [k for k in dict.fromkeys(keys) if k not in self.answers]
        absent = self.absent.setdefault("answers", set())
        wanted = [k for k in wanted if k not in absent]
        if not wanted:
            return
        sql = "SELECT referral_id, answer, answered_at FROM {answers} WHERE KEYS_IN"
        old = self.old.setdefault("answers", set())
        rows = self.fetch_any(sql, "referral_id", list(dict.fromkeys(r for r, _ in wanted)), {})
        for referral_id, answer, at in rows:
            if (referral_id, answer) not in self.answers:
                old.add((referral_id, answer))
                self.answers[(referral_id, answer)] = at
        absent.update(k for k in wanted if k not in self.answers)

    def _hold_referral(self, row: tuple[Any, ...]) -> None:
        self.referrals[row[0]] = list(row)

    def held(self) -> int:
        return super().held() + len(self.referrals) + len(self.answers)

    def _referral(self, referral_id: str) -> list[Any] | None:
        return self._row(self.referrals, "referrals", self.COLUMNS, referral_id)

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
                self._unique(
                    "referrals",
                    self.referrals,
                    row[0],
                    "SELECT 1 FROM {referrals} WHERE referral_id = :k",
                    k=row[0],
                )
                _not_null(row[1], row[2], row[6])
                self.referrals[row[0]] = row
            case "ReferralAnswered":
                referral_id, answer = str(p["referral_id"]), p["answer"]
                at = utc_text(p["occurred_at"])
                found = self._referral(referral_id)
                if found is not None:
                    _not_null(answer)
                _not_null(answer, at)
                key = (referral_id, answer)
                if key not in self.answers:  # an answer given again keeps its first time
                    earlier = self._read(
                        "answers",
                        key,
                        "SELECT answered_at FROM {answers} WHERE referral_id = :r AND answer = :a",
                        r=referral_id,
                        a=answer,
                    )
                    self.answers[key] = at if earlier is None else earlier[0]
                if found is not None:
                    found[7], found[8] = answer, found[8] + 1
                    found[9] = at if found[9] is None or at < found[9] else found[9]
                    found[10] = at
            case "ReferralCancelled":
                found = self._referral(str(p["referral_id"]))
                if found is not None:
                    found[7] = "cancelled"
            case "ReferralEscalated":
                referral_id, at = str(p["referral_id"]), utc_text(p["occurred_at"])
                found = self._referral(referral_id)
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
    "decline_reason",
    "cancel_reason",
    "outcome",
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
        # Records a closed case still takes: its last record moves (the retention's count).
        "PersonDetailsRecorded",
        "PersonDetailsCleared",
        "BreakGlassReviewed",
    }
)

# Every event the case view's statements read (DiscoveryLinkedToCase carries a case but
# changes nothing in it).
_CASE_EVENTS = _TOUCH_ONLY | {
    "CaseOpened",
    "ConsultationReceived",
    "AssessmentRecorded",
    "TakenUpByMeeting",
    "MovedToSupportMeeting",
    "SupportDecided",
    "PlanAgreed",
    "CaseEvaluated",
    "CaseSuspended",
    "CaseClosed",
    "OutreachVisitMade",
    "SupportActivityRecorded",
}


_CONSENT_EVENTS = frozenset({"ConsentGiven", "ConsentRefused", "ConsentWithdrawn"})


class CaseStateFold(Fold):
    KEYS = {  # noqa: RUF012
        "cases": ("case_id",),
        "needs": ("case_id",),
        "referrals": ("referral_id",),
        "consents": ("consent_id",),
    }

    def empty(self) -> None:
        super().empty()
        self.cases: dict[str, list[Any]] = {}
        self.needs: dict[str, dict[str, None]] = {}  # case → its needs, in order
        self.referrals: dict[str, list[Any]] = {}
        self.consents: dict[str, list[Any]] = {}
        self.consents_of: dict[str, list[str]] = {}  # case → the consents of it held
        self.all_consents_of: set[str] = set()  # cases whose every consent is held
        self.meetings: dict[tuple[str, str], tuple[str, str, str, str]] = {}

    def prefetch(self, payloads: Sequence[Payload]) -> None:
        if self.fetch_any is None:
            return
        ids = _ids(payloads, _CASE_EVENTS, "case_id")
        sql = f"SELECT {', '.join(CASE_COLUMNS)} FROM {{cases}} WHERE KEYS_IN"
        self._prefetch("cases", self.cases, ids, sql, "case_id", self._hold_case)
        ids = _ids(payloads, _REFERRAL_EVENTS, "referral_id")
        sql = f"SELECT {', '.join(REFERRAL_COLUMNS)} FROM {{referrals}} WHERE KEYS_IN"
        self._prefetch("referrals", self.referrals, ids, sql, "referral_id", self._hold_referral)
        ids = _ids(payloads, _CONSENT_EVENTS, "consent_id")
        sql = f"SELECT {', '.join(CONSENT_COLUMNS)} FROM {{consents}} WHERE KEYS_IN"
        hold = self._hold_consent_row
        self._prefetch("consents", self.consents, ids, sql, "consent_id", hold)
        cases = [
            str(p["case_id"])
            for t, p in payloads
            if t == "ConsultationReceived" and p.get("needs") and p.get("case_id") is not None
        ]
        wanted = [case_id for case_id in dict.fromkeys(cases) if case_id not in self.needs]
        if wanted:
            found: dict[str, dict[str, None]] = {case_id: {} for case_id in wanted}
            sql = "SELECT case_id, need FROM {needs} WHERE KEYS_IN"
            for case_id, need in self.fetch_any(sql, "case_id", wanted, {}):
                found[case_id][need] = None
            for case_id, needs in found.items():
                if needs:
                    self._replaces("needs", case_id)
                self.needs[case_id] = needs

    def _hold_case(self, row: tuple[Any, ...]) -> None:
        self.cases[row[0]] = list(row)

    def _hold_referral(self, row: tuple[Any, ...]) -> None:
        self.referrals[row[0]] = list(row)

    def _hold_consent_row(self, row: tuple[Any, ...]) -> None:
        self._hold_consent(list(row))

    def held(self) -> int:
        tables: tuple[Sized, ...] = (self.cases, self.needs, self.referrals, self.consents)
        return super().held() + sum(map(len, tables)) + len(self.consents_of) + len(self.meetings)

    def _case(self, case_id: str) -> list[Any] | None:
        return self._row(self.cases, "cases", CASE_COLUMNS, case_id)

    def _needs(self, case_id: str) -> dict[str, None]:
        found = self.needs.get(case_id)
        if found is None:
            found = {}
            if self.fetch is not None:
                sql = "SELECT need FROM {needs} WHERE case_id = :k"
                found = dict.fromkeys(need for (need,) in self.fetch(sql, {"k": case_id}))
                if found:
                    self._replaces("needs", case_id)
            self.needs[case_id] = found
        return found

    def _referral(self, referral_id: str) -> list[Any] | None:
        return self._row(self.referrals, "referrals", REFERRAL_COLUMNS, referral_id)

    def _consent(self, consent_id: str) -> list[Any] | None:
        found = self.consents.get(consent_id)
        if found is None:
            sql = f"SELECT {', '.join(CONSENT_COLUMNS)} FROM {{consents}} WHERE consent_id = :k"
            row = self._read("consents", consent_id, sql, k=consent_id)
            if row is not None:
                found = self._hold_consent(list(row))
        return found

    def _hold_consent(self, row: list[Any]) -> list[Any]:
        self.consents[row[0]] = row
        self.consents_of.setdefault(row[1], []).append(row[0])
        return row

    def _consents_of(self, case_id: str) -> list[str]:
        """Every consent of the case: those held, and the view's from earlier chunks."""
        if self.fetch is not None and case_id not in self.all_consents_of:
            sql = f"SELECT {', '.join(CONSENT_COLUMNS)} FROM {{consents}} WHERE case_id = :k"
            for row in self.fetch(sql, {"k": case_id}):
                if row[0] not in self.consents:
                    self._replaces("consents", row[0])
                    self._hold_consent(list(row))
            self.all_consents_of.add(case_id)
        return self.consents_of.get(case_id, [])

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        if "case_id" not in p or event_type == "DiscoveryLinkedToCase":
            return
        case_id = str(p["case_id"])
        at = utc_text(p["occurred_at"])
        if event_type not in _CASE_EVENTS:
            return
        if event_type == "CaseOpened":
            ward, origin = p["ward"], p["origin"]
            sql = "SELECT 1 FROM {cases} WHERE case_id = :k"
            self._unique("cases", self.cases, case_id, sql, k=case_id)
            _not_null(ward)
            row: list[Any] = [None] * len(CASE_COLUMNS)
            row[0:6] = [case_id, ward, "open", origin, at, at]
            row[15:18] = [0, 0, 0]
            self.cases[case_id] = row
            return
        case = self._case(case_id)
        if event_type in _TOUCH_ONLY:
            self._apply_other(event_type, p, case_id, at)  # checks first, then changes
            if case is not None:
                case[5] = max(case[5], at)  # the last record by business time
            return
        match event_type:
            case "ConsultationReceived":
                needs = p.get("needs") or []
                _not_null(*needs)
                if case is not None:
                    case[15] += 1
                if needs:
                    self._needs(case_id).update(dict.fromkeys(needs))
            case "AssessmentRecorded":
                complexity, needs = p["complexity"], p["needs"]
                _not_null(*needs)
                if case is not None:
                    case[6] = complexity
                self._replaces("needs", case_id)
                self.needs[case_id] = dict.fromkeys(needs)
            case "TakenUpByMeeting":
                kind, meeting_id = p["kind"], str(p["meeting_id"])
                self._unique(
                    "meetings",
                    self.meetings,
                    (case_id, meeting_id),
                    "SELECT 1 FROM {meetings} WHERE case_id = :c AND meeting_id = :m",
                    c=case_id,
                    m=meeting_id,
                )
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
            case[5] = max(case[5], at)  # a back-dated record does not move it back

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
                    *([None] * 8),
                ]
                sql = "SELECT 1 FROM {referrals} WHERE referral_id = :k"
                self._unique("referrals", self.referrals, row[0], sql, k=row[0])
                _not_null(row[2])
                self.referrals[row[0]] = row
            case "ReferralAnswered":
                answer = p["answer"]
                found = self._referral(str(p["referral_id"]))
                if found is not None:
                    _not_null(answer)
                    found[6], found[8] = answer, at
                    found[7] = at if found[7] is None else found[7]
                    if answer == "declined":
                        found[12] = p.get("reason_code")
                    elif answer == "completed":
                        found[14] = p.get("outcome")
            case "ReferralCancelled":
                found = self._referral(str(p["referral_id"]))
                if found is not None:
                    found[6], found[13] = "cancelled", p["reason_code"]
            case "ReferralEscalated":
                referral_id = str(p["referral_id"])
                minutes, coordinator = p["overdue_minutes"], p["coordinator"]
                found = self._referral(referral_id)
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
                found = self._consent(str(p["consent_id"]))
                if found is not None:
                    found[2], found[10] = "withdrawn", at
            case "UseStopRequested":
                for consent_id in self._consents_of(case_id):
                    found = self.consents[consent_id]
                    if found[2] == "given":
                        found[2], found[10] = "stopped", at

    def _add_consent(self, row: list[Any]) -> None:
        sql = "SELECT 1 FROM {consents} WHERE consent_id = :k"
        self._unique("consents", self.consents, row[0], sql, k=row[0])
        self._hold_consent(row)

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


# Events whose facts take the ward of their case (or community base) from the places.
_WARD_OF_CASE = frozenset(
    {
        "ParticipationMatched",
        "OutreachVisitMade",
        "PlanAgreed",
        "SupportActivityRecorded",
        "ReferralMade",
        "ConsultationReceived",
    }
)
_WARD_OF_BASE = frozenset({"GatheringHeld"})
_REFERRAL_FACTS = frozenset({"ReferralMade", "ReferralAnswered"})


class IndicatorsFold(Fold):
    """``MemoryIndicators`` (the fold the analysts' rebuild uses) as the view's rows."""

    KEYS = {  # noqa: RUF012
        "places": ("kind", "id"),
        "tallies": ("indicator", "day", "ward"),
        "members": ("indicator", "fy", "member"),
        "referrals": ("referral_id",),
        "referral_ends": ("referral_id",),
        "targets": ("indicator", "fy"),
        "target_details": ("indicator", "fy"),
    }

    def __init__(self, *, nan_is_null: bool = False) -> None:
        super().__init__()
        self.nan_is_null = nan_is_null

    @classmethod
    def for_view(cls, view: SqlView) -> Fold:
        # SQLite stores a NaN REAL as NULL, which the targets' value refuses (NOT NULL);
        # PostgreSQL keeps NaN as a double precision.
        return cls(nan_is_null=isinstance(view, SQLiteView))

    def empty(self) -> None:
        super().empty()
        self.memory = ind.MemoryIndicators.empty()
        self.details: dict[tuple[str, int], ind.TargetDetail] = {}

    def apply(self, event_type: str, p: Mapping[str, Any]) -> None:
        facts = ind.facts(event_type, p)
        for fact in facts:  # what the view's statements work out, before anything changes
            if isinstance(fact, ind.TargetFact) and self.nan_is_null and math.isnan(fact.value):
                raise IntegrityError("NOT NULL constraint failed")
            if isinstance(fact, ind.Tally):
                ind.jst_day(fact.at)
            elif isinstance(fact, ind.Member):
                ind.fiscal_year_of(fact.at)
        detail = ind.target_detail(p) if event_type == "TargetSet" else None
        for fact in facts:
            if self.fetch is not None:
                self._hold(fact)
            self.memory.apply_fact(fact)
        if detail is not None:
            self._apply_detail(detail)

    def _apply_detail(self, d: ind.TargetDetail) -> None:
        """As the view's statement: the detail with the latest ``at`` (ties: the later)."""
        key = (d.indicator, d.fy)
        if key not in self.details:
            sql = (
                "SELECT indicator, fy, at, set_at, set_by, note FROM {target_details} "
                "WHERE indicator = :i AND fy = :fy"
            )
            row = self._read("target_details", key, sql, i=d.indicator, fy=d.fy)
            if row is not None:
                self.details[key] = ind.TargetDetail(row[0], int(row[1]), *row[2:])
        held = self.details.get(key)
        if held is None or d.at >= held.at:
            self.details[key] = d

    def prefetch(self, payloads: Sequence[Payload]) -> None:
        if self.fetch_any is None:
            return
        places = self.memory.places
        for kind, types, field in (
            ("case", _WARD_OF_CASE, "case_id"),
            ("base", _WARD_OF_BASE, "base_id"),
        ):
            ids = [(kind, i) for i in _ids(payloads, types, field)]
            sql = "SELECT kind, id, ward FROM {places} WHERE kind = :kind AND KEYS_IN"
            absent = self.absent.setdefault("places", set())
            wanted = [key for key in dict.fromkeys(ids) if key not in places and key not in absent]
            if wanted:
                old = self.old.setdefault("places", set())
                for found_kind, place_id, ward in self.fetch_any(
                    sql, "id", [i for _, i in wanted], {"kind": kind}
                ):
                    old.add((found_kind, place_id))
                    places[(found_kind, place_id)] = ward
                absent.update(key for key in wanted if key not in places)
        referrals = _ids(payloads, _REFERRAL_FACTS, "referral_id")
        sql = (
            "SELECT referral_id, sent_at, agency_id, ward, first_answer_at, closed_at "
            "FROM {referrals} WHERE KEYS_IN"
        )
        hold = self._hold_referral
        self._prefetch("referrals", self.memory.referrals, referrals, sql, "referral_id", hold)

    def _hold_referral(self, row: tuple[Any, ...]) -> None:
        self.memory.referrals[row[0]] = ind.ReferralRow(*row)

    def held(self) -> int:
        m = self.memory
        tables: tuple[Sized, ...] = (
            m.places,
            m.tallies,
            m.members,
            m.referrals,
            m.targets,
            self.details,
        )
        return super().held() + sum(map(len, tables)) + len(m.ends)

    def _hold(self, fact: ind.Fact) -> None:
        """Read back the view's rows ``fact`` reads or changes that memory does not hold."""
        m = self.memory
        match fact:
            case ind.PlaceWard(place, _):
                self._replaces("places", place)
            case ind.Tally(indicator, at, _, ward, place):
                key = (indicator, ind.jst_day(at), self._ward_of(ward, place))
                if key not in m.tallies:
                    sql = "SELECT n FROM {tallies} WHERE indicator = :i AND day = :d AND ward = :w"
                    row = self._read("tallies", key, sql, i=key[0], d=key[1], w=key[2])
                    if row is not None:
                        m.tallies[key] = int(row[0])
            case ind.Member(indicator, at, member, ward, place):
                self._ward(ward, place)
                mkey = (indicator, ind.fiscal_year_of(at), member)
                if mkey not in m.members:
                    sql = (
                        "SELECT at, ward FROM {members} "
                        "WHERE indicator = :i AND fy = :fy AND member = :m"
                    )
                    row = self._read("members", mkey, sql, i=indicator, fy=mkey[1], m=member)
                    if row is not None:
                        m.members[mkey] = (row[0], row[1])
            case ind.ReferralSent(referral_id, _, _, place):
                self._ward(None, place)
                self._referral(referral_id)
            case ind.ReferralReply(referral_id):
                self._referral(referral_id)
            case ind.ReferralEnd(referral_id):
                self._replaces("referral_ends", referral_id)
            case ind.TargetFact(indicator, fy):
                if (indicator, fy) not in m.targets:
                    sql = "SELECT at, value FROM {targets} WHERE indicator = :i AND fy = :fy"
                    row = self._read("targets", (indicator, fy), sql, i=indicator, fy=fy)
                    if row is not None:
                        m.targets[(indicator, fy)] = (row[0], row[1])

    def _ward(self, ward: str | None, place: ind.Place | None) -> None:
        """Hold the ward of ``place`` if the event's own ward does not decide."""
        if ward is not None or place is None or place in self.memory.places:
            return
        sql = "SELECT ward FROM {places} WHERE kind = :kind AND id = :id"
        row = self._read("places", place, sql, kind=place[0], id=place[1])
        if row is not None:
            self.memory.places[place] = row[0]

    def _ward_of(self, ward: str | None, place: ind.Place | None) -> str:
        self._ward(ward, place)
        return self.memory.ward(ward, place)

    def _referral(self, referral_id: str) -> None:
        if referral_id in self.memory.referrals:
            return
        sql = (
            "SELECT referral_id, sent_at, agency_id, ward, first_answer_at, closed_at "
            "FROM {referrals} WHERE referral_id = :k"
        )
        row = self._read("referrals", referral_id, sql, k=referral_id)
        if row is not None:
            self.memory.referrals[referral_id] = ind.ReferralRow(*row)

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
            "target_details": (
                ("indicator", "fy", "at", "set_at", "set_by", "note"),
                [
                    (d.indicator, d.fy, d.at, d.set_at, d.set_by, d.note)
                    for d in self.details.values()
                ],
            ),
        }


FOLDS: dict[type[HubProjection[Any]], type[Fold]] = {
    CaseStateProjection: CaseStateFold,
    InboxProjection: InboxFold,
    IndicatorsProjection: IndicatorsFold,
}

QUARANTINE_COLUMNS = ("position", "event_id", "event_type", "reason")


class BulkView:
    """A projection's fold and its quarantine, written to its view at the end of each chunk
    of the log (``write``); the view is read back only after the first chunk's write."""

    def __init__(
        self, projection: HubProjection[Any], fold: Fold, odd_texts: OddTexts | None = None
    ) -> None:
        self.projection = projection
        self.fold = fold
        self.odd_texts = odd_texts or OddTexts()
        self.quarantine: list[tuple[Any, ...]] = []
        # PostgreSQL's text refuses a NUL character (SQLite keeps it).
        self.nul_refused = isinstance(projection.view, PostgresView)
        self.position = 0  # the view's position: where the last write left it
        self._reading = ExitStack()
        self._fetch: Fetch | None = None

    def _read_back(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Reads the view, in one read transaction for the whole chunk (opened on the first
        read, closed before the chunk is written)."""
        if self._fetch is None:
            self._fetch = self._reading.enter_context(self.projection.view.reading())
        return self._fetch(sql, params)

    def _read_back_any(
        self, sql: str, column: str, keys: Sequence[str], params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        view = self.projection.view
        statement = sql.replace("KEYS_IN", view.any_of(column, "keys"))
        return self._read_back(statement, {**params, "keys": view.texts(keys)})

    def prefetch(self, decoded: Sequence[Any]) -> None:
        """``Fold.prefetch`` for the payloads of a batch (nothing before the first write)."""
        if self.fold.fetch_any is not None:
            self.fold.prefetch([found for found, _ in decoded if isinstance(found, tuple)])

    def close(self) -> None:
        self._fetch = None
        self._reading.close()

    def take(self, found: Payload | Rejected | None, tracking: Tracking) -> None:
        if found is None:
            return
        if isinstance(found, Rejected):
            self._quarantine(tracking, found.reason)
            return
        try:
            if self.odd_texts(found[1], self.nul_refused):
                self._refuse_as_the_store(found)
            self.fold.apply(*found)
        except OUTAGES:
            raise  # the store is away (reading back): stop, as the statements would
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
        """Write every row held and the position ``tracking`` in one transaction; then hold
        nothing, and read the view back for the rows of the chunks to come."""
        self.close()
        rows = dict(self.fold.rows())
        rows["quarantine"] = (QUARANTINE_COLUMNS, self.quarantine)
        view = self.projection.view
        view.write_all(rows, tracking, after=self.position, replaced=self.fold.replaced())
        self.position = tracking.notification_id
        self.quarantine = []
        self.fold.empty()
        self.fold.fetch = self._read_back
        self.fold.fetch_any = self._read_back_any


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


class OddTexts:
    """``_odd_text`` of the payload last asked about: the views of one rebuild are handed
    the same payload one after another, and one walk over it does for all of them."""

    def __init__(self) -> None:
        self.payload: Any = None
        self.found: dict[bool, bool] = {}

    def __call__(self, payload: Any, nul: bool) -> bool:
        if payload is not self.payload:
            self.payload, self.found = payload, {}
        odd = self.found.get(nul)
        if odd is None:
            odd = self.found[nul] = _odd_text(payload, nul)
        return odd


def bulk_view(projection: HubProjection[Any], odd_texts: OddTexts | None = None) -> BulkView | None:
    """The projection's fold, if it is one of the hub's own (not a subclass)."""
    fold = FOLDS.get(type(projection))
    return BulkView(projection, fold.for_view(projection.view), odd_texts) if fold else None
