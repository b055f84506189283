"""A seeded history of cases flowing through three agencies: consultations with synthetic
people, consents (some withdrawn), referrals, updated details, emergencies, assessments.

Every personal value comes from tests/factories.py, so the leak scans know what to look for.
"""

from __future__ import annotations

import random
from uuid import UUID

from hub import commands as c
from hub.application import HubApplication
from tests import factories as f

AGENCIES = ("kokurakita.hogo", "tobata.houkatsu", "moji.houkatsu")


def case_history(rng: random.Random, day: float) -> list[c.Command]:
    """One case's commands, in an order the domain accepts."""
    opened = f.consultation(occurred_at=f.at(day))
    case_id: UUID = c.derived_id(opened.command_id, "case_id")
    commands: list[c.Command] = [opened]
    referred = rng.sample(AGENCIES, rng.randint(1, 2))
    consent = None
    if rng.random() < 0.5:
        scope = rng.choice([[referred[0]], ["ward_windows"], list(AGENCIES)])
        categories = rng.choice([["identity"], ["identity", "contact"], ["identity", "health"]])
        consent = f.consent(
            case_id, scope=scope, data_categories=categories, occurred_at=f.at(day + 0.1)
        )
        commands.append(consent)
    if rng.random() < 0.3:
        commands.append(f.assessment(case_id, occurred_at=f.at(day + 0.15)))
    for n, agency in enumerate(referred):
        commands.append(f.referral(case_id, agency, occurred_at=f.at(day + 0.2 + n / 100)))
    if rng.random() < 0.4:
        commands.append(
            f.build(
                c.RecordPersonDetails,
                case_id=case_id,
                occurred_at=f.at(day + 0.3),
                person=f.person(address=f.SYNTHETIC_ADDRESS, phone=f.SYNTHETIC_PHONE),
            )
        )
    if rng.random() < 0.15:
        commands.append(
            f.emergency(
                case_id,
                agencies=[referred[-1]],
                occurred_at=f.at(day + 0.4),
                expires_at=f.at(day + 3),
            )
        )
    if consent is not None and rng.random() < 0.3:
        commands.append(f.withdrawal(case_id, consent.consent_id, occurred_at=f.at(day + 0.5)))
        commands.append(f.referral(case_id, referred[0], occurred_at=f.at(day + 0.6)))
    if rng.random() < 0.3:
        commands.append(f.visit(case_id, occurred_at=f.at(day + 0.7)))
    return commands


def generate(seed: int, cases: int) -> list[c.Command]:
    rng = random.Random(seed)
    commands: list[c.Command] = []
    for n in range(cases):
        commands += case_history(rng, day=n / 4)
    return commands


def apply(app: HubApplication, commands: list[c.Command]) -> None:
    for command in commands:
        app.execute(command)
