"""Every value a command shares with the event it makes reaches that event.

The application passes command fields to the aggregates by name (no copying by matching
names, which turned a renamed field silently into None); this test catches a field added to
both a command and its event but not passed along.
"""

from __future__ import annotations

import re
from pathlib import Path

from hub import commands as c
from hub import events as ev

APPLICATION = Path(__file__).resolve().parents[2] / "hub" / "application.py"
MADE = {
    "ReportDiscovery": "DiscoveryReported",
    "ClearPersonDetails": "PersonDetailsCleared",
    "RecordAssessment": "AssessmentRecorded",
    "ReferCase": "ReferralMade",
    "AnswerReferral": "ReferralAnswered",
    "CancelReferral": "ReferralCancelled",
    "GiveConsent": "ConsentGiven",
    "RefuseConsent": "ConsentRefused",
    "WithdrawConsent": "ConsentWithdrawn",
    "RequestUseStop": "UseStopRequested",
    "HoldMeeting": "MeetingHeld",
    "DecideSupport": "SupportDecided",
    "AgreePlan": "PlanAgreed",
    "EvaluateCase": "CaseEvaluated",
    "SuspendCase": "CaseSuspended",
    "CloseCase": "CaseClosed",
    "RecordOutreachVisit": "OutreachVisitMade",
    "RecordSupportActivity": "SupportActivityRecorded",
    "MatchParticipation": "ParticipationMatched",
    "ArrangeWatchOver": "WatchOverArranged",
    "DeclareEmergency": "EmergencyDeclared",
    "EndEmergency": "EmergencyEnded",
    "ReviewBreakGlass": "BreakGlassReviewed",
    "RegisterCooperatingBusiness": "CooperatingBusinessRegistered",
    "RegisterCommunityBase": "CommunityBaseRegistered",
    "HoldGathering": "GatheringHeld",
    "WithdrawCooperatingBusiness": "CooperatingBusinessWithdrawn",
    "CloseCommunityBase": "CommunityBaseClosed",
}


def _handler(source: str, command: str) -> str:
    start = source.index(f"def _(self, cmd: c.{command})")
    end = source.find("@_handle.register", start)
    return source[start : end if end != -1 else len(source)]


def test_every_shared_field_is_passed_from_the_command() -> None:
    source = APPLICATION.read_text(encoding="utf-8")
    dropped = []
    for command, event in MADE.items():
        body = _handler(source, command)
        shared = set(getattr(c, command).model_fields) & set(getattr(ev, event).model_fields)
        for name in sorted(shared - {"case_id"}):
            if not re.search(rf"\bcmd\.{name}\b", body):
                dropped.append(f"{command}.{name} never reaches {event}")
    assert dropped == []


def test_no_generic_copy_by_matching_names_is_left() -> None:
    assert "model_fields" not in APPLICATION.read_text(encoding="utf-8")
