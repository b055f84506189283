"""An agency id in the path is an agency's code (as the commands take it), refused by its rule
and never said back: a refusal once repeated the whole path, thousands of characters and any
control character in it, in its detail."""

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

ODD = ["a" * 5000, "%00", "A.B", "tobata houkatsu", "%ED%A0%80"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(mode="development", var_dir=tmp_path)


def _headers(settings: Settings) -> dict[str, str]:
    claims = dev_issuer.claims_for(
        settings, subject="staff-試験", role=Role.member_agency, agency_id="tobata.houkatsu"
    )
    token = dev_issuer.sign(dev_issuer.signing_key(settings), claims)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid4())}


@pytest.mark.parametrize("agency", ODD)
@pytest.mark.parametrize("route", ["inbox", "answer"])
def test_an_agency_id_that_is_no_code_is_refused_without_being_said_back(
    agency: str, route: str, settings: Settings
) -> None:
    client = TestClient(create_app(cast(HubService, None), settings))
    headers = _headers(settings)
    if route == "inbox":
        answered = client.get(f"/agencies/{agency}/inbox", headers=headers)
    else:
        url = f"/agencies/{agency}/inbox/{uuid4()}/answer"
        answered = client.post(url, json={"answer": "received"}, headers=headers)
    assert answered.status_code == 422, answered.text[:300]
    assert answered.headers["content-type"] == "application/problem+json"
    problem = answered.json()
    assert [e["field"] for e in problem["errors"]] == ["agency_id"]
    assert problem["errors"][0]["rule"] == "string_pattern_mismatch"
    assert "aaaa" not in answered.text and "\\u0000" not in answered.text
    assert len(answered.text) < 1000


def test_the_document_says_what_an_agency_id_is(settings: Settings) -> None:
    client = TestClient(create_app(cast(HubService, None), settings))
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/agencies/{agency_id}/inbox", "get"),
        ("/agencies/{agency_id}/inbox/{referral_id}/answer", "post"),
    ]:
        parameter = next(p for p in paths[path][method]["parameters"] if p["in"] == "path")
        assert parameter["schema"]["pattern"] == "^[a-z0-9][a-z0-9._:-]{0,63}$", path
