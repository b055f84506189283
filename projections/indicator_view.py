"""The indicators projection: the fold of ``projections.indicators`` kept in SQL.

Tallies are kept per (indicator, JST day, ward), distinct members per (indicator, fiscal
year, member) at their first occurrence, so that a report can be cut exactly at any day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from projections import indicators as ind
from projections.base import HubProjection
from projections.sqlview import PostgresView, SQLiteView, SqlView, Statement

_WARD = "COALESCE(:ward, (SELECT p.ward FROM {places} p WHERE p.kind = :kind AND p.id = :id), '')"


def _place(place: ind.Place | None) -> dict[str, Any]:
    return {"kind": place[0] if place else None, "id": place[1] if place else None}


def statements(event_type: str, payload: Mapping[str, Any]) -> list[Statement]:
    result: list[Statement] = []
    for fact in ind.facts(event_type, payload):
        match fact:
            case ind.PlaceWard(place, ward):
                result.append(
                    Statement(
                        "INSERT INTO {places} (kind, id, ward) VALUES (:kind, :id, :ward) "
                        "ON CONFLICT (kind, id) DO UPDATE SET ward = excluded.ward",
                        {**_place(place), "ward": ward},
                    )
                )
            case ind.Tally(indicator, at, n, ward, place):
                result.append(
                    Statement(
                        "INSERT INTO {tallies} AS t (indicator, day, ward, n) "
                        f"VALUES (:indicator, :day, {_WARD}, :n) "
                        "ON CONFLICT (indicator, day, ward) DO UPDATE SET n = t.n + excluded.n",
                        {
                            "indicator": indicator,
                            "day": ind.jst_day(at),
                            "ward": ward,
                            "n": n,
                            **_place(place),
                        },
                    )
                )
            case ind.Member(indicator, at, member, ward, place):
                result.append(
                    Statement(
                        "INSERT INTO {members} AS m (indicator, fy, member, at, ward) "
                        f"VALUES (:indicator, :fy, :member, :at, {_WARD}) "
                        "ON CONFLICT (indicator, fy, member) DO UPDATE "
                        "SET at = excluded.at, ward = excluded.ward "
                        "WHERE excluded.at < m.at "
                        "OR (excluded.at = m.at AND excluded.ward < m.ward)",
                        {
                            "indicator": indicator,
                            "fy": ind.fiscal_year_of(at),
                            "member": member,
                            "at": at,
                            "ward": ward,
                            **_place(place),
                        },
                    )
                )
            case ind.ReferralSent(referral_id, at, agency_id, place):
                result.append(
                    Statement(
                        "INSERT INTO {referrals} AS r (referral_id, sent_at, agency_id, ward) "
                        f"VALUES (:referral_id, :at, :agency_id, {_WARD}) "
                        "ON CONFLICT (referral_id) DO UPDATE SET sent_at = excluded.sent_at, "
                        "agency_id = excluded.agency_id, ward = excluded.ward",
                        {
                            "referral_id": referral_id,
                            "at": at,
                            "agency_id": agency_id,
                            "ward": None,
                            **_place(place),
                        },
                    )
                )
            case ind.ReferralEnd(referral_id, at, end):
                result.append(
                    Statement(
                        "INSERT INTO {referral_ends} (referral_id, end_kind, at) "
                        "VALUES (:referral_id, :end, :at) ON CONFLICT (referral_id) DO UPDATE "
                        "SET end_kind = excluded.end_kind, at = excluded.at",
                        {"referral_id": referral_id, "end": end, "at": at},
                    )
                )
            case ind.TargetFact(indicator, fy, value, at):
                result.append(
                    Statement(
                        "INSERT INTO {targets} AS t (indicator, fy, value, at) "
                        "VALUES (:indicator, :fy, :value, :at) "
                        "ON CONFLICT (indicator, fy) DO UPDATE SET value = excluded.value, "
                        "at = excluded.at WHERE excluded.at >= t.at",
                        {"indicator": indicator, "fy": fy, "value": value, "at": at},
                    )
                )
            case ind.ReferralReply(referral_id, at, closes):
                result.append(
                    Statement(
                        "INSERT INTO {referrals} AS r (referral_id, first_answer_at, closed_at) "
                        "VALUES (:referral_id, :at, :closed_at) "
                        "ON CONFLICT (referral_id) DO UPDATE SET "
                        "first_answer_at = CASE WHEN r.first_answer_at IS NULL "
                        "OR excluded.first_answer_at < r.first_answer_at "
                        "THEN excluded.first_answer_at ELSE r.first_answer_at END, "
                        "closed_at = CASE WHEN excluded.closed_at IS NOT NULL "
                        "AND (r.closed_at IS NULL OR excluded.closed_at < r.closed_at) "
                        "THEN excluded.closed_at ELSE r.closed_at END",
                        {"referral_id": referral_id, "at": at, "closed_at": at if closes else None},
                    )
                )
    if event_type == "TargetSet":
        d = ind.target_detail(payload)
        result.append(
            Statement(
                "INSERT INTO {target_details} AS t (indicator, fy, at, set_at, set_by, note) "
                "VALUES (:indicator, :fy, :at, :set_at, :set_by, :note) "
                "ON CONFLICT (indicator, fy) DO UPDATE SET at = excluded.at, "
                "set_at = excluded.set_at, set_by = excluded.set_by, note = excluded.note "
                "WHERE excluded.at >= t.at",
                {
                    "indicator": d.indicator,
                    "fy": d.fy,
                    "at": d.at,
                    "set_at": d.set_at,
                    "set_by": d.set_by,
                    "note": d.note,
                },
            )
        )
    return result


class IndicatorView(SqlView):
    # 2: a participating body is counted by its name with widths and spaces folded
    # (``indicators.body_name``); a view written by version 1 counted the names as typed.
    # 3: a business that left the network (CooperatingBusinessWithdrawn) and a base that
    # closed (CommunityBaseClosed) leave their stock from that day; version 2 knew neither.
    RULES_VERSION: ClassVar[int] = 3
    TABLES = {  # noqa: RUF012
        "places": "kind TEXT NOT NULL, id TEXT NOT NULL, ward TEXT NOT NULL, "
        "PRIMARY KEY (kind, id)",
        "tallies": "indicator TEXT NOT NULL, day TEXT NOT NULL, ward TEXT NOT NULL, "
        "n BIGINT NOT NULL, PRIMARY KEY (indicator, day, ward)",
        "members": "indicator TEXT NOT NULL, fy INTEGER NOT NULL, member TEXT NOT NULL, "
        "at TEXT NOT NULL, ward TEXT NOT NULL, PRIMARY KEY (indicator, fy, member)",
        "referrals": "referral_id TEXT PRIMARY KEY, sent_at TEXT, agency_id TEXT, ward TEXT, "
        "first_answer_at TEXT, closed_at TEXT",
        # How referrals ended (an outcome of completion, or cancelled): a table of its own, so
        # stores made before it only gain a table.
        "referral_ends": "referral_id TEXT PRIMARY KEY, end_kind TEXT NOT NULL, at TEXT NOT NULL",
        "targets": "indicator TEXT NOT NULL, fy INTEGER NOT NULL, value DOUBLE PRECISION NOT "
        "NULL, at TEXT NOT NULL, PRIMARY KEY (indicator, fy)",
        # Who set the target in force, when and why (the same event wins as in targets): a
        # table of its own, so stores made before it only gain a table (filled by a rebuild).
        "target_details": "indicator TEXT NOT NULL, fy INTEGER NOT NULL, at TEXT NOT NULL, "
        "set_at TEXT NOT NULL, set_by TEXT, note TEXT, PRIMARY KEY (indicator, fy)",
    }

    def target_details(self, fy: int) -> dict[str, ind.TargetDetail]:
        rows = self.query(
            "SELECT indicator, fy, at, set_at, set_by, note FROM {target_details} "
            "WHERE fy = :fy ORDER BY indicator",
            {"fy": fy},
        )
        return {
            r["indicator"]: ind.TargetDetail(
                r["indicator"], int(r["fy"]), r["at"], r["set_at"], r["set_by"], r["note"]
            )
            for r in rows
        }

    def target_values(self, fy: int) -> dict[str, float]:
        rows = self.query(
            "SELECT indicator, value FROM {targets} WHERE fy = :fy ORDER BY indicator", {"fy": fy}
        )
        return {r["indicator"]: float(r["value"]) for r in rows}

    def tally_rows(self, last_day: str) -> list[ind.TallyRow]:
        rows = self.query(
            "SELECT indicator, day, ward, n FROM {tallies} WHERE day <= :last", {"last": last_day}
        )
        return [ind.TallyRow(r["indicator"], r["day"], r["ward"], int(r["n"])) for r in rows]

    def member_rows(self, fy: int) -> list[ind.MemberRow]:
        rows = self.query(
            "SELECT indicator, fy, member, at, ward FROM {members} WHERE fy = :fy", {"fy": fy}
        )
        return [
            ind.MemberRow(r["indicator"], int(r["fy"]), r["member"], r["at"], r["ward"])
            for r in rows
        ]

    def referral_rows(self, first: str, end: str) -> list[ind.ReferralRow]:
        rows = self.query(
            "SELECT r.*, e.end_kind, e.at AS end_at FROM {referrals} r "
            "LEFT JOIN {referral_ends} e ON e.referral_id = r.referral_id "
            "WHERE r.sent_at >= :first AND r.sent_at < :end",
            {"first": first, "end": end},
        )
        return [
            ind.ReferralRow(
                r["referral_id"],
                r["sent_at"],
                r["agency_id"],
                r["ward"],
                r["first_answer_at"],
                r["closed_at"],
                end=r["end_kind"],
                end_at=r["end_at"],
            )
            for r in rows
        ]


class SQLiteIndicatorView(IndicatorView, SQLiteView):
    pass


class PostgresIndicatorView(IndicatorView, PostgresView):
    pass


class IndicatorsProjection(HubProjection[IndicatorView]):
    name = "indicators"
    views = {"sqlite": SQLiteIndicatorView, "postgres": PostgresIndicatorView}  # noqa: RUF012

    def statements(self, event_type: str, payload: Mapping[str, Any]) -> list[Statement]:
        return statements(event_type, payload)
