"""A header the API reads once, sent twice, is refused: FastAPI and Starlette read the first,
and whatever stands in front of the hub (a proxy, a gateway) may have read the other."""

from __future__ import annotations

from pathlib import Path
from typing import cast
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub.identity import Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.usecases import HubService

DISCOVERY = {
    "occurred_at": "2025-05-01T09:00:00+09:00",
    "reporter_kind": "partner_company",
    "ward": "tobata",
    "signs": ["newspapers_piling_up"],
    "urgency": "urgent",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(mode="development", var_dir=tmp_path)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    # No service behind it: a request let through to the use case would be a 500.
    return TestClient(create_app(cast(HubService, None), settings))


def _bearer(settings: Settings, role: Role, **scope: str) -> tuple[str, str]:
    claims = dev_issuer.claims_for(settings, subject=f"{role}-試験", role=role, **scope)
    return ("Authorization", f"Bearer {dev_issuer.sign(dev_issuer.signing_key(settings), claims)}")


def test_two_idempotency_keys_are_refused_naming_the_header(
    client: TestClient, settings: Settings
) -> None:
    headers = [
        _bearer(settings, Role.partner_reporter),
        ("Idempotency-Key", str(uuid4())),
        ("Idempotency-Key", str(uuid4())),
    ]
    answered = client.post("/commands/ReportDiscovery", json=DISCOVERY, headers=headers)
    assert answered.status_code == 422, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert answered.json()["errors"] == [
        {
            "field": "Idempotency-Key",
            "rule": "invalid",
            "message": "given more than once (send one)",
        }
    ]


def test_two_idempotency_keys_on_an_answer_are_refused(
    client: TestClient, settings: Settings
) -> None:
    headers = [
        _bearer(settings, Role.member_agency, agency_id="tobata.houkatsu"),
        ("Idempotency-Key", str(uuid4())),
        ("Idempotency-Key", str(uuid4())),
    ]
    answered = client.post(
        f"/agencies/tobata.houkatsu/inbox/{uuid4()}/answer",
        json={"answer": "received"},
        headers=headers,
    )
    assert answered.status_code == 422, answered.text
    assert answered.json()["errors"][0]["field"] == "Idempotency-Key"


def test_two_authorization_headers_are_not_let_in(client: TestClient, settings: Settings) -> None:
    headers = [_bearer(settings, Role.operator), ("Authorization", "Bearer someone-else")]
    answered = client.get("/cases", headers=headers)
    assert answered.status_code == 401, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert answered.json()["error"] == "AuthenticationError"
    assert answered.headers["www-authenticate"] == "Bearer"
