"""The hub's rules for a value, said in Japanese beside the field a page shows them by.

The rules are worded in English where they are made (``hub.commands``, ``hub.plausible``),
for the CLI and the API. A page says the common ones in Japanese, and leads any other with
a Japanese line, keeping the rule beside it.
"""

from __future__ import annotations

import re
from datetime import date

from hub.errors import (
    BeforeReferralError,
    CaseClosedError,
    CommunityBaseClosedError,
    ConsentRequiredError,
    CooperatingBusinessWithdrawnError,
    HubError,
    IllegalTransitionError,
    InvalidPeriodError,
    NoConsentToWithdrawError,
    NotReferredAgencyError,
)
from hub.fiscal import wareki_date

VALUE_ERROR = "受け付けられない値です"
NOT_RECORDED = "記録できませんでした"

_SAID: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"contains a control character (0x[0-9a-f]+)"), "制御文字（{0}）は入力できません"),
    (
        re.compile(r"contains a bidirectional control character (0x[0-9a-f]+)"),
        "文字の向きを変える制御文字（{0}）は入力できません",
    ),
    (re.compile(r"contains a lone surrogate.*"), "文字として読めないデータが含まれています"),
    (re.compile(r"has no visible character"), "目に見える文字がありません"),
    (
        re.compile(r"is not in full-width katakana .*"),
        "カナは全角カタカナで入力してください（ー・と空白も使えます）",
    ),
    (re.compile(r"must not be in the future"), "未来の日付は入力できません"),
    (re.compile(r"must not be before (\d{4}-\d{2}-\d{2}).*"), "{0}より前は入力できません"),
    (
        re.compile(r"must not be more than (\d+) days \(HUB_FUTURE_MARGIN_DAYS\) ahead of \w+"),
        "今日から{0}日より先は入力できません",
    ),
    (
        re.compile(r"write dates as YYYY-MM-DD and instants in ISO 8601 .*, not as a number"),
        "日付は YYYY-MM-DD の形で入力してください（数字だけでは受け付けません）",
    ),
    (
        re.compile(r"timestamps must carry a time zone .*"),
        "日時には時差（+09:00 など）を付けてください",
    ),
    (
        re.compile(r"the UTC offset must lie between -12:00 and \+14:00"),
        "時差は -12:00〜+14:00 の範囲にしてください",
    ),
    (re.compile(r"\w+ must be after \w+"), "開始より後にしてください"),
    (re.compile(r"an? \w+ lasts at most (\d+) days from \w+"), "期間は開始から{0}日までです"),
    (
        re.compile(r"monitoring_date must fall within the plan's period"),
        "計画の期間内の日付にしてください",
    ),
    (
        re.compile(r"consent by proxy must say who gave it .*"),
        "代理の同意では、同意した人との続柄を入力してください",
    ),
)


def rule_said(rule: str) -> str:
    """A rule of the hub as a page says it beside its field: in Japanese where it is one of
    the common ones, else led by a Japanese line with the rule in brackets."""
    for pattern, words in _SAID:
        found = pattern.fullmatch(rule)
        if found is not None:
            return words.format(*(_wareki(group) for group in found.groups()))
    return f"{VALUE_ERROR}（{rule}）"


def _wareki(text: str) -> str:
    """A date the rule names, as the pages show every date (和暦: 明治23年1月1日)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return wareki_date(date.fromisoformat(text))
    return text


# The domain's refusals a form meets, led on a page by what they mean. The hub's own line
# (ids, times) is kept beside it, for whoever helps the officer look into it.
_LEADS: tuple[tuple[type[HubError], str], ...] = (
    (CaseClosedError, "この事案は終結しているため記録できません"),
    (ConsentRequiredError, "本人同意が有効でないため記録できません"),
    (NoConsentToWithdrawError, "撤回できる同意がありません"),
    (BeforeReferralError, "つないだ日時より前の日時では記録できません"),
    (NotReferredAgencyError, "この機関にはつないでいません"),
    (InvalidPeriodError, "期間の終わりは始まりより後にしてください"),
    (CooperatingBusinessWithdrawnError, "この協力事業者は退会しています"),
    (CommunityBaseClosedError, "この拠点は閉鎖しています"),
    (IllegalTransitionError, "今の状態ではこの記録はできません"),
)


def japanese(message: str) -> bool:
    """Whether a refusal is already said in Japanese (it starts in Japanese)."""
    return not message[:1].isascii()


def refusal_said(error: HubError) -> str:
    """A refusal of the hub as a page says it: as the hub says it when that is Japanese,
    else led by what it means in Japanese, the hub's line kept in brackets."""
    text = str(error)
    if japanese(text):
        return text
    lead = next((words for kind, words in _LEADS if isinstance(error, kind)), NOT_RECORDED)
    return f"{lead}（{text}）"
