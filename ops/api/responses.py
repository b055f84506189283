"""What the OpenAPI document says a route answers when it refuses: application/problem+json
(ops/api/problems.py) under each status the route can give, and under ``default`` for the rest.

FastAPI declares a 422 of its own (``HTTPValidationError`` as ``application/json``) that the
hub never sends, and no other refusal: a client generated from the document alone would wait
for a body that never comes and have no type for the ones that do.
"""

from __future__ import annotations

from typing import Any

from ops.api.problems import PROBLEM

PROBLEM_NAME = "Problem"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM_NAME,
    "description": "A refusal (RFC 9457). It names the field and its rule, never the value sent.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "always about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "error": {
            "type": "string",
            "description": "The hub's name of the error, e.g. InvalidCommandError.",
        },
        "errors": {
            "type": "array",
            "description": "For invalid input: each field refused and the rule it broke.",
            "items": {
                "type": "object",
                "required": ["field", "rule", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "e.g. person.name, Idempotency-Key, or (body)",
                    },
                    "rule": {
                        "type": "string",
                        "description": "the schema's rule, or invalid / missing",
                    },
                    "message": {"type": "string"},
                },
            },
        },
    },
}

# The statuses of problems (their titles are those of ops/api/problems.py).
SAID = {
    400: "malformed request body (not a JSON object, not UTF-8, nested too deep)",
    401: "not authenticated: no bearer token, or one that is not valid",
    403: "forbidden: the role or its scope (ward, agency) may not do this",
    404: "not found (for an agency or a ward role, another's id is 403 as a missing one)",
    409: "conflicts with the current state, or the Idempotency-Key was used for another command",
    413: "request body too large (HUB_API_MAX_BODY_BYTES)",
    422: "invalid input: a field's value, or a rule of the hub",
    503: "service unavailable (the store or Kafka cannot be reached)",
}

# FastAPI's own 422 schemas: no route answers with them once every 422 is a problem.
UNSENT = ("HTTPValidationError", "ValidationError")


def _statuses(operation: dict[str, Any]) -> list[int]:
    """The refusals a route can give, from what it takes."""
    if "security" not in operation:
        return []
    parameters = operation.get("parameters", [])
    body = "requestBody" in operation
    # 422 on every route with a token: a query parameter given twice is refused on each.
    statuses = [401, 403, 422, 503]
    if body:
        statuses += [400, 409, 413]
    if body or any(p["in"] == "path" for p in parameters):
        statuses.append(404)
    return sorted(statuses)


def declare(document: dict[str, Any]) -> None:
    """Every refusal of every route as a problem, in place; FastAPI's 422 schemas go."""
    content = {PROBLEM: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_NAME}"}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            statuses = _statuses(operation)
            if not statuses:
                continue
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses[str(status)] = {"description": SAID[status], "content": content}
            responses["401"]["headers"] = {
                "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
            }
            responses["default"] = {"description": "any other error (500)", "content": content}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in UNSENT:
        schemas.pop(name, None)
    schemas[PROBLEM_NAME] = PROBLEM_SCHEMA
