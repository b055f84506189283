"""A referral that ended says why, where the ward sees it: a decline's coded reason, a
completion's outcome, a cancellation's reason (they were recorded on the log and shown
nowhere: a ward officer saw 辞退 and had to ask the agency why)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub import commands as c
from hub.identity import Actor, Role
from hub.labels import referral_status_text
from ops.cli.main import app as cli
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import officer_case

WARD = "tobata"
AGENCIES = ("tobata.houkatsu", "tobata.hogo", "hoboku-shakyo")


def _ended(execute: Callable[[c.Command], object], case_id: UUID) -> None:
    """Three referrals of the case: one declined, one completed, one cancelled."""
    made = [f.referral(case_id, agency, occurred_at=f.at(n)) for n, agency in enumerate(AGENCIES)]
    for referral in made:
        execute(referral)
    declined, completed, cancelled = made
    execute(
        f.answer(
            case_id,
            declined.referral_id,
            declined.agency_id,
            "declined",
            reason_code="capacity",
            occurred_at=f.at(5),
        )
    )
    for answer, n in (("accepted", 5), ("completed", 6)):
        execute(
            f.answer(
                case_id,
                completed.referral_id,
                completed.agency_id,
                answer,
                occurred_at=f.at(n),
                **({"outcome": "partly_resolved"} if answer == "completed" else {}),
            )
        )
    execute(
        f.build(
            c.CancelReferral,
            case_id=case_id,
            referral_id=cancelled.referral_id,
            reason_code="referred_elsewhere",
            occurred_at=f.at(7),
        )
    )


EXPECTED = {
    "tobata.houkatsu": "辞退（定員超過・対応困難）",
    "tobata.hogo": "完了（一部解決）",
    "hoboku-shakyo": "取消（他機関へつないだ）",
}


def test_the_case_shows_why_each_referral_ended(cli_store: Path) -> None:
    opened = f.open_case(ward=WARD)
    runner = CliRunner()

    def execute(command: c.Command) -> None:
        result = runner.invoke(cli, ["command", command.model_dump_json()])
        assert result.exit_code == 0, result.output

    execute(opened)
    _ended(execute, opened.case_id)
    shown = runner.invoke(cli, ["case", "show", str(opened.case_id), "--json"])
    referrals = {r["agency_id"]: r for r in json.loads(shown.stdout)["referrals"]}
    assert {a: referral_status_text(r) for a, r in referrals.items()} == EXPECTED
    assert referrals["tobata.houkatsu"]["decline_reason_label"] == "定員超過・対応困難"
    assert referrals["tobata.hogo"]["outcome_label"] == "一部解決"
    assert referrals["hoboku-shakyo"]["cancel_reason_label"] == "他機関へつないだ"
    table = runner.invoke(cli, ["case", "show", str(opened.case_id)], env={"COLUMNS": "80"})
    assert "完了（一部解決）" in table.stdout and "辞退（定員超過" in table.stdout


def test_the_case_page_shows_why_each_referral_ended(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, _ = officer_case(service, client, WARD)
    operator = Actor("operator-試験", Role.operator)
    _ended(lambda command: service.execute(operator, command), case_id)
    page = client.get(f"/web/cases/{case_id}").text
    assert all(text in page for text in EXPECTED.values())


def test_an_escalated_referral_cancelled_since_is_not_shown_as_still_waiting(
    hub: tuple[HubService, TestClient],
) -> None:
    """The coordinator's escalated list counted the time waited for a referral the referrer
    had cancelled: no answer will come, and none is awaited."""
    from tests.web_support import sign_in

    service, client = hub
    operator = Actor("operator-試験", Role.operator)
    opened = f.open_case(ward=WARD)
    referral = f.referral(opened.case_id, "tobata.houkatsu", occurred_at=f.at(1))
    for command in (
        opened,
        referral,
        f.build(
            c.EscalateReferral,
            case_id=opened.case_id,
            referral_id=referral.referral_id,
            overdue_minutes=2880,
            occurred_at=f.at(3),
        ),
        f.build(
            c.CancelReferral,
            case_id=opened.case_id,
            referral_id=referral.referral_id,
            reason_code="no_longer_needed",
            occurred_at=f.at(4),
        ),
    ):
        service.execute(operator, command)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    row = page.split(f'/web/cases/{opened.case_id}"', 1)[1].split("</tr>", 1)[0]
    assert "取消済" in row and "日" not in row.rsplit("<td>", 1)[1]
