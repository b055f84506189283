"""A case whose events hold the narratives the case page, the API and `hub case show
--person` show with the person's details (ops/case_notes.py): synthetic, one of each kind
that was long shown nowhere, a day apart, the oldest first."""

from __future__ import annotations

from uuid import UUID, uuid4

from hub import commands as c
from hub.application import HubApplication
from hub.identity import Actor, Role
from tests import factories as f

WARD = "tobata"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)

# Each narrative as written, with its path, in the order written.
WRITTEN = [
    ("referral.note", "架空の申し送り"),
    ("referral_cancellation.reason", "架空の取り消しの補足"),
    ("outreach_visit.note", "架空の訪問の記録"),
    ("emergency.reason", "架空の緊急の理由"),
    ("suspension.reason", "架空の中断の理由"),
    ("closure.reason", "架空の終結の理由"),
]


def with_narratives(app: HubApplication) -> UUID:
    """A case of ``WARD`` holding the person's details and each of ``WRITTEN``."""
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward=WARD, person=f.person()), OFFICER)
    referral_id = uuid4()
    text = dict(WRITTEN)
    app.execute(
        f.referral(
            case_id,
            f"{WARD}.hogo",
            referral_id=referral_id,
            note=text["referral.note"],
            occurred_at=f.at(1),
        ),
        OFFICER,
    )
    commands = [
        f.build(
            c.CancelReferral,
            case_id=case_id,
            referral_id=referral_id,
            reason_code="referred_elsewhere",
            reason=text["referral_cancellation.reason"],
            occurred_at=f.at(2),
        ),
        f.visit(
            case_id,
            agency_id="hoboku-shakyo",
            note=text["outreach_visit.note"],
            occurred_at=f.at(3),
        ),
        f.emergency(
            case_id,
            agencies=[f"{WARD}.hogo"],
            reason=text["emergency.reason"],
            occurred_at=f.at(4),
            expires_at=f.at(6),
        ),
        f.build(
            c.SuspendCase, case_id=case_id, reason=text["suspension.reason"], occurred_at=f.at(5)
        ),
        f.build(c.CloseCase, case_id=case_id, reason=text["closure.reason"], occurred_at=f.at(6)),
    ]
    for command in commands:
        app.execute(command, OFFICER)
    return case_id
