"""The analysis page's downloads are the report the CLI writes (README, Views and reports):
the wide CSV and the workbook lay the indicators against the months when no breakdown is
asked, and the chart states the rate reached and the pace needed beside a year's target and
draws no city-wide target on the wards' bars (a target is for the year, not for a ward)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hub import commands as c
from hub.fiscal import JST
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import sign_in

MAY = datetime(2025, 5, 12, 10, 0, tzinfo=JST)


@pytest.fixture
def year(hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """Two 拠点 (試験) in May 2025 and a target of 10 for R7, seen on 10 December 2025."""
    service, client = hub
    monkeypatch.setattr("ops.web.pages.now", lambda: datetime(2025, 12, 10, 9, 0, tzinfo=JST))
    for ward in ("tobata", "moji"):
        base = f.build(
            c.RegisterCommunityBase,
            name="試験サロン（架空）",
            kind="salon",
            ward=ward,
            occurred_at=MAY,
        )
        service.app.execute(base)
    target = f.build(
        c.SetTarget, fiscal_year=2025, indicator="community_bases", value=10, occurred_at=MAY
    )
    service.app.execute(target)
    sign_in(client, "analyst")
    return client


@pytest.mark.parametrize("by", [None, "month"])
def test_the_wide_csv_lays_the_indicators_against_the_months(
    year: TestClient, by: str | None
) -> None:
    params = {"fy": "R7", **({"by": by} if by else {})}
    wide = year.get("/web/analysis/download/wide.csv", params=params)
    assert wide.status_code == 200, wide.text[:300]
    headers = wide.text.splitlines()[1].split(",")
    assert headers[3:5] == ["令和7年4月", "令和7年5月"] and "令和7年12月" in headers
    bases = next(line for line in wide.text.splitlines() if "拠点数" in line).split(",")
    assert bases[3:5] == ["0", "2"]  # the stock at each month's end, then the year


def test_the_workbook_lays_the_indicators_against_the_months(year: TestClient) -> None:
    got = year.get("/web/analysis/download/xlsx", params={"fy": "R7"})
    assert got.status_code == 200
    sheet = load_workbook(io.BytesIO(got.content))["評価指標"]
    headers = [cell.value for cell in sheet[2]]
    assert headers[3:5] == ["令和7年4月", "令和7年5月"] and "年度計（累計）" in headers


@pytest.mark.parametrize("by", [None, "month", "ward"])
def test_the_chart_states_progress_and_draws_no_years_target_on_the_wards(
    year: TestClient, monkeypatch: pytest.MonkeyPatch, by: str | None
) -> None:
    drawn: dict[str, Any] = {}

    def draw(rows: Any, cut: Any, path: Any, title: Any, *rest: Any) -> None:
        _, targets, notes = (*rest, None, None, None)[:3]
        drawn.update(rows=rows, targets=targets or {}, notes=notes or {})
        path.write_bytes(b"\x89PNG")

    monkeypatch.setattr("projections.chart.draw", draw)
    params = {"fy": "R7", **({"by": by} if by else {})}
    assert year.get("/web/analysis/download/chart.png", params=params).status_code == 200
    if by == "ward":
        assert any(r.ward is not None for r in drawn["rows"])
        assert drawn["targets"] == {}  # the city's 10 is no ward's target
    else:
        assert drawn["targets"] == {"community_bases": 10}
        # 2 of 10 on 10 December: 20 %, and 8 to go in the months left (「年間目標 … 達成率 …」)
        assert drawn["notes"]["community_bases"].startswith("達成率 20.0%・必要ペース ")
