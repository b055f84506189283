"""The hub's rules for a value, said in Japanese beside the field a page shows them by.

The rules are worded in English where they are made (``hub.commands``, ``hub.plausible``),
for the CLI and the API. A page says the common ones in Japanese, and leads any other with
a Japanese line, keeping the rule beside it.
"""

from __future__ import annotations

import re

VALUE_ERROR = "受け付けられない値です"

_SAID: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"contains a control character (0x[0-9a-f]+)"), "制御文字（{0}）は入力できません"),
    (
        re.compile(r"contains a bidirectional control character (0x[0-9a-f]+)"),
        "文字の向きを変える制御文字（{0}）は入力できません",
    ),
    (re.compile(r"contains a lone surrogate.*"), "文字として読めないデータが含まれています"),
    (re.compile(r"has no visible character"), "目に見える文字がありません"),
    (re.compile(r"must not be in the future"), "未来の日付は入力できません"),
    (re.compile(r"must not be before (\d{4}-\d{2}-\d{2}).*"), "{0}より前は入力できません"),
    (
        re.compile(r"must not be more than (\d+) days \(HUB_FUTURE_MARGIN_DAYS\) ahead of \w+"),
        "今日から{0}日より先は入力できません",
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
            return words.format(*found.groups())
    return f"{VALUE_ERROR}（{rule}）"
