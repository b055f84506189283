"""The committed OpenAPI document equals the one ``hub serve`` generates."""

from __future__ import annotations

from hub.commands import commands_json_schema
from ops.api.commands import command_models
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


def test_a_command_body_requires_what_hub_schema_commands_requires() -> None:
    """An id the command creates is derived from the Idempotency-Key when left out (the
    README's ReportDiscovery names no discovery_id): the document does not require it."""
    schemas = document()["components"]["schemas"]
    commands = commands_json_schema()["$defs"]
    for model in command_models():
        wanted = set(commands[model.__name__].get("required", [])) - {"command_id", "type"}
        assert set(schemas[model.__name__]["required"]) == wanted, model.__name__
    assert "discovery_id" not in schemas["ReportDiscovery"]["required"]
    assert "Idempotency-Key" in schemas["OpenCase"]["properties"]["case_id"]["description"]


def test_a_derived_id_may_be_null_and_an_instant_says_its_window() -> None:
    """The hub derives an id sent as null as one left out, and refuses an instant outside
    2000-01-01 .. now + HUB_FUTURE_MARGIN_DAYS: the document says both."""
    schemas = document()["components"]["schemas"]
    business_id = schemas["RegisterCooperatingBusiness"]["properties"]["business_id"]
    assert {"type": "null"} in business_id["anyOf"]
    said = schemas["OpenCase"]["properties"]["occurred_at"]["description"]
    assert "2000-01-01" in said and "HUB_FUTURE_MARGIN_DAYS" in said
