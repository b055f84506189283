"""Hub-side inboxes: per agency, what the hub sent it and what it answered, and when.

So the city sees unanswered referrals. Codes, ids and times only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from projections.base import HubProjection
from projections.indicators import utc_text
from projections.sqlview import PostgresView, SQLiteView, SqlView, Statement


def statements(event_type: str, p: Mapping[str, Any]) -> list[Statement]:
    match event_type:
        case "ReferralMade":
            return [
                Statement(
                    "INSERT INTO {referrals} (referral_id, agency_id, case_id, ward, purpose, "
                    "urgency, sent_at, status, answers) VALUES (:referral_id, :agency_id, "
                    ":case_id, :ward, :purpose, :urgency, :at, 'sent', 0)",
                    {
                        "referral_id": str(p["referral_id"]),
                        "agency_id": p["agency_id"],
                        "case_id": str(p["case_id"]),
                        "ward": p["ward"],
                        "purpose": p["purpose"],
                        "urgency": p["urgency"],
                        "at": utc_text(p["occurred_at"]),
                    },
                )
            ]
        case "ReferralAnswered":
            params = {
                "referral_id": str(p["referral_id"]),
                "answer": p["answer"],
                "at": utc_text(p["occurred_at"]),
            }
            return [
                Statement(
                    # The first answer is the earliest given (COUNTING-RULES.md), not the
                    # first recorded: a late entry (a phone answer) may be dated before it.
                    # The times are fixed-width UTC text, so text order is time order.
                    "UPDATE {referrals} SET status = :answer, answers = answers + 1, "
                    "first_answer_at = CASE WHEN first_answer_at IS NULL "
                    "OR :at < first_answer_at THEN :at ELSE first_answer_at END, "
                    "last_answer_at = :at WHERE referral_id = :referral_id",
                    params,
                ),
                Statement(
                    # in_progress ⇄ on_hold gives an answer again: its first time stays.
                    "INSERT INTO {answers} (referral_id, answer, answered_at) "
                    "VALUES (:referral_id, :answer, :at) "
                    "ON CONFLICT (referral_id, answer) DO NOTHING",
                    params,
                ),
            ]
        case "ReferralCancelled":
            return [
                Statement(
                    "UPDATE {referrals} SET status = 'cancelled' WHERE referral_id = :referral_id",
                    {"referral_id": str(p["referral_id"])},
                )
            ]
        case "ReferralEscalated":
            return [
                Statement(
                    "UPDATE {referrals} SET escalated_at = :at WHERE referral_id = :referral_id",
                    {"referral_id": str(p["referral_id"]), "at": utc_text(p["occurred_at"])},
                )
            ]
    return []


# A referral waits for an answer while it has none and the referrer has not cancelled it: a
# cancelled one can no longer be answered (409), and was listed as unanswered all the same.
AWAITING = "answers = 0 AND status <> 'cancelled'"


def awaiting(row: Mapping[str, Any]) -> bool:
    """Whether a row of the view waits for the agency's answer (``AWAITING``)."""
    return row["answers"] == 0 and row["status"] != "cancelled"


class InboxView(SqlView):
    TABLES = {  # noqa: RUF012
        "referrals": "referral_id TEXT PRIMARY KEY, agency_id TEXT NOT NULL, case_id TEXT NOT "
        "NULL, ward TEXT, purpose TEXT, urgency TEXT, sent_at TEXT NOT NULL, status TEXT NOT "
        "NULL, answers INTEGER NOT NULL DEFAULT 0, first_answer_at TEXT, last_answer_at TEXT, "
        "escalated_at TEXT",
        "answers": "referral_id TEXT NOT NULL, answer TEXT NOT NULL, answered_at TEXT NOT NULL, "
        "PRIMARY KEY (referral_id, answer)",
    }
    INDEXES = {"referrals_agency": ("referrals", "agency_id, sent_at, referral_id")}  # noqa: RUF012

    def inbox(self, agency_id: str, *, unanswered_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM {referrals} WHERE agency_id = :agency"
        if unanswered_only:
            sql += f" AND {AWAITING}"
        return self.query(sql + " ORDER BY sent_at, referral_id", {"agency": agency_id})

    def referral(self, referral_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM {referrals} WHERE referral_id = :id", {"id": referral_id})
        return rows[0] if rows else None

    def waiting(self, ward: str | None, *, escalated: bool) -> list[dict[str, Any]]:
        """Referrals of a ward with no answer yet (a cancelled one awaits none), or those
        escalated to its coordinator."""
        sql = "SELECT * FROM {referrals} WHERE " + (
            "escalated_at IS NOT NULL" if escalated else AWAITING
        )
        if ward:
            sql += " AND ward = :ward"
        return self.query(sql + " ORDER BY sent_at, referral_id", {"ward": ward})

    def answers(self, referral_id: str) -> list[dict[str, Any]]:
        return self.query(
            "SELECT answer, answered_at FROM {answers} WHERE referral_id = :id "
            "ORDER BY answered_at, answer",
            {"id": referral_id},
        )


class SQLiteInboxView(InboxView, SQLiteView):
    pass


class PostgresInboxView(InboxView, PostgresView):
    pass


class InboxProjection(HubProjection[InboxView]):
    name = "inbox"
    views = {"sqlite": SQLiteInboxView, "postgres": PostgresInboxView}  # noqa: RUF012

    def statements(self, event_type: str, payload: Mapping[str, Any]) -> list[Statement]:
        return statements(event_type, payload)
