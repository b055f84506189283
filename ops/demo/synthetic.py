"""Obviously fake people, places and notes for the demo year (試験 / 架空 markers everywhere).

Every personal text the generator writes contains one of ``MARKERS``, so a test can prove
that no real-looking name or address slipped in.
"""

from __future__ import annotations

import random
from datetime import date

from hub.commands import PersonInput

MARKERS: tuple[str, ...] = ("試験", "架空")

# Each name with its reading (ふりがな), so a person's kana is the name's, as an officer
# would type it: in katakana only, as a command takes it, each family name's reading holding
# its marker's (シケン, カクウ).
_FAMILY = {
    "試験": "シケン",
    "架空": "カクウ",
    "試験山": "シケンヤマ",
    "架空川": "カクウガワ",
    "試験田": "シケンダ",
    "架空野": "カクウノ",
}
_GIVEN = {
    "花子": "ハナコ",
    "太郎": "タロウ",
    "一郎": "イチロウ",
    "次郎": "ジロウ",
    "和子": "カズコ",
    "幸子": "サチコ",
    "健一": "ケンイチ",
    "美穂": "ミホ",
    "誠": "マコト",
    "由美": "ユミ",
    "茂": "シゲル",
    "春子": "ハルコ",
}
_TOWN = ("架空町", "試験町", "架空台", "試験ヶ丘")
_WARD_NAMES = {
    "moji": "門司区",
    "kokurakita": "小倉北区",
    "kokuraminami": "小倉南区",
    "wakamatsu": "若松区",
    "yahatahigashi": "八幡東区",
    "yahatanishi": "八幡西区",
    "tobata": "戸畑区",
}


def person(rng: random.Random, ward: str, *, age: int, health: str | None = None) -> PersonInput:
    family = rng.choice(tuple(_FAMILY))
    given = rng.choice(tuple(_GIVEN))
    born = date(2025 - age, rng.randint(1, 12), rng.randint(1, 28))
    town = rng.choice(_TOWN)
    return PersonInput(
        name=f"{family} {given}",
        kana=f"{_FAMILY[family]} {_GIVEN[given]}",
        birth_date=born,
        address=f"北九州市{_WARD_NAMES[ward]}{town}{rng.randint(1, 9)}-{rng.randint(1, 30)}",
        phone=f"000-0000-{rng.randint(0, 9999):04d}",
        health=f"試験用の架空記載: {health}" if health else None,
    )


def note(text: str) -> str:
    """A free-text note, visibly synthetic."""
    return f"（架空の記録）{text}"


def business_name(n: int) -> str:
    return f"架空食堂 試験{n}号店"


def base_name(ward: str, n: int) -> str:
    return f"{_WARD_NAMES[ward]}架空町 ふれあいサロン（試験{n}）"


def body_names(rng: random.Random, ward: str) -> list[str]:
    pool = [
        f"{_WARD_NAMES[ward]}架空町自治会（試験）",
        "架空校区社会福祉協議会（試験）",
        "試験地区 民生委員児童委員協議会（架空）",
        "架空NPO ささえあい（試験）",
        "試験子ども食堂（架空）",
    ]
    return rng.sample(pool, rng.randint(1, 3))
