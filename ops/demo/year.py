"""The generated year as data: users' commands, the agencies' planned answers, and the
indicators as the generator itself counts them (for checking the hub's report)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from uuid import UUID

from hub import commands as c
from hub import vocabulary as v
from hub.fiscal import JST
from ops.demo import calibration as cal

FY_START = datetime(cal.FISCAL_YEAR, 4, 1, tzinfo=JST)
FY_END = datetime(cal.FISCAL_YEAR + 1, 4, 1, tzinfo=JST)
LAST_DAY = cal.LAST_DAY


@dataclass(frozen=True)
class PlannedAnswer:
    """How and when an agency answers a referral (what its people would do)."""

    at: datetime
    command_id: UUID
    case_id: UUID
    referral_id: UUID
    agency_id: str
    answer: v.ReferralAnswer
    reason: str | None = None
    reason_code: v.DeclineReason | None = None  # a decline's
    outcome: v.Outcome | None = None  # a completion's

    def as_command(self) -> c.AnswerReferral:
        return c.AnswerReferral(
            command_id=self.command_id,
            occurred_at=self.at,
            case_id=self.case_id,
            referral_id=self.referral_id,
            agency_id=self.agency_id,
            answer=self.answer,
            reason=self.reason,
            reason_code=self.reason_code,
            outcome=self.outcome,
        )


@dataclass(frozen=True)
class DemoYear:
    seed: int
    scale: int
    commands: tuple[c.Command, ...]  # in the order of occurred_at
    answers: tuple[PlannedAnswer, ...]  # in the order of at

    def cut(self, until: date) -> DemoYear:
        """The year up to and including the day ``until`` (JST)."""
        end = cut_instant(until)
        return replace(
            self,
            commands=tuple(cmd for cmd in self.commands if cmd.occurred_at < end),
            answers=tuple(a for a in self.answers if a.at < end),
        )

    def timeline(self) -> list[c.Command]:
        """Users' commands and the agencies' answers, merged in time order."""
        merged: list[tuple[datetime, int, c.Command]] = [
            (cmd.occurred_at, 0, cmd) for cmd in self.commands
        ]
        merged += [(a.at, 1, a.as_command()) for a in self.answers]
        merged.sort(key=lambda item: (item[0], item[1]))
        return [cmd for _, _, cmd in merged]

    def counts(self, until: date | None = None) -> dict[str, int]:
        """The indicators of table ④ as the generator itself counts them."""
        return count_indicators(self.commands, until)


def cut_instant(until: date) -> datetime:
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=JST)


def count_indicators(commands: Iterable[c.Command], until: date | None = None) -> dict[str, int]:
    """Counts per the indicator rules: visits, first plans (revision 1), activities, distinct
    matched cases, consultations received, registrations, gatherings' people and bodies."""
    end = cut_instant(until) if until else FY_END
    planned: set[UUID] = set()
    counts = dict.fromkeys(cal.SEED_ACTUALS, 0)
    matched: set[UUID] = set()
    bodies: set[str] = set()
    for cmd in sorted(commands, key=lambda x: x.occurred_at):
        if not FY_START <= cmd.occurred_at < end:
            continue
        if isinstance(cmd, c.RecordOutreachVisit):
            counts["visits"] += 1
        elif isinstance(cmd, c.RecordSupportActivity):
            counts["activities"] += 1
        elif isinstance(cmd, c.AgreePlan) and cmd.case_id not in planned:
            planned.add(cmd.case_id)
            counts["plans"] += 1
        elif isinstance(cmd, c.MatchParticipation):
            matched.add(cmd.case_id)
        elif isinstance(cmd, c.ReceiveConsultation):
            counts["consultations"] += 1
        elif isinstance(cmd, c.RegisterCooperatingBusiness):
            counts["businesses"] += 1
        elif isinstance(cmd, c.RegisterCommunityBase):
            counts["bases"] += 1
        elif isinstance(cmd, c.HoldGathering):
            counts["gathering_participants"] += cmd.participants
            bodies.update(cmd.bodies)
    counts["participants"] = len(matched)
    counts["bodies"] = len(bodies)
    return counts
