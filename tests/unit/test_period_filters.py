"""A period filter that ends before it starts names no instant: the auditor who typed the
two ends the wrong way round is told so, never shown "0 disclosures" as if none were made
(README, output conventions: filters refuse what names nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub.identity import Role
from ops.cli.main import app as cli
from ops.identity import dev_issuer
from ops.usecases import HubService
from tests.web_support import sign_in

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "disclosures", "--between", "2025-12-01", "2025-11-30"],
        ["audit", "access", "--between", "2025-12-01T00:00+09:00", "2025-12-01T00:00+09:00"],
        ["audit", "report", "--from", "2026-04-01", "--to", "2025-04-01"],
        [
            "privacy",
            "leak-impact",
            "--store",
            "x.sqlite",
            "--from",
            "2026-01-01",
            "--to",
            "2025-01-01",
        ],
    ],
)
def test_the_cli_refuses_a_period_that_ends_before_it_starts(
    cli_store: Path, args: list[str]
) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "EmptyPeriodError" not in result.stdout
    assert "ends before it starts" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("path", ["/audit/disclosures", "/audit/access"])
def test_the_api_refuses_a_period_that_ends_before_it_starts(
    hub: tuple[HubService, TestClient], path: str
) -> None:
    service, client = hub
    token = dev_issuer.issue(service.settings, subject="auditor-試験", role=Role.auditor)
    answered = client.get(
        path,
        params={"from": "2026-01-01", "to": "2025-01-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answered.status_code == 422, answered.text
    assert "EmptyPeriodError" in answered.text


def test_the_audit_page_says_beside_the_end_that_it_comes_before_the_start(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    sign_in(client, "auditor")
    page = client.get("/web/audit", params={"from": "2025-12-01", "to": "2025-11-30"})
    assert page.status_code == 422
    assert "始まりより前" in page.text.split('id="to-error"')[1][:200]
    one_day = client.get("/web/audit", params={"from": "2025-12-01", "to": "2025-12-01"})
    assert one_day.status_code == 200  # 「その日まで」: one whole day
