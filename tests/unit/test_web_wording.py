"""The hub's rules and refusals as the pages say them: in Japanese, from the very lines the
hub makes (so a rule reworded in English is caught here, not on a page in front of an
officer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from hub import commands as c
from hub import plausible
from hub.errors import (
    CaseClosedError,
    HubError,
    IllegalTransitionError,
    NoConsentToWithdrawError,
    StoreUnavailableError,
)
from hub.fiscal import now
from ops.web.wording import NOT_RECORDED, VALUE_ERROR, refusal_said, rule_said


def _raised(check: Callable[[Any], object], value: object) -> str:
    with pytest.raises(ValueError) as refused:
        check(value)
    return str(refused.value)


def _text_rule(value: str) -> str:
    with pytest.raises(ValueError) as refused:
        c._check_text({"note": value})
    named = c.field_of_rule({"note"}, str(refused.value))
    assert named is not None and named[0] == "note"
    return named[1]


def _command_rule(model: type[c.Command], **fields: object) -> str:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(
            {"command_id": str(uuid4()), "occurred_at": now().isoformat(), **fields}
        )
    rule = str(refused.value.errors()[0]["msg"]).removeprefix("Value error, ")
    found = c.field_of_rule(model.model_fields, rule)
    return found[1] if found else rule


def _rules() -> dict[str, str]:
    today = now().date()
    consent = {
        "case_id": str(uuid4()),
        "scope": ["tobata.houkatsu"],
        "purposes": ["assessment"],
        "data_categories": ["identity"],
        "valid_from": now().isoformat(),
    }
    return {
        "control": _text_rule("架空\x07"),
        "bidi": _text_rule("架空\u202e"),
        "surrogate": _text_rule("架空\ud800"),
        "invisible": _text_rule("\u200b"),
        "future": _raised(plausible.birth_date, today + timedelta(days=1)),
        "before": _raised(plausible.day, date(1999, 12, 31)),
        "ahead": _raised(plausible.day, today + timedelta(days=400)),
        "number": _raised(plausible.written_out, "20250401"),
        "after": _command_rule(
            c.GiveConsent, **consent, valid_until=(now() - timedelta(days=1)).isoformat()
        ),
        "lasts": _command_rule(
            c.GiveConsent, **consent, valid_until=(now() + timedelta(days=4000)).isoformat()
        ),
        "proxy": _command_rule(
            c.GiveConsent,
            **consent,
            valid_until=(now() + timedelta(days=30)).isoformat(),
            by_proxy=True,
        ),
    }


@pytest.mark.parametrize("kind", sorted(_rules()))
def test_each_common_rule_of_the_hub_is_said_in_japanese(kind: str) -> None:
    rule = _rules()[kind]
    said = rule_said(rule)
    assert not said.startswith(VALUE_ERROR), f"{kind}: {rule!r} is not said in Japanese"
    assert any(not char.isascii() for char in said.split("（")[0])


def test_a_date_a_rule_names_is_said_in_wareki_as_every_date_of_the_pages() -> None:
    """A birth date before the hub's first (1890-01-01) is refused naming that day as the
    pages show dates, 明治23年1月1日, and a day before 2000 likewise 平成12年1月1日."""
    assert rule_said(_raised(plausible.birth_date, date(1889, 12, 31))) == (
        "明治23年1月1日より前は入力できません"
    )
    assert rule_said(_rules()["before"]) == "平成12年1月1日より前は入力できません"


def test_a_rule_not_in_the_table_is_led_by_a_japanese_line_and_kept() -> None:
    assert (
        rule_said("a rule the pages do not know")
        == f"{VALUE_ERROR}（a rule the pages do not know）"
    )


@pytest.mark.parametrize(
    ("error", "lead"),
    [
        (CaseClosedError("case 1 is closed"), "この事案は終結しているため記録できません"),
        (
            NoConsentToWithdrawError("case 1 has no consent 2 to withdraw"),
            "撤回できる同意がありません",
        ),
        (IllegalTransitionError("case 1 is already suspended"), "今の状態ではこの記録はできません"),
        (StoreUnavailableError("the store is away"), NOT_RECORDED),
    ],
)
def test_a_refusal_is_led_by_what_it_means_and_keeps_the_hubs_line(
    error: HubError, lead: str
) -> None:
    assert refusal_said(error) == f"{lead}（{error}）"


def test_a_refusal_the_hub_says_in_japanese_is_said_as_it_is() -> None:
    assert refusal_said(IllegalTransitionError("試験の理由")) == "試験の理由"
