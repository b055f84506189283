"""Commands at the edge of their fields' types: every text a command keeps is bounded and
never blank, a code is a code; refused naming the field, as `hub submit` names it."""

from __future__ import annotations

import json
import math
import time
from typing import Any
from uuid import uuid4

import pytest

from hub.errors import InvalidCommandError
from hub.intake import parse_command_text


def _plan(**changes: Any) -> str:
    command = {
        "type": "AgreePlan",
        "command_id": str(uuid4()),
        "occurred_at": "2025-05-01T09:00:00+09:00",
        "case_id": str(uuid4()),
        "issues": [{"area": "生活", "issue": "試験の課題"}],
        "goals": ["試験の目標"],
        "lead_agency": "tobata.hogo",
        "roles": [{"agency_id": "tobata.hogo", "role": "主担当"}],
        "period_from": "2025-05-01",
        "period_until": "2025-11-01",
        "monitoring_date": "2025-08-01",
        **changes,
    }
    return json.dumps(command, ensure_ascii=False)


def test_a_plan_as_a_coordinator_writes_it_is_accepted() -> None:
    parse_command_text(_plan())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"issues": [{"area": "", "issue": "試験"}]}, "issues.0.area"),
        ({"issues": [{"area": "\u3000 ", "issue": "試験"}]}, "issues.0.area"),
        ({"issues": [{"area": "あ" * 201, "issue": "試験"}]}, "issues.0.area"),
        ({"roles": [{"agency_id": "tobata.hogo", "role": " "}]}, "roles.0.role"),
        ({"roles": [{"agency_id": "tobata.hogo", "role": "い" * 201}]}, "roles.0.role"),
        ({"roles": [{"agency_id": "", "role": "主担当"}]}, "roles.0.agency_id"),
        ({"roles": [{"agency_id": "ＴＯＢＡＴＡ.hogo", "role": "主担当"}]}, "roles.0.agency_id"),
    ],
)
def test_a_plans_area_role_and_agency_at_their_edges_are_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    """An area or a role blank or of any length was kept in clear on the log, and an
    agency's id of any shape was said back whole by the network's refusal."""
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(_plan(**changes))
    assert str(refused.value).startswith(f"{field}: "), refused.value


OCCURRED = "2025-05-01T09:00:00+09:00"


def _command(kind: str, **fields: Any) -> str:
    base = {"type": kind, "command_id": str(uuid4()), "occurred_at": OCCURRED}
    return json.dumps({**base, **fields}, ensure_ascii=False)


def _gathering(participants: object) -> str:
    return _command("HoldGathering", base_id=str(uuid4()), participants=participants)


def _target(**changes: object) -> str:
    fields = {"fiscal_year": 2026, "indicator": "consultations", "value": 12, **changes}
    return _command("SetTarget", **fields)


def _proxy_consent(by_proxy: object) -> str:
    return _command(
        "GiveConsent",
        case_id=str(uuid4()),
        scope=["tobata.houkatsu"],
        purposes=["consultation"],
        data_categories=["identity"],
        valid_from=OCCURRED,
        valid_until="2026-05-01T09:00:00+09:00",
        by_proxy=by_proxy,
        proxy_relationship="長男（架空）",
    )


def test_numbers_and_booleans_of_their_own_type_are_accepted() -> None:
    parse_command_text(_gathering(3))
    parse_command_text(_target(value=12.5))
    parse_command_text(_proxy_consent(True))


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_gathering(True), "participants"),  # was 1 participant
        (_gathering("2"), "participants"),
        (_gathering("1_000"), "participants"),  # was 1000
        (_gathering(2.0), "participants"),
        (_target(fiscal_year="2026"), "fiscal_year"),
        (_target(value=True), "value"),  # was a target of 1
        (_target(value="12"), "value"),
        (_proxy_consent("yes"), "by_proxy"),  # was a consent by proxy
        (_proxy_consent(1), "by_proxy"),
        (_proxy_consent("false"), "by_proxy"),
    ],
)
def test_a_value_of_another_json_type_is_refused_not_converted(line: str, field: str) -> None:
    """The schema says integer, number, boolean: a boolean where a count goes, a string of
    digits or "yes" where a boolean goes, was read as some count or some answer."""
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(line)
    assert str(refused.value).startswith(f"{field}: "), refused.value


def _discovery_with_phone(phone: str) -> str:
    return _command(
        "ReportDiscovery",
        reporter_kind="resident",
        ward="tobata",
        signs=["odour"],
        urgency="soon",
        person={"phone": phone},
    )


def test_a_phone_number_as_written_in_japan_is_accepted() -> None:
    for phone in ("093-000-0000", "+81 (93) 000-0000", "0930000000"):
        parse_command_text(_discovery_with_phone(phone))


