"""Case state for coordinators: status, ward, lead agency, needs, referrals and their answers,
consent in force and its history, meetings, plan, last visit, pending escalations.

Codes, ids and times only: no names, addresses, notes or reasons ever reach this view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from projections.base import HubProjection
from projections.indicators import utc_text
from projections.sqlview import PostgresView, SQLiteView, SqlView, Statement


def _update(columns: str, payload: Mapping[str, Any], **params: Any) -> Statement:
    return Statement(
        # The case's last record by business time: a back-dated record does not move it back
        # (the retention schedule counts from it: hub/retention.py).
        f"UPDATE {{cases}} SET {columns}, "
        "updated_at = CASE WHEN :at > updated_at THEN :at ELSE updated_at END "
        "WHERE case_id = :case_id",
        {"case_id": str(payload["case_id"]), "at": utc_text(payload["occurred_at"]), **params},
    )


def statements(event_type: str, p: Mapping[str, Any]) -> list[Statement]:
    if "case_id" not in p or event_type == "DiscoveryLinkedToCase":
        return []
    case_id = str(p["case_id"])
    at = utc_text(p["occurred_at"])
    base = {"case_id": case_id, "at": at}
    match event_type:
        case "CaseOpened":
            return [
                Statement(
                    "INSERT INTO {cases} (case_id, ward, status, origin, opened_at, updated_at, "
                    "consultations) VALUES (:case_id, :ward, 'open', :origin, :at, :at, 0)",
                    {**base, "ward": p["ward"], "origin": p["origin"]},
                )
            ]
        case "ConsultationReceived":
            return [
                _update("consultations = consultations + 1", p),
                *_add_needs(case_id, p.get("needs") or []),
            ]
        case "AssessmentRecorded":
            return [
                _update("complexity = :complexity", p, complexity=p["complexity"]),
                Statement("DELETE FROM {needs} WHERE case_id = :case_id", base),
                *_add_needs(case_id, p["needs"]),
            ]
        case "ReferralMade":
            return [
                _update("status = status", p),
                Statement(
                    "INSERT INTO {referrals} (referral_id, case_id, agency_id, purpose, urgency, "
                    "made_at, status) VALUES (:referral_id, :case_id, :agency_id, :purpose, "
                    ":urgency, :at, 'sent')",
                    {
                        **base,
                        "referral_id": str(p["referral_id"]),
                        "agency_id": p["agency_id"],
                        "purpose": p["purpose"],
                        "urgency": p["urgency"],
                    },
                ),
            ]
        case "ReferralAnswered":
            return [
                _update("status = status", p),
                Statement(
                    # A decline keeps its coded reason, a completion its outcome.
                    "UPDATE {referrals} SET status = :answer, last_answer_at = :at, "
                    "answered_at = COALESCE(answered_at, :at), "
                    "decline_reason = CASE WHEN :answer = 'declined' THEN :reason_code "
                    "ELSE decline_reason END, "
                    "outcome = CASE WHEN :answer = 'completed' THEN :outcome ELSE outcome END "
                    "WHERE referral_id = :referral_id",
                    {
                        **base,
                        "answer": p["answer"],
                        "referral_id": str(p["referral_id"]),
                        "reason_code": p.get("reason_code"),
                        "outcome": p.get("outcome"),
                    },
                ),
            ]
        case "ReferralCancelled":
            return [
                _update("status = status", p),
                Statement(
                    "UPDATE {referrals} SET status = 'cancelled', cancel_reason = :reason_code "
                    "WHERE referral_id = :referral_id",
                    {**base, "referral_id": str(p["referral_id"]), "reason_code": p["reason_code"]},
                ),
            ]
        case "ReferralEscalated":
            return [
                _update("status = status", p),
                Statement(
                    "UPDATE {referrals} SET escalated_at = :at, overdue_minutes = :minutes, "
                    "escalated_to = :coordinator WHERE referral_id = :referral_id",
                    {
                        **base,
                        "referral_id": str(p["referral_id"]),
                        "minutes": p["overdue_minutes"],
                        "coordinator": p["coordinator"],
                    },
                ),
            ]
        case "ConsentGiven":
            return [
                _update("status = status", p),
                Statement(
                    "INSERT INTO {consents} (consent_id, case_id, state, recorded_at, valid_from, "
                    "valid_until, scope, purposes, data_categories, by_proxy) VALUES (:consent_id, "
                    ":case_id, 'given', :at, :valid_from, :valid_until, :scope, :purposes, "
                    ":categories, :by_proxy)",
                    {
                        **base,
                        "consent_id": str(p["consent_id"]),
                        "valid_from": utc_text(p["valid_from"]),
                        "valid_until": utc_text(p["valid_until"]),
                        "scope": json.dumps(p["scope"]),
                        "purposes": json.dumps(p["purposes"]),
                        "categories": json.dumps(p["data_categories"]),
                        "by_proxy": 1 if p.get("by_proxy") else 0,
                    },
                ),
            ]
        case "ConsentRefused":
            return [
                _update("status = status", p),
                Statement(
                    "INSERT INTO {consents} (consent_id, case_id, state, recorded_at, scope, "
                    "by_proxy) VALUES (:consent_id, :case_id, 'refused', :at, :scope, 0)",
                    {**base, "consent_id": str(p["consent_id"]), "scope": json.dumps(p["scope"])},
                ),
            ]
        case "ConsentWithdrawn":
            return [
                _update("status = status", p),
                Statement(
                    "UPDATE {consents} SET state = 'withdrawn', withdrawn_at = :at "
                    "WHERE consent_id = :consent_id",
                    {**base, "consent_id": str(p["consent_id"])},
                ),
            ]
        case "UseStopRequested":
            # 利用停止: the consents given so far release nothing more (a withdrawal's time).
            return [
                _update("status = status", p),
                Statement(
                    "UPDATE {consents} SET state = 'stopped', withdrawn_at = :at "
                    "WHERE case_id = :case_id AND state = 'given'",
                    base,
                ),
            ]
        case "TakenUpByMeeting":
            return [
                _update(
                    "meeting_kind = CASE WHEN meeting_kind = 'support' THEN 'support' "
                    "ELSE :kind END",
                    p,
                    kind=p["kind"],
                ),
                Statement(
                    "INSERT INTO {meetings} (case_id, meeting_id, kind, held_at) "
                    "VALUES (:case_id, :meeting_id, :kind, :at)",
                    {**base, "meeting_id": str(p["meeting_id"]), "kind": p["kind"]},
                ),
            ]
        case "MovedToSupportMeeting":
            return [_update("meeting_kind = 'support'", p)]
        case "SupportDecided":
            return [_update("status = 'in_support', lead_agency = :lead", p, lead=p["lead_agency"])]
        case "PlanAgreed":
            return [
                _update(
                    "status = 'in_support', lead_agency = :lead, plan_id = :plan_id, "
                    "plan_revision = :revision, monitoring_date = :monitoring",
                    p,
                    lead=p["lead_agency"],
                    plan_id=str(p["plan_id"]),
                    revision=p["revision"],
                    monitoring=str(p["monitoring_date"]),
                )
            ]
        case "CaseEvaluated":
            return [_update("evaluation = :evaluation", p, evaluation=p["evaluation"])]
        case "CaseSuspended":
            return [_update("status = 'suspended'", p)]
        case "CaseClosed":
            return [_update("status = 'closed'", p)]
        case "OutreachVisitMade":
            return [
                _update(
                    "visits = visits + 1, "
                    "last_visit_outcome = CASE WHEN last_visit_at IS NULL OR last_visit_at <= :at "
                    "THEN :outcome ELSE last_visit_outcome END, "
                    "last_visit_at = CASE WHEN last_visit_at IS NULL OR last_visit_at <= :at "
                    "THEN :at ELSE last_visit_at END",
                    p,
                    outcome=p["outcome"],
                )
            ]
        case "SupportActivityRecorded":
            return [_update("activities = activities + 1", p)]
        case (
            "ParticipationMatched"
            | "WatchOverArranged"
            | "EmergencyDeclared"
            | "EmergencyEnded"
            # Records a closed case still takes (訂正, a break-glass verdict): its last record
            # moves, and with it the retention schedule's count (docs/PRIVACY.md).
            | "PersonDetailsRecorded"
            | "PersonDetailsCleared"
            | "BreakGlassReviewed"
        ):
            return [_update("status = status", p)]
    return []


def _add_needs(case_id: str, needs: list[str]) -> list[Statement]:
    return [
        Statement(
            "INSERT INTO {needs} (case_id, need) VALUES (:case_id, :need) "
            "ON CONFLICT (case_id, need) DO NOTHING",
            {"case_id": case_id, "need": need},
        )
        for need in needs
    ]


class CaseStateView(SqlView):
    # 2: a referral keeps the coded reason it ended with (decline, outcome, cancellation).
    # 3: a correction, a clearing or a break-glass verdict is the case's last record too.
    RULES_VERSION: ClassVar[int] = 3
    TABLES = {  # noqa: RUF012
        "cases": "case_id TEXT PRIMARY KEY, ward TEXT NOT NULL, status TEXT NOT NULL, "
        "origin TEXT, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL, complexity TEXT, "
        "lead_agency TEXT, meeting_kind TEXT, plan_id TEXT, plan_revision INTEGER, "
        "monitoring_date TEXT, evaluation TEXT, last_visit_at TEXT, last_visit_outcome TEXT, "
        "consultations INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, "
        "activities INTEGER NOT NULL DEFAULT 0",
        "needs": "case_id TEXT NOT NULL, need TEXT NOT NULL, PRIMARY KEY (case_id, need)",
        "referrals": "referral_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, agency_id TEXT NOT "
        "NULL, purpose TEXT, urgency TEXT, made_at TEXT NOT NULL, status TEXT NOT NULL, "
        "answered_at TEXT, last_answer_at TEXT, escalated_at TEXT, overdue_minutes INTEGER, "
        "escalated_to TEXT, decline_reason TEXT, cancel_reason TEXT, outcome TEXT",
        "consents": "consent_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, state TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL, valid_from TEXT, valid_until TEXT, scope TEXT, "
        "purposes TEXT, data_categories TEXT, by_proxy INTEGER NOT NULL DEFAULT 0, "
        "withdrawn_at TEXT",
        "meetings": "case_id TEXT NOT NULL, meeting_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "held_at TEXT NOT NULL, PRIMARY KEY (case_id, meeting_id)",
    }
    INDEXES = {  # noqa: RUF012
        "referrals_case": ("referrals", "case_id"),
        "consents_case": ("consents", "case_id"),
    }

    def case(self, case_id: str, now: datetime) -> dict[str, Any] | None:
        """One case with its referrals, consents (and the one in force at ``now``), meetings."""
        rows = self.query("SELECT * FROM {cases} WHERE case_id = :id", {"id": case_id})
        if not rows:
            return None
        case = rows[0]
        params = {"id": case_id}
        case["needs"] = [
            r["need"]
            for r in self.query(
                "SELECT need FROM {needs} WHERE case_id = :id ORDER BY need", params
            )
        ]
        case["referrals"] = self.query(
            "SELECT * FROM {referrals} WHERE case_id = :id ORDER BY made_at, referral_id", params
        )
        consents = self.query(
            "SELECT * FROM {consents} WHERE case_id = :id ORDER BY recorded_at, consent_id", params
        )
        for consent in consents:
            for key in ("scope", "purposes", "data_categories"):
                consent[key] = json.loads(consent[key]) if consent[key] else []
        case["consents"] = consents
        instant = utc_text(now)
        in_force = [
            c["consent_id"]
            for c in consents
            if c["state"] == "given" and c["valid_from"] <= instant < c["valid_until"]
        ]
        case["consent_in_force"] = in_force[-1] if in_force else None
        case["meetings"] = self.query(
            "SELECT meeting_id, kind, held_at FROM {meetings} WHERE case_id = :id "
            "ORDER BY held_at, meeting_id",
            params,
        )
        case["pending_escalations"] = [
            r["referral_id"]
            for r in case["referrals"]
            if r["escalated_at"] is not None and r["status"] == "sent"
        ]
        return case

    def meetings(self, ward: str | None = None) -> list[dict[str, Any]]:
        """Meetings that took up cases (of a ward): one row per meeting and case."""
        sql = (
            "SELECT m.meeting_id, m.kind, m.held_at, m.case_id, c.ward FROM {meetings} m "
            "JOIN {cases} c ON c.case_id = m.case_id"
        )
        if ward:
            sql += " WHERE c.ward = :ward"
        return self.query(sql + " ORDER BY m.held_at, m.meeting_id, m.case_id", {"ward": ward})

    def case_ids(self) -> list[str]:
        """Every case the view holds (what a short id is resolved against)."""
        return [r["case_id"] for r in self.query("SELECT case_id FROM {cases}")]

    def cases(self, ward: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM {cases} WHERE 1 = 1"
        if ward:
            sql += " AND ward = :ward"
        if status:
            sql += " AND status = :status"
        rows = self.query(sql + " ORDER BY opened_at, case_id", {"ward": ward, "status": status})
        open_referrals = {
            r["case_id"]: int(r["n"])
            for r in self.query(
                "SELECT case_id, COUNT(*) AS n FROM {referrals} "
                "WHERE status IN ('sent', 'received') GROUP BY case_id"
            )
        }
        for row in rows:
            row["open_referrals"] = open_referrals.get(row["case_id"], 0)
        return rows


class SQLiteCaseStateView(CaseStateView, SQLiteView):
    pass


class PostgresCaseStateView(CaseStateView, PostgresView):
    pass


class CaseStateProjection(HubProjection[CaseStateView]):
    name = "case_state"
    views = {"sqlite": SQLiteCaseStateView, "postgres": PostgresCaseStateView}  # noqa: RUF012

    def statements(self, event_type: str, payload: Mapping[str, Any]) -> list[Statement]:
        return statements(event_type, payload)
