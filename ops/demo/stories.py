"""The stories the year is made of, and the monthly quotas that calibrate it.

A window consultation, a discovery by a 見守り部会 partner, a 民生委員 or a resident, a complex
case that goes to 多機関協働 with consent, a refusal that starts in the つながりづくり会議 and
moves to the 重層的支援会議 after outreach visits open the door, an emergency; around them,
monthly quotas of visits, activities, plans and participation matches (``calibration``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from hub import commands as c
from hub import vocabulary as v
from hub.fiscal import JST
from hub.reference import load_network
from ops.demo import calibration as cal
from ops.demo import synthetic as syn
from ops.demo.year import FY_END, FY_START, PlannedAnswer

DEMO_NAMESPACE = uuid5(NAMESPACE_URL, "https://example.invalid/kitakyushu-hub/demo")
# Roughly the wards' populations (in the reference data's ward order), so the big wards see
# more consultations.
WARD_WEIGHTS = (9, 18, 21, 8, 7, 25, 6)
# How agencies decline, how completed referrals end (most resolved, some only partly, a few
# not), and why a ward withdraws a referral no one answered.
DECLINES: tuple[v.DeclineReason, ...] = (
    "capacity",
    "out_of_area",
    "not_eligible",
    "person_declined",
    "better_elsewhere",
)
OUTCOMES: tuple[v.Outcome, ...] = (
    "resolved",
    "partly_resolved",
    "not_resolved",
    "person_declined",
    "could_not_contact",
)
OUTCOME_WEIGHTS = (55, 20, 10, 10, 5)
WITHDRAWALS: tuple[v.CancelReason, ...] = (
    "referred_elsewhere",
    "no_longer_needed",
    "person_withdrew",
)

C = TypeVar("C", bound=c.Command)


@dataclass
class _Case:
    case_id: UUID
    ward: str
    opened: datetime
    complex_from: datetime | None = None  # activities of 多機関協働 from here
    outreach_from: datetime | None = None  # 伴走型支援 visits from here
    met_at: datetime | None = None  # the door opened
    plan_at: datetime | None = None
    closed_at: datetime | None = None
    matched: bool = False
    team: list[str] = field(default_factory=list)

    def active(self, since: datetime | None, at: datetime) -> bool:
        return since is not None and since < at and (self.closed_at is None or at < self.closed_at)


NEED_WINDOWS: dict[v.Need, tuple[str, ...]] = {
    "elderly": ("houkatsu", "koureisha-shougaisha"),
    "dementia": ("houkatsu",),
    "child": ("kodomo", "hoiku"),
    "poverty": ("inochinet", "hogo"),
    "disability": ("koureisha-shougaisha",),
    "mental_health": ("hoken",),
    "isolation": ("inochinet",),
}
COMPLEX_PROFILES: tuple[tuple[list[v.Need], str], ...] = (
    (["8050", "hikikomori", "elderly"], "80代の親と50代の子の世帯、子は長期のひきこもり"),
    (["hoarding", "isolation", "refusal_of_support"], "ごみ屋敷で単身、支援を拒否"),
    (["mental_health", "poverty", "isolation"], "精神疾患の疑い、収入なし"),
    (["hikikomori", "poverty"], "就労経験のない単身者、ひきこもり"),
    (["double_care", "elderly", "child"], "ダブルケアの世帯"),
    (["young_carer", "disability", "child"], "ヤングケアラーの疑い"),
    (["8050", "dementia", "refusal_of_support"], "認知症の親と無職の子、支援を拒否"),
)
SIGNS_BY_GROUP: dict[str, list[v.Sign]] = {
    "newspaper": ["newspapers_piling_up", "not_seen_recently"],
    "lifeline": ["unpaid_utilities", "lights_always_on"],
    "post_delivery": ["mailbox_full", "not_seen_recently"],
    "food_daily": ["not_seen_recently", "appears_unwell"],
    "housing": ["hoarding_visible", "odour"],
    "finance": ["asked_for_help", "unpaid_utilities"],
    "volunteer": ["not_seen_recently", "appears_unwell"],
    "related": ["shouting_or_conflict", "appears_unwell"],
}
COUNCIL_BY_NEED = {"hikikomori": "council-07", "poverty": "council-18", "dementia": "council-15"}


class YearBuilder:
    def __init__(self, seed: int, replica: int) -> None:
        self.rng = random.Random(f"kitakyushu-demo:{seed}:{replica}")
        self.prefix = f"{seed}/{replica}"
        self.counter = 0
        self.items: list[tuple[datetime, int, c.Command]] = []
        self.answers: list[PlannedAnswer] = []
        self.cases: list[_Case] = []
        self.bases: list[tuple[UUID, str, datetime]] = []  # id, ward, registered
        self.businesses: list[tuple[UUID, datetime]] = []
        self.fixed_visits = [0] * 12

    # Ids, times and emission ------------------------------------------------------------------

    def new_id(self, role: str) -> UUID:
        self.counter += 1
        return uuid5(DEMO_NAMESPACE, f"{self.prefix}/{self.counter}/{role}")

    def emit(self, command_type: type[C], at: datetime, **fields: Any) -> C:
        command = command_type(command_id=self.new_id("command"), occurred_at=at, **fields)
        self.items.append((at, self.counter, command))
        return command

    def time_in(self, start: date, end: date, *, weekday: bool = True) -> datetime:
        """A random office-hours instant on a day in [start, end)."""
        span = (end - start).days
        for _ in range(100):
            day = start + timedelta(days=self.rng.randrange(span))
            if not weekday or day.weekday() < 5:
                break
        minute = self.rng.randrange(9 * 60, 17 * 60)
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=JST)

    def later(
        self, at: datetime, lo_days: float, hi_days: float, rng: random.Random | None = None
    ) -> datetime:
        draw = (rng or self.rng).randint(int(lo_days * 1440), int(hi_days * 1440))
        return at + timedelta(minutes=draw)

    @staticmethod
    def month_of(at: datetime) -> int:
        local = at.astimezone(JST)
        return (local.year - cal.FISCAL_YEAR) * 12 + local.month - 4

    def ward(self) -> str:
        return self.rng.choices(load_network().ward_codes, WARD_WEIGHTS)[0]

    # The year -------------------------------------------------------------------------------

    def build(self) -> None:
        self.community()
        for month in range(12):
            self.consultations(month)
            self.discoveries(month)
        self.emergencies()
        self.complex_cases()
        self.participation()
        self.visits()
        self.activities()

    def community(self) -> None:
        """地域づくり: bases in every ward, their gatherings, and cooperating businesses."""
        for ward in load_network().ward_codes:
            for n in range(2 + (ward in ("kokuraminami", "yahatanishi"))):
                at = self.time_in(date(2025, 4, 1), date(2025, 4, 11))
                if n == 2:
                    at = self.time_in(date(2025, 10, 1), date(2025, 10, 31))
                kind: v.BaseKind = self.rng.choice(
                    ["salon", "kodomo_shokudo", "community_cafe", "activity_centre"]
                )
                base = self.emit(
                    c.RegisterCommunityBase,
                    at,
                    base_id=self.new_id("base"),
                    name=syn.base_name(ward, len(self.bases) + 1),
                    kind=kind,
                    ward=ward,
                )
                self.bases.append((base.base_id, ward, at))
        for base_id, ward, registered in self.bases:
            for month in range(self.month_of(registered), 12):
                start = max(cal.month_start(month), registered.date() + timedelta(days=1))
                if start >= cal.month_end(month):
                    continue
                for _ in range(self.rng.randint(1, 3)):
                    self.emit(
                        c.HoldGathering,
                        self.time_in(start, cal.month_end(month), weekday=False),
                        base_id=base_id,
                        gathering_id=self.new_id("gathering"),
                        participants=self.rng.randint(5, 40),
                        bodies=syn.body_names(self.rng, ward),
                    )
        for n, month in enumerate((3, 5, 6, 9, 10), start=1):
            at = self.time_in(cal.month_start(month), cal.month_end(month))
            business = self.emit(
                c.RegisterCooperatingBusiness,
                at,
                business_id=self.new_id("business"),
                name=syn.business_name(n),
                kind=self.rng.choice(["飲食", "清掃", "農業"]),
                ward=self.ward(),
            )
            self.businesses.append((business.business_id, at))

    def refer(
        self,
        case_id: UUID,
        at: datetime,
        agency_id: str,
        purpose: v.Purpose,
        urgency: v.Urgency = "routine",
        statute: str | None = None,
    ) -> None:
        referral = self.emit(
            c.ReferCase,
            at,
            case_id=case_id,
            referral_id=self.new_id("referral"),
            agency_id=agency_id,
            purpose=purpose,
            urgency=urgency,
            statute=statute,
            note=syn.note("紹介の経緯"),
        )
        self.plan_answers(referral)

    def plan_answers(self, referral: c.ReferCase) -> None:
        """The agency's side: received, then accepted or declined (with a coded reason),
        sometimes completed (with how it ended); a referral never answered is sometimes
        withdrawn by the ward (取消) after the coordinator was told of it."""
        rng = self.rng
        # Reasons, outcomes and withdrawals draw from the referral's own stream, so that the
        # year's main stream, and with it the plan's calibrated figures, stays as it was.
        own = random.Random(referral.referral_id.int)
        if rng.random() < 0.03:
            if own.random() < 0.5:
                self.emit(
                    c.CancelReferral,
                    self.later(referral.occurred_at, 10, 20, own),
                    case_id=referral.case_id,
                    referral_id=referral.referral_id,
                    reason_code=own.choice(WITHDRAWALS),
                )
            return  # never answered: the city sees it unanswered
        fast = referral.urgency in ("urgent", "life_at_risk")
        at = referral.occurred_at + timedelta(
            minutes=rng.randint(5, 60) if fast else rng.randint(30, 48 * 60)
        )

        def answer(answer: v.ReferralAnswer, reason: str | None = None, **coded: Any) -> None:
            self.answers.append(
                PlannedAnswer(
                    at,
                    self.new_id("answer"),
                    referral.case_id,
                    referral.referral_id,
                    referral.agency_id,
                    answer,
                    reason,
                    **coded,
                )
            )

        answer("received")
        at += timedelta(minutes=rng.randint(60, 7 * 1440))
        if rng.random() < 0.08:
            answer("declined", "対象外のため（架空）", reason_code=own.choice(DECLINES))
            return
        answer("accepted")
        if rng.random() < 0.6:
            at += timedelta(minutes=rng.randint(7 * 1440, 60 * 1440))
            answer("completed", outcome=own.choices(OUTCOMES, OUTCOME_WEIGHTS)[0])

    def consent(
        self, case_id: UUID, at: datetime, scope: list[str], categories: list[v.DataCategory]
    ) -> None:
        self.emit(
            c.GiveConsent,
            at,
            case_id=case_id,
            consent_id=self.new_id("consent"),
            scope=scope,
            purposes=[
                "consultation",
                "assessment",
                "support_planning",
                "service_provision",
                "outreach",
                "participation",
                "watch_over",
            ],
            data_categories=categories,
            valid_from=at,
            valid_until=at + timedelta(days=365),
        )

    # 包括的相談支援: the windows ---------------------------------------------------------------

    def consultations(self, month: int) -> None:
        rng = self.rng
        withdrawals = 1 if month in (4, 9) else 0
        for _ in range(rng.randint(40, 60)):
            ward = self.ward()
            need: v.Need = rng.choice(list(NEED_WINDOWS))
            window = f"{ward}.{rng.choice(NEED_WINDOWS[need])}"
            at = self.time_in(cal.month_start(month), cal.month_end(month))
            first = self.emit(
                c.ReceiveConsultation,
                at,
                window_agency=window,
                needs=[need],
                note=syn.note("窓口での相談"),
                person=syn.person(rng, ward, age=rng.randint(20, 90))
                if rng.random() < 0.7
                else None,
            )
            case_id = c.derived_id(first.command_id, "case_id")
            at = self.later(at, 0.01, 0.02)
            consented = rng.random() < 0.8
            if consented:
                categories: list[v.DataCategory] = ["identity", "contact", "narrative"]
                if need == "mental_health" and rng.random() < 0.5:
                    categories.append("health")
                self.consent(case_id, at, [f"ward:{ward}", "kikan-soudan"], categories)
            if rng.random() < 0.7:
                at = self.later(at, 1, 5)
                self.emit(
                    c.RecordAssessment,
                    at,
                    case_id=case_id,
                    needs=[need],
                    complexity="single_agency",
                )
            if rng.random() < 0.6:
                at = self.later(at, 0.1, 2)
                target = (
                    "kikan-soudan"
                    if need == "disability"
                    else COUNCIL_BY_NEED.get(need, f"{ward}.{rng.choice(NEED_WINDOWS[need])}")
                )
                self.refer(
                    case_id, at, target, "service_provision", rng.choice(["routine", "soon"])
                )
            if need == "child" and rng.random() < 0.1:
                # A suspicion of abuse: the statute itself orders the notice.
                at = self.later(at, 0.01, 0.1)
                self.refer(
                    case_id,
                    at,
                    f"{ward}.kodomo",
                    "emergency_response",
                    "urgent",
                    statute="児童虐待の防止等に関する法律 第6条",
                )
            if rng.random() < 0.15:
                at = self.later(at, 7, 30)
                self.emit(
                    c.ReceiveConsultation,
                    at,
                    case_id=case_id,
                    window_agency=window,
                    needs=[need],
                    note=syn.note("再相談"),
                )
            if consented and withdrawals:
                withdrawals -= 1
                at = self.later(at, 3, 20)
                consent_id = next(
                    cmd.consent_id
                    for _, _, cmd in reversed(self.items)
                    if isinstance(cmd, c.GiveConsent) and cmd.case_id == case_id
                )
                self.emit(c.WithdrawConsent, at, case_id=case_id, consent_id=consent_id)
            if rng.random() < 0.3:
                at = self.later(at, 20, 90)
                if at < FY_END:
                    self.emit(c.CloseCase, at, case_id=case_id, reason="終結（架空）")

    # 見つける: the partners of 見守り部会, 民生委員 and residents ------------------------------

    def discovery(
        self, at: datetime, ward: str, urgency: v.Urgency, group: str | None = None
    ) -> c.ReportDiscovery:
        rng = self.rng
        roll = rng.random()
        fields: dict[str, Any]
        if group is not None or roll < 0.5:
            group = group or rng.choice(list(SIGNS_BY_GROUP))
            fields = {"reporter_kind": "partner_company", "reporter_group": group}
            signs = SIGNS_BY_GROUP[group]
        elif roll < 0.75:
            fields = {"reporter_kind": "welfare_commissioner"}
            signs = ["not_seen_recently", rng.choice(["appears_unwell", "asked_for_help"])]
        elif roll < 0.9:
            fields = {"reporter_kind": "resident"}
            signs = [rng.choice(["odour", "shouting_or_conflict", "not_seen_recently"])]
        else:
            fields = {"reporter_kind": rng.choice(["welfare_cooperator", "npo", "volunteer"])}
            signs = ["not_seen_recently"]
        return self.emit(
            c.ReportDiscovery,
            at,
            discovery_id=self.new_id("discovery"),
            ward=ward,
            signs=signs,
            urgency=urgency,
            channel=rng.choice(["phone", "visit"]),
            note=syn.note("気づいたこと"),
            person=syn.person(rng, ward, age=rng.randint(60, 95)) if rng.random() < 0.5 else None,
            **fields,
        )

    def open_from(self, discovery: c.ReportDiscovery, at: datetime) -> UUID:
        case = self.emit(
            c.OpenCase,
            at,
            case_id=self.new_id("case"),
            ward=discovery.ward,
            discovery_id=discovery.discovery_id,
            person=discovery.person,
        )
        return case.case_id

    def discoveries(self, month: int) -> None:
        rng = self.rng
        for _ in range(rng.randint(20, 30)):
            ward = self.ward()
            at = self.time_in(cal.month_start(month), cal.month_end(month), weekday=False)
            found = self.discovery(at, ward, rng.choice(["routine", "soon"]))
            if rng.random() < 0.4:
                continue  # checked, nothing the network needs to do
            at = self.later(at, 0.5, 2)
            case_id = self.open_from(found, at)
            at = self.later(at, 1, 4)
            self.emit(
                c.RecordAssessment,
                at,
                case_id=case_id,
                needs=[rng.choice(["elderly", "isolation", "dementia"])],
                complexity="single_agency",
            )
            if rng.random() < 0.5:
                watchers = [f"{ward}.houkatsu"]
                if found.reporter_group:
                    watchers.append(found.reporter_group)
                self.emit(
                    c.ArrangeWatchOver,
                    self.later(at, 0.1, 1),
                    case_id=case_id,
                    watch_id=self.new_id("watch"),
                    watchers=watchers,
                    frequency="weekly",
                )
            if rng.random() < 0.5:
                self.refer(case_id, self.later(at, 0.2, 1), f"{ward}.houkatsu", "watch_over")

    def emergencies(self) -> None:
        """Life at risk and consent cannot be obtained: a time-limited declaration."""
        for month in (1, 3, 6, 8, 10):
            ward = self.ward()
            at = self.time_in(cal.month_start(month), cal.month_end(month))
            found = self.discovery(at, ward, "life_at_risk", group="newspaper")
            case_id = self.open_from(found, at + timedelta(minutes=20))
            at += timedelta(minutes=40)
            agencies = [f"{ward}.coordinator", f"{ward}.hoken", f"{ward}.houkatsu"]
            declaration = self.emit(
                c.DeclareEmergency,
                at,
                case_id=case_id,
                declaration_id=self.new_id("declaration"),
                agencies=agencies,
                # Never a sensitive category on vital interest alone (DOMAIN.md, rule 6).
                data_categories=["identity", "contact", "narrative"],
                reason="応答なし、室内で倒れている可能性（架空）",
                expires_at=at + timedelta(hours=72),
            )
            self.emit(
                c.RecordPersonDetails,
                at + timedelta(minutes=3),
                case_id=case_id,
                person=syn.person(self.rng, ward, age=self.rng.randint(70, 95)),
            )
            for agency in agencies[1:]:
                self.refer(
                    case_id, at + timedelta(minutes=5), agency, "emergency_response", "life_at_risk"
                )
            at = self.later(at, 0.5, 1.5)
            self.emit(
                c.EndEmergency, at, case_id=case_id, declaration_id=declaration.declaration_id
            )
            self.emit(
                c.RecordAssessment,
                self.later(at, 1, 3),
                case_id=case_id,
                needs=["elderly", "isolation"],
                complexity="single_agency",
            )

    # 多機関協働: complex cases ----------------------------------------------------------------

    def complex_cases(self) -> None:
        for month, plans in enumerate(cal.PLANS):
            for _ in range(plans):
                plan_at = self.time_in(cal.month_start(month), cal.month_end(month))
                self.planned_case(plan_at)
        # Refusals still in the つながりづくり会議 at the end of the year, and late arrivals.
        for month in (0, 0, 2, 5, 8, 10):
            start = self.time_in(cal.month_start(month), cal.month_end(month))
            if month == 0:
                start = self.time_in(date(2025, 4, 1), date(2025, 4, 4))
            self.refusal_opening(start, self.ward())
        for _ in range(2):
            at = self.time_in(date(2026, 3, 1), date(2026, 3, 20))
            case = self.consultation_opening(at, self.ward())
            self.consent(case.case_id, self.later(at, 2, 5), [f"ward:{case.ward}"], ["identity"])

    def consultation_opening(self, at: datetime, ward: str) -> _Case:
        rng = self.rng
        needs, summary = rng.choice(COMPLEX_PROFILES)
        window = f"{ward}.{rng.choice(['hoken', 'inochinet', 'houkatsu'])}"
        first = self.emit(
            c.ReceiveConsultation,
            at,
            window_agency=window,
            needs=needs,
            note=syn.note(summary),
            person=syn.person(rng, ward, age=rng.randint(40, 85), health="精神疾患の疑い"),
        )
        case = _Case(c.derived_id(first.command_id, "case_id"), ward, at)
        assessed = self.later(at, 1, 3)
        self.emit(
            c.RecordAssessment,
            assessed,
            case_id=case.case_id,
            needs=needs,
            complexity="complex",
            summary=syn.note(summary),
        )
        case.complex_from = assessed
        case.team = [f"{ward}.coordinator", window, "hoboku-shakyo"]
        self.cases.append(case)
        return case

    def refusal_opening(self, at: datetime, ward: str) -> _Case:
        rng = self.rng
        found = self.discovery(
            at, ward, "soon", group=rng.choice(["newspaper", "lifeline", "housing"])
        )
        opened = self.later(at, 0.5, 1)
        case = _Case(self.open_from(found, opened), ward, opened)
        assessed = self.later(opened, 1, 2)
        needs = ["refusal_of_support", *rng.choice(COMPLEX_PROFILES)[0]]
        self.emit(
            c.RecordAssessment,
            assessed,
            case_id=case.case_id,
            needs=list(dict.fromkeys(needs)),
            complexity="complex",
            summary=syn.note("支援を拒否、玄関を開けない"),
        )
        case.complex_from = assessed
        refused = self.later(assessed, 0.5, 1)
        self.emit(
            c.RefuseConsent,
            refused,
            case_id=case.case_id,
            consent_id=self.new_id("consent"),
            scope=[f"ward:{ward}"],
            reason="本人が支援を拒否（架空）",
        )
        members = [
            f"{ward}.coordinator",
            f"{ward}.houkatsu",
            f"{ward}.hoken",
            f"{ward}.inochinet",
            "hoboku-shakyo",
        ]
        meeting_at = self.later(refused, 1, 3)
        self.emit(
            c.HoldMeeting,
            meeting_at,
            meeting_id=self.new_id("meeting"),
            kind="connection",
            ward=ward,
            members=members,
            case_ids=[case.case_id],
        )
        case.outreach_from = meeting_at
        case.team = [f"{ward}.coordinator", "hoboku-shakyo", f"{ward}.inochinet"]
        first_visit = self.later(meeting_at, 0.5, 2)
        self.visit(case, first_visit, "letter_left", "玄関ドアに手紙を挟む")
        self.cases.append(case)
        return case

    def visit(self, case: _Case, at: datetime, outcome: v.VisitOutcome, text: str) -> None:
        self.emit(
            c.RecordOutreachVisit,
            at,
            case_id=case.case_id,
            visit_id=self.new_id("visit"),
            agency_id="hoboku-shakyo",
            outcome=outcome,
            note=syn.note(text),
        )
        self.fixed_visits[self.month_of(at)] += 1

    def planned_case(self, plan_at: datetime) -> None:
        """A complex case whose first plan is agreed at ``plan_at`` (calibrated)."""
        rng = self.rng
        ward = self.ward()
        lead_days = rng.randint(40, 110)
        start = max(plan_at - timedelta(days=lead_days), FY_START + timedelta(hours=9))
        start = start.replace(hour=rng.randint(9, 15))
        if (plan_at - start).days >= 35 and rng.random() < 0.55:
            case = self.refusal_opening(start, ward)
            consent_at = plan_at - timedelta(days=rng.randint(7, 14), hours=1)
            met_at = consent_at - timedelta(days=rng.randint(3, 10))
            case.met_at = met_at
            self.visit(case, met_at, "met", "玄関ドアを開けてくれた")
            self.consent(
                case.case_id,
                consent_at,
                [f"ward:{ward}", "hoboku-shakyo", "kikan-soudan"],
                ["identity", "contact", "narrative", "health"],
            )
            self.emit(
                c.MoveToSupportMeeting, consent_at + timedelta(minutes=30), case_id=case.case_id
            )
        else:
            start = min(start, plan_at - timedelta(days=6))
            case = self.consultation_opening(max(start, FY_START + timedelta(hours=9)), ward)
            consent_at = self.later(case.complex_from or start, 0.1, 1)
            self.consent(
                case.case_id,
                consent_at,
                [f"ward:{ward}", "hoboku-shakyo", "kikan-soudan"],
                ["identity", "contact", "narrative", "health"],
            )
            if rng.random() < 0.5:
                case.outreach_from = plan_at
                case.met_at = plan_at
        self.agree(case, plan_at)

    def agree(self, case: _Case, plan_at: datetime) -> None:
        rng = self.rng
        ward = case.ward
        meeting = self.emit(
            c.HoldMeeting,
            plan_at - timedelta(minutes=60),
            meeting_id=self.new_id("meeting"),
            kind="support",
            ward=ward,
            members=[f"{ward}.coordinator", f"{ward}.hogo", f"{ward}.houkatsu", "hoboku-shakyo"],
            case_ids=[case.case_id],
        )
        lead = f"{ward}.coordinator"
        self.emit(
            c.DecideSupport,
            plan_at - timedelta(minutes=30),
            case_id=case.case_id,
            meeting_id=meeting.meeting_id,
            lead_agency=lead,
        )
        roles = [
            c.AgencyRoleInput(agency_id=lead, role="役割分担と支援方針の調整"),
            c.AgencyRoleInput(agency_id="hoboku-shakyo", role="伴走型支援・参加支援"),
            c.AgencyRoleInput(agency_id=f"{ward}.hogo", role="生活保護の相談"),
        ]
        period_until = (plan_at + timedelta(days=180)).date()
        monitoring = (plan_at + timedelta(days=90)).date()
        self.emit(
            c.AgreePlan,
            plan_at,
            case_id=case.case_id,
            plan_id=self.new_id("plan"),
            meeting_id=meeting.meeting_id,
            issues=[
                c.IssueInput(area="生活", issue=syn.note("収入がない")),
                c.IssueInput(area="社会参加", issue=syn.note("交流がない")),
            ],
            goals=[syn.note("月に数回、地域の食事会に参加する")],
            lead_agency=lead,
            roles=roles,
            period_from=plan_at.date(),
            period_until=period_until,
            monitoring_date=monitoring,
        )
        case.plan_at = plan_at
        for role in roles[1:]:
            purpose: v.Purpose = (
                "outreach" if role.agency_id == "hoboku-shakyo" else "service_provision"
            )
            self.refer(case.case_id, self.later(plan_at, 0.1, 3), role.agency_id, purpose)
        case.team.append(f"{ward}.hogo")
        evaluated = datetime.combine(monitoring, time(14, 0), tzinfo=JST)
        if evaluated < FY_END:
            self.emit(
                c.EvaluateCase,
                evaluated,
                case_id=case.case_id,
                evaluation=rng.choice(["improved", "improved", "unchanged"]),
                note=syn.note("モニタリング"),
            )
            if rng.random() < 0.3 and evaluated + timedelta(days=40) < FY_END:
                case.closed_at = evaluated + timedelta(days=30)
                self.emit(
                    c.CloseCase, case.closed_at, case_id=case.case_id, reason="目標達成（架空）"
                )

    # 参加支援 ------------------------------------------------------------------------------

    def participation(self) -> None:
        rng = self.rng
        first: _Case | None = None
        for month, new in enumerate(cal.NEW_PARTICIPANTS):
            for _ in range(new):
                start, end = cal.month_start(month), cal.month_end(month)
                at = self.time_in(start, end)
                ready = [
                    case
                    for case in self.cases
                    if case.plan_at is not None
                    and case.plan_at + timedelta(days=14) < at
                    and not case.matched
                    and case.active(case.plan_at, at)
                ]
                case = rng.choice(ready)
                case.matched = True
                businesses = [b for b, registered in self.businesses if registered < at]
                if first is not None and businesses and month == 7:
                    self.match(case, at, "work", business_id=rng.choice(businesses))
                else:
                    self.match(case, at, "community_meal")
                    first = first or case
        if first is not None:  # the same person goes on to a salon: still one person
            at = self.time_in(date(2025, 12, 1), date(2025, 12, 24))
            if first.active(first.plan_at, at):
                self.match(first, at, "salon")

    def match(
        self, case: _Case, at: datetime, place: v.PlaceKind, business_id: UUID | None = None
    ) -> None:
        base_id = None
        if business_id is None:
            bases = [
                b for b, ward, registered in self.bases if ward == case.ward and registered < at
            ]
            base_id = self.rng.choice(bases)
        self.emit(
            c.MatchParticipation,
            at,
            case_id=case.case_id,
            match_id=self.new_id("match"),
            place_kind=place,
            business_id=business_id,
            base_id=base_id,
        )

    # Quotas: 伴走型支援 visits and 多機関協働 activities ----------------------------------------

    def visits(self) -> None:
        rng = self.rng
        for month, quota in enumerate(cal.VISITS):
            free = quota - self.fixed_visits[month]
            if free < 0:
                raise AssertionError(f"month {month}: more story visits than the quota")
            while free:
                at = self.time_in(cal.month_start(month), cal.month_end(month))
                eligible = [case for case in self.cases if case.active(case.outreach_from, at)]
                if not eligible:
                    continue
                case = rng.choice(eligible)
                choices: list[v.VisitOutcome]
                if case.met_at is None or at < case.met_at:
                    choices, weights = ["letter_left", "no_answer", "refused"], [55, 35, 10]
                else:
                    choices, weights = ["met", "no_answer"], [85, 15]
                outcome = rng.choices(choices, weights)[0]
                self.emit(
                    c.RecordOutreachVisit,
                    at,
                    case_id=case.case_id,
                    visit_id=self.new_id("visit"),
                    agency_id="hoboku-shakyo",
                    outcome=outcome,
                    note=syn.note("訪問"),
                )
                free -= 1

    def activities(self) -> None:
        rng = self.rng
        kinds: dict[str, list[v.ActivityKind]] = {
            "coordinator": ["coordination", "case_conference", "phone_call"],
            "hoboku-shakyo": ["accompaniment", "home_visit", "phone_call"],
            "window": ["benefit_application", "phone_call", "coordination"],
        }
        for month, quota in enumerate(cal.ACTIVITIES):
            done = 0
            while done < quota:
                at = self.time_in(cal.month_start(month), cal.month_end(month))
                eligible = [case for case in self.cases if case.active(case.complex_from, at)]
                if not eligible:
                    continue
                case = rng.choice(eligible)
                agency = rng.choice(case.team)
                role = (
                    "coordinator"
                    if agency.endswith(".coordinator")
                    else agency
                    if agency == "hoboku-shakyo"
                    else "window"
                )
                self.emit(
                    c.RecordSupportActivity,
                    at,
                    case_id=case.case_id,
                    activity_id=self.new_id("activity"),
                    agency_id=agency,
                    kind=rng.choice(kinds[role]),
                    note=syn.note("支援の記録"),
                )
                done += 1
