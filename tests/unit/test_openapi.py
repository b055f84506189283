"""The committed OpenAPI document equals the one ``hub serve`` generates."""

from __future__ import annotations

from ops.api.openapi import OPENAPI_PATH, document, render


def test_committed_openapi_equals_the_generated_document() -> None:
    committed = OPENAPI_PATH.read_text("utf-8")
    assert committed == render(document()), (
        "schemas/openapi.json is stale: run `hub schema openapi > schemas/openapi.json`"
    )


def test_every_command_has_a_route_whose_body_is_its_schema_without_the_id() -> None:
    data = document()
    schemas = data["components"]["schemas"]
    give_consent = data["paths"]["/commands/GiveConsent"]["post"]
    body = give_consent["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/GiveConsent"}
    assert "command_id" not in schemas["GiveConsent"]["properties"]
    assert "Idempotency-Key" in [p["name"] for p in give_consent["parameters"]]
    assert data["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
