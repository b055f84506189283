"""The officer's API read of a case's person (GET /cases/{id}/person) gives the case's
narratives too (``notes``: the reasons of a cancellation, a 中断, a 終結, the emergency's, the
outreach visits' notes, ...), in the same access record as the details; the API gave none,
so an integrator read the details without what was written about the case. An erased case
gives none and records no read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.identity import Actor, Role
from hub.labels import label
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.usecases import HubService
from ops.wiring import open_service
from tests import factories as f
from tests.case_narratives import OFFICER, WARD, WRITTEN, with_narratives

AUDITOR = Actor("auditor-試験", Role.auditor)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[HubService, TestClient, dict[str, str]]]:
    settings = Settings(mode="development", var_dir=tmp_path, sqlite_path=tmp_path / "hub.sqlite")
    service = open_service(settings)
    token = dev_issuer.issue(settings, subject=OFFICER.subject, role=Role.ward_officer, ward=WARD)
    try:
        yield (
            service,
            TestClient(create_app(service, settings)),
            {"Authorization": f"Bearer {token}"},
        )
    finally:
        service.close()


def read(client: TestClient, case_id: Any, headers: dict[str, str]) -> Any:
    shown = client.get(
        f"/cases/{case_id}/person", params={"purpose": "consultation"}, headers=headers
    )
    assert shown.status_code == 200, shown.text
    return shown.json()


def test_the_person_read_gives_every_narrative_in_the_same_access_record(
    api: tuple[HubService, TestClient, dict[str, str]],
) -> None:
    service, client, headers = api
    case_id = with_narratives(service.app)
    shown = read(client, case_id, headers)
    assert shown["person"]["name"] == f.SYNTHETIC_NAME
    assert [(n["path"], n["text"]) for n in shown["notes"]] == WRITTEN
    for note in shown["notes"]:
        assert note["label"] == label("person_field", note["path"])
        assert note["written_at"].endswith("+09:00")
    cancelled = shown["notes"][1]
    assert cancelled["agency_id"] == f"{WARD}.hogo" and cancelled["coded"] == "他機関へつないだ"
    (record,) = service.access(AUDITOR)
    assert {path for path, _ in WRITTEN} <= set(record["fields"])
    assert "person.name" in record["fields"]


def test_an_erased_cases_read_gives_no_narrative_and_records_nothing(
    api: tuple[HubService, TestClient, dict[str, str]],
) -> None:
    service, client, headers = api
    case_id = with_narratives(service.app)
    service.app.erase_person(
        case_id,
        decided_by="試験 保健福祉局",
        reason="保存期間満了",
        actor=Actor("admin-試験", Role.administrator),
    )
    shown = read(client, case_id, headers)
    assert shown["notes"] == [] and not shown["read_recorded"] and shown["erased"]
    assert service.access(AUDITOR) == []
