"""Coded values shared by commands and events (the domain's vocabulary)."""

from __future__ import annotations

from typing import Literal, get_args

Urgency = Literal["routine", "soon", "urgent", "life_at_risk"]

ReporterKind = Literal[
    "partner_company",  # 見守り部会 協力会員
    "welfare_commissioner",  # 民生委員・児童委員
    "welfare_cooperator",  # 福祉協力員
    "npo",
    "volunteer",
    "resident",
    "agency",
]

Sign = Literal[
    "newspapers_piling_up",
    "unpaid_utilities",
    "mailbox_full",
    "not_seen_recently",
    "lights_always_on",
    "odour",
    "hoarding_visible",
    "shouting_or_conflict",
    "appears_unwell",
    "asked_for_help",
    "other",
]

# How a discovery reached the city.
Channel = Literal["phone", "visit", "letter", "online", "unknown"]

Need = Literal[
    "elderly",
    "disability",
    "child",
    "poverty",
    "mental_health",
    "hikikomori",
    "8050",
    "hoarding",
    "refusal_of_support",
    "young_carer",
    "double_care",
    "dementia",
    "isolation",
    "other",
]

Complexity = Literal["single_agency", "complex"]

Purpose = Literal[
    "consultation",
    "assessment",
    "support_planning",
    "service_provision",
    "outreach",
    "participation",
    "watch_over",
    "emergency_response",
]

# Data categories a consent (or an emergency declaration) can cover.
DataCategory = Literal[
    "identity", "contact", "narrative", "health", "disability", "criminal_record"
]
SENSITIVE_CATEGORIES: frozenset[str] = frozenset({"health", "disability", "criminal_record"})
SensitiveCategory = Literal["health", "disability", "criminal_record"]  # 要配慮個人情報
# The person's details a ward officer may empty (訂正 by deletion, docs/RIGHTS.md): the
# identifying and contact ones. A sensitive one is not named to every agency of the case.
ClearableField = Literal["name", "kana", "birth_date", "address", "phone"]
CLEARABLE: tuple[str, ...] = get_args(ClearableField)
# Break-glass review (DOMAIN.md rule 6): who closes it, and how.
Reviewer = Literal["coordinator", "auditor"]
ReviewVerdict = Literal["justified", "not_justified"]

ReferralAnswer = Literal[
    "received", "accepted", "in_progress", "on_hold", "declined", "completed"
]  # fmt: skip
REFERRAL_ANSWERS: tuple[str, ...] = get_args(ReferralAnswer)  # in the order a form lists them

# How a completed referral ended for the person.
Outcome = Literal[
    "resolved", "partly_resolved", "not_resolved", "person_declined", "could_not_contact"
]  # fmt: skip

# Why the referrer cancelled a referral.
CancelReason = Literal[
    "no_longer_needed", "referred_elsewhere", "person_withdrew", "entered_in_error", "other"
]  # fmt: skip

# Why an agency declines a referral (the coded reasons of the inbox's decline).
DeclineReason = Literal[
    "capacity",  # 定員超過・対応困難
    "out_of_area",  # 対象地域外
    "not_eligible",  # 対象外
    "person_declined",  # 本人が希望しない
    "better_elsewhere",  # 他機関が適切
    "other",
]

MeetingKind = Literal["connection", "support"]  # つながりづくり会議 / 重層的支援会議

VisitOutcome = Literal["no_answer", "letter_left", "met", "refused"]

ActivityKind = Literal[
    "accompaniment",  # 同行支援 (pension office, bank)
    "phone_call",
    "home_visit",
    "coordination",
    "case_conference",
    "benefit_application",
    "other",
]

# How often a watch-over looks in: a code, so that no name, address or phone number typed
# into a schedule reaches the watchers' agencies without a basis (the details go in the
# arrangement's note, a personal field).
WatchFrequency = Literal["daily", "several_weekly", "weekly", "biweekly", "monthly", "as_needed"]

PlaceKind = Literal["community_meal", "salon", "work", "volunteering", "learning", "other"]

BaseKind = Literal["salon", "kodomo_shokudo", "community_cafe", "activity_centre", "other"]

Evaluation = Literal["improved", "unchanged", "worsened"]

CaseStatus = Literal["open", "in_support", "suspended", "closed"]

# アクセス記録: on which basis someone read a person's details through the hub.
AccessBasis = Literal[
    "official_duty",  # 所掌事務の遂行に必要な範囲 (個人情報保護法 第61条・第69条第1項): city staff
    "consent",  # 本人同意
    "support_meeting",  # 社会福祉法 第106条の6 (つながりづくり会議の構成員)
    "vital_interest",  # 個人情報保護法 第27条第1項第2号 / 第69条
    "statute",  # 法令に基づく場合
    "person_request",  # 本人開示 (個人情報保護法 第76条): the person asks what is held
]

# Why they read it: a support purpose, or the office's own work on the record.
AccessPurpose = Literal[Purpose, "case_management", "audit", "person_request"]
