"""The OpenAPI document says what the API answers when it refuses: a client generated from the
document alone reads each refusal as the application/problem+json it is, under a status the
route declares (FastAPI's own 422, ``HTTPValidationError`` as application/json, is never sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub.identity import Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.usecases import HubService

TYPES = {"string": str, "integer": int, "array": list, "object": dict, "boolean": bool}


def _conforms(value: Any, schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """Where ``value`` breaks ``schema`` (the subset of JSON Schema the document uses here)."""
    reference = schema.get("$ref")
    if reference:
        schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    kind = schema.get("type")
    if kind and not isinstance(value, TYPES[kind]):
        return [f"{value!r} is no {kind}"]
    broken: list[str] = []
    if kind == "object":
        properties = schema.get("properties", {})
        broken += [f"{name} missing" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name not in properties:
                broken.append(f"{name} undeclared")
            else:
                broken += _conforms(item, properties[name], document)
    if kind == "array":
        for item in value:
            broken += _conforms(item, schema.get("items", {}), document)
    return broken


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(mode="development", var_dir=tmp_path, api_max_body_bytes=1024)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    # No service behind it: every request here is refused before one would be asked.
    return TestClient(create_app(cast(HubService, None), settings))


def _token(settings: Settings, role: Role, **scope: str) -> str:
    claims = dev_issuer.claims_for(settings, subject=f"{role}-試験", role=role, **scope)
    return dev_issuer.sign(dev_issuer.signing_key(settings), claims)


def _refusals(settings: Settings) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, the route's path in the document, the URL asked, the request's options)"""
    officer = {"Authorization": f"Bearer {_token(settings, Role.ward_officer, ward='tobata')}"}
    agency = {"Authorization": f"Bearer {_token(settings, Role.member_agency, agency_id='a.b')}"}
    analyst = {"Authorization": f"Bearer {_token(settings, Role.analyst)}"}
    key = {"Idempotency-Key": str(uuid4())}
    as_json = {"Content-Type": "application/json"}
    discovery = "/commands/ReportDiscovery"
    answer = "/agencies/{agency_id}/inbox/{referral_id}/answer"
    return [
        ("GET", "/cases", "/cases", {}),  # 401
        ("GET", "/cases/{case_id}", "/cases/not-a-uuid", {"headers": officer}),  # 422
        ("GET", "/indicators", "/indicators", {"headers": analyst}),  # 422, fy missing
        ("GET", "/indicators", "/indicators?fy=R7&by=year", {"headers": analyst}),  # 422
        ("POST", answer, f"/agencies/c.d/inbox/{uuid4()}/answer", {"headers": {**agency, **key}}),
        ("POST", discovery, discovery, {"headers": officer, "json": {}}),  # 422, no key
        ("POST", discovery, discovery, {"headers": {**officer, "Idempotency-Key": "x"}}),
        (
            "POST",
            discovery,
            discovery,
            {"headers": {**officer, **key, **as_json}, "content": b"{"},
        ),  # 400
        (
            "POST",
            discovery,
            discovery,
            {"headers": {**officer, **key, **as_json}, "content": b" " * 2000},
        ),
        ("POST", discovery, discovery, {"headers": {**officer, **key}, "json": {"ward": 1}}),
        ("POST", "/commands/SetTarget", "/commands/SetTarget", {"headers": {**officer, **key}}),
        (
            "POST",
            answer,
            f"/agencies/a.b/inbox/{uuid4()}/answer",
            {"headers": {**agency, **key}, "json": {"answer": "maybe"}},
        ),
    ]


def test_every_refusal_is_a_problem_the_route_declares(
    client: TestClient, settings: Settings
) -> None:
    document = client.get("/openapi.json").json()
    seen = set()
    for method, path, url, options in _refusals(settings):
        answer = client.request(method, url, **options)
        declared = document["paths"][path][method.lower()]["responses"]
        response = declared.get(str(answer.status_code), declared.get("default"))
        assert response is not None, (method, url, answer.status_code, sorted(declared))
        media = answer.headers["content-type"]
        assert media == "application/problem+json", (method, url, answer.text)
        assert list(response["content"]) == [media], (method, url, response)
        schema = response["content"][media]["schema"]
        assert _conforms(answer.json(), schema, document) == [], (method, url, answer.text)
        seen.add(answer.status_code)
    assert seen == {400, 401, 403, 413, 422}


def test_no_route_declares_fastapis_validation_error_the_hub_never_sends(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) or status == "default":
                    assert list(response["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
            if "security" in operation:
                assert {"401", "403", "default"} <= set(operation["responses"]), (method, path)


def test_a_repeated_key_is_declared_with_the_outcome_it_answers(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path in ("/commands/GiveConsent", "/agencies/{agency_id}/inbox/{referral_id}/answer"):
        responses = document["paths"][path]["post"]["responses"]
        assert responses["200"]["content"] == responses["201"]["content"], path
        reference = responses["201"]["content"]["application/json"]["schema"]["$ref"]
        outcome = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
        assert "duplicate" in outcome["required"], path


def test_a_fields_message_is_said_once_without_pydantics_prefix(
    client: TestClient, settings: Settings
) -> None:
    """pydantic's "Value error, " said nothing to a client, and an answer's reason came back
    as ``reason: Value error, reason: contains a control character``."""
    officer = {"Authorization": f"Bearer {_token(settings, Role.ward_officer, ward='tobata')}"}
    agency = {"Authorization": f"Bearer {_token(settings, Role.member_agency, agency_id='a.b')}"}
    early = client.post(
        "/commands/OpenCase",
        headers={**officer, "Idempotency-Key": str(uuid4())},
        json={"ward": "tobata", "occurred_at": "1999-12-31T00:00:00+09:00"},
    )
    control = client.post(
        f"/agencies/a.b/inbox/{uuid4()}/answer",
        headers={**agency, "Idempotency-Key": str(uuid4())},
        json={"answer": "declined", "reason_code": "other", "reason": "試験\x00"},
    )
    for answer, field in ((early, "occurred_at"), (control, "reason")):
        assert answer.status_code == 422, answer.text
        (error,) = [e for e in answer.json()["errors"] if e["field"] == field]
        assert not error["message"].startswith(("Value error", f"{field}:")), error
        assert "Value error" not in answer.json()["detail"], answer.text
