"""A person's details read through the API are never stored by a cache on the way (a
browser's, a proxy's): a copy read again from it would be a read the access log lacks."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hub.identity import Actor, Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.wiring import open_service
from tests import factories as f

WARD = "tobata"


def test_the_persons_details_are_sent_with_no_store(tmp_path: Path) -> None:
    settings = Settings(mode="development", var_dir=tmp_path, sqlite_path=tmp_path / "hub.sqlite")
    service = open_service(settings)
    try:
        case = f.open_case(ward=WARD, person=f.person())
        service.execute(Actor("officer-試験", Role.ward_officer, ward=WARD), case)
        token = dev_issuer.issue(
            settings, subject="officer-試験", role=Role.ward_officer, ward=WARD
        )
        client = TestClient(create_app(service, settings))
        shown = client.get(
            f"/cases/{case.case_id}/person",
            params={"purpose": "consultation"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert shown.status_code == 200, shown.text
        assert shown.json()["person"]["name"] == f.SYNTHETIC_NAME
        assert shown.headers["cache-control"] == "no-store"
    finally:
        service.close()
