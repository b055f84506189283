"""A confirmation without script, for a form whose step cannot be undone (終結, 利用停止の
請求, 紹介の取り消し, …): the form carries a box to tick just above its button, and the server
refuses the form unticked, recording nothing, with the message beside the box. The API and
the CLI take no such box: an integrator's program sends what it means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The box's label unless a form says its own (退会は…, 閉鎖は…): the macro ``confirm`` of
# templates/macros.html draws it.
CONFIRM_LABEL = "この操作は取り消せないことを確認しました（必須）"
# An answer that ends a referral (辞退, 完了) cannot be taken back; the progress answers
# (受付, 対応中, 保留) of the same form can, and need no box.
ENDING_LABEL = "辞退・完了は取り消せないことを確認しました（辞退・完了のとき必須）"
ENDING_ANSWERS = frozenset({"declined", "completed"})
# Said under the box, in words every box's label holds (この操作は…, 退会は…, 辞退・完了は…
# 取り消せないことを確認しました): quoting one label sent the reader of another looking for
# a box that is not on the page.
UNCONFIRMED = (
    "この操作は取り消せません。内容を確かめ、"
    "すぐ上の「取り消せないことを確認しました」の欄にチェックを入れてから送ってください"
)
TICKED = "yes"


def confirmed(data: Mapping[str, Any], field: str) -> bool:
    """Whether the form's box ``field`` was ticked (a browser sends it only then)."""
    return data.get(field) == TICKED


def unticked(data: Mapping[str, Any], box: str | None) -> dict[str, str]:
    """The error said beside the box ``box`` (None: the form asks for none) when it was not
    ticked, by the box's name; else nothing."""
    return {box: UNCONFIRMED} if box is not None and not confirmed(data, box) else {}


def ending_box(data: Mapping[str, Any], field: str) -> str | None:
    """The box ``field`` when the form's answer ends the referral, else None (none asked).
    The answer is read as the form's command reads it (``pages._text``: its first value,
    trimmed), so that no spelling the command takes as 辞退 or 完了 escapes the box."""
    answer = data.get("answer")
    if isinstance(answer, list):
        answer = answer[0] if answer else None
    return field if str(answer or "").strip() in ENDING_ANSWERS else None
