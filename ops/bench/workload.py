"""A synthetic command stream for the write path: each case walks the usual referral loop.

Commands are plain dicts (as the CLI or an API would receive them) so the hub's side of the
benchmark pays for validation too. All personal values are obviously fake (試験/架空).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hub.commands import derived_id
from hub.fiscal import JST
from hub.reference import load_network

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=JST)
COMMANDS_PER_CASE = 7


def _uuid(rng: random.Random) -> str:
    return str(UUID(int=rng.getrandbits(128), version=4))


def case_commands(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """The commands of one case: consultation, consent, referral, two answers, support, visit."""
    wards = load_network().ward_codes
    ward = wards[n % len(wards)]
    window = f"{ward}.houkatsu"
    partner = f"{ward}.hoken"
    at = T0 + timedelta(minutes=n)
    opening = _uuid(rng)
    case_id = str(derived_id(UUID(opening), "case_id"))
    referral_id = _uuid(rng)

    def cmd(command_type: str, minutes: int, **fields: Any) -> dict[str, Any]:
        occurred = (at + timedelta(minutes=minutes)).isoformat()
        command_id = opening if command_type == "ReceiveConsultation" else _uuid(rng)
        return {"type": command_type, "command_id": command_id, "occurred_at": occurred, **fields}

    return [
        cmd(
            "ReceiveConsultation",
            0,
            case_id=None,
            consultation_id=_uuid(rng),
            window_agency=window,
            needs=["elderly", "isolation"],
            note="（架空の記録）近所の方から様子が心配との相談",
            person={
                "name": f"試験 花子{n}",
                "kana": "シケン ハナコ",
                "birth_date": "1948-05-01",
                "address": f"北九州市架空町{n % 9 + 1}-2-3",
                "phone": "000-0000-0000",
                "health": "試験用の架空記載",
            },
        ),
        cmd(
            "GiveConsent",
            5,
            case_id=case_id,
            consent_id=_uuid(rng),
            scope=[f"ward:{ward}"],
            purposes=["consultation", "service_provision"],
            data_categories=["identity", "contact", "narrative"],
            valid_from=at.isoformat(),
            valid_until=(at + timedelta(days=365)).isoformat(),
        ),
        cmd(
            "ReferCase",
            10,
            case_id=case_id,
            referral_id=referral_id,
            agency_id=partner,
            purpose="service_provision",
            urgency="soon",
            note="（架空の記録）訪問をお願いします",
        ),
        cmd(
            "AnswerReferral",
            60,
            case_id=case_id,
            referral_id=referral_id,
            agency_id=partner,
            answer="received",
        ),
        cmd(
            "AnswerReferral",
            120,
            case_id=case_id,
            referral_id=referral_id,
            agency_id=partner,
            answer="accepted",
        ),
        cmd(
            "RecordSupportActivity",
            180,
            case_id=case_id,
            agency_id=partner,
            kind="home_visit",
            note="（架空の記録）訪問した",
        ),
        cmd("RecordOutreachVisit", 240, case_id=case_id, outcome="met"),
    ]


def commands(cases: int, seed: int = 0) -> list[dict[str, Any]]:
    """``cases`` cases' commands, interleaved in small groups as a busy day would be."""
    rng = random.Random(seed)
    per_case = [case_commands(rng, n) for n in range(cases)]
    out: list[dict[str, Any]] = []
    for start in range(0, cases, 8):
        group = per_case[start : start + 8]
        for step in range(COMMANDS_PER_CASE):
            out.extend(case[step] for case in group)
    return out
