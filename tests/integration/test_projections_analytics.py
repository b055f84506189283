"""An analyst with only analytics.events rebuilds table ④ and gets exactly the hub's numbers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.labels import names
from hub.settings import get_settings
from ops.cli.main import app as cli
from projections import report
from projections.analytics import fold_records, read_analytics
from projections.indicators import Cut
from projections.runner import catch_up, open_projection
from tests.integration.streams import new_relay, provisioned, store_settings
from tests.integration.test_projections import EXPECTED_R7, seed

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_analysts_rebuild_from_kafka_equals_the_hubs_indicators(
    kind: str,
    request: pytest.FixtureRequest,
    kafka_broker: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = request.getfixturevalue("sqlite_env" if kind == "sqlite" else "pg_env")
    settings = store_settings(kind, env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    provisioned(settings, ["kokurakita.hogo", "hoboku-shakyo", "kokurakita.coordinator"])
    seed(app)
    assert new_relay(settings, app).drain().events > 0

    projection = open_projection("indicators", settings.eventsourcing_env())
    catch_up(projection, app)
    records = list(read_analytics(settings))
    analyst = fold_records(records)
    # The relay may send a batch again after a crash: each event id counts once.
    assert fold_records(records + records[:10]) == analyst

    for by in (None, "ward", "month"):
        for until in (None, date(2025, 6, 30)):
            cut = Cut.of(2025, until)
            hub_rows = report.from_view(projection.view, cut, by)  # type: ignore[arg-type]
            assert report.from_memory(analyst, cut, by) == hub_rows  # type: ignore[arg-type]
    values = {r.indicator: r.value for r in report.from_memory(analyst, Cut.of(2025))}
    assert values == EXPECTED_R7

    # The same from the command line, as the analyst runs it.
    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", settings.kafka_topic_prefix)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["analytics", "rebuild", "--fy", "R7", "--by", "ward", "--format", "json"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    hub_rows = report.from_view(projection.view, Cut.of(2025), "ward")
    assert json.loads(result.stdout) == json.loads(report.to_json(hub_rows, names().wards))