@pytest.mark.parametrize("phone", ["()()()", "------", "+ - ( )", "12345-"])
def test_a_phone_number_without_six_digits_is_refused_naming_it(phone: str) -> None:
    """Six to twenty of the phone's characters was the rule, digits or not: "()()()" was
    kept as a person's phone number."""
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(_discovery_with_phone(phone))
    assert str(refused.value).startswith("person.phone: "), refused.value


@pytest.mark.parametrize("separator", ["\n", "\u2028", "\u2029"])
def test_a_name_or_address_of_more_than_one_line_is_refused_naming_it(separator: str) -> None:
    """A line break inside a one-line field split the rows of every table it is shown in."""
    for field in ("name", "address"):
        line = _command(
            "ReportDiscovery",
            reporter_kind="resident",
            ward="tobata",
            signs=["odour"],
            urgency="soon",
            person={field: f"試験{separator}太郎（架空）"},
        )
        with pytest.raises(InvalidCommandError) as refused:
            parse_command_text(line)
        assert str(refused.value).startswith(f"person.{field}: "), refused.value
        assert "line break" in str(refused.value)


def test_a_note_of_several_lines_is_accepted() -> None:
    parse_command_text(
        _command(
            "ReportDiscovery",
            reporter_kind="resident",
            ward="tobata",
            signs=["odour"],
            urgency="soon",
            note="試験の一行目\n試験の二行目",
        )
    )


def _consent(**changes: object) -> str:
    fields = {
        "case_id": str(uuid4()),
        "scope": ["tobata.houkatsu"],
        "purposes": ["consultation"],
        "data_categories": ["identity"],
        "valid_from": OCCURRED,
        "valid_until": "2026-05-01T09:00:00+09:00",
        **changes,
    }
    return _command("GiveConsent", **fields)


def _emergency(categories: list[str]) -> str:
    return _command(
        "DeclareEmergency",
        case_id=str(uuid4()),
        agencies=["tobata.houkatsu"],
        data_categories=categories,
        reason="試験の緊急事態",
        expires_at="2025-05-03T09:00:00+09:00",
    )


def test_every_purpose_and_category_once_is_accepted() -> None:
    purposes = ["consultation", "assessment", "support_planning", "service_provision"]
    purposes += ["outreach", "participation", "watch_over", "emergency_response"]
    categories = ["identity", "contact", "narrative", "health", "disability", "criminal_record"]
    parse_command_text(_consent(purposes=purposes, data_categories=categories))
    parse_command_text(_emergency(categories))


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_consent(purposes=["consultation"] * 4000), "purposes"),
        (_consent(data_categories=["identity"] * 7), "data_categories"),
        (_emergency(["identity"] * 4000), "data_categories"),
    ],
)
def test_a_list_of_codes_longer_than_its_codes_is_refused_naming_it(line: str, field: str) -> None:
    """The purposes and categories of a consent or an emergency had no upper bound: 4,000
    copies of one code were a consent (up to the body's limit), kept on the log."""
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(line)
    assert str(refused.value).startswith(f"{field}: "), refused.value


@pytest.mark.parametrize("blank", ["\u200b", " \u200b", "\ufeff\u3000"])
def test_zero_width_text_is_judged_in_time_linear_in_its_length(blank: str) -> None:
    """A note of 21,000 zero-width spaces and one letter (a 64 KB body) took the check for
    text that shows as nothing 2 s of CPU, on the API's event loop: every request stalled.
    Here ten times as many: linear, a blink; quadratic, as before, minutes. The bound is
    hundreds of times what a linear check takes, so a busy machine does not fail it."""
    note = blank * (210_000 // len(blank)) + "試"
    started = time.perf_counter()
    parse_command_text(_command("ReportDiscovery", **_REPORT, note=note[-2000:]))
    with pytest.raises(InvalidCommandError):  # too long, said after the text's own checks
        parse_command_text(_command("ReportDiscovery", **_REPORT, note=note))
    assert time.perf_counter() - started < 20


def test_text_of_zero_width_characters_alone_is_still_refused() -> None:
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_text(_command("ReportDiscovery", **_REPORT, note="\u200b \ufeff"))
    assert str(refused.value) == "note: has no visible character"


_REPORT = {"reporter_kind": "resident", "ward": "tobata", "signs": ["odour"], "urgency": "soon"}


def test_a_target_of_minus_zero_is_the_target_zero() -> None:
    """JSON's -0.0 passed "at least 0" and was kept as a target printed "目標 -0件"."""
    command = parse_command_text(_target(value=-0.0))
    assert math.copysign(1.0, command.value) == 1.0  # type: ignore[attr-defined]
