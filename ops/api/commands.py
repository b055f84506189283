"""One route per command: ``POST /commands/<Type>``, the body is the command of hub/commands.py.

The ``Idempotency-Key`` header is the command's ``command_id``: the same key again writes
nothing new (200 with ``duplicate``), as ``hub submit`` does with the same file.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from hub import commands as c
from hub import vocabulary as v
from hub.errors import IdempotencyConflictError, InvalidCommandError
from hub.identity import Actor
from hub.ids import check_not_nil
from hub.intake import MAX_DEPTH, RepeatedKeyError, _depth, keys_once
from hub.policy import ALL_COMMANDS, authorize_command_type
from ops.api import responses
from ops.api.problems import MalformedBodyError, validation_problem
from ops.usecases import HubService

IdempotencyKey = Header(
    alias="Idempotency-Key",
    description="The command's id (a UUID), given once: a repeated key writes nothing new.",
    json_schema_extra={"format": "uuid"},
)


class CommandOutcome(BaseModel):
    """What a command route answers: 201 with the events written, 200 for a key seen before."""

    command_id: UUID
    command_type: str
    duplicate: bool = Field(description="true: the key was seen before and nothing was written")
    events: list[str] = Field(description="the types of the events written")
    aggregate_ids: list[UUID]


class AnswerOutcome(BaseModel):
    """What the inbox's answer route answers: 201 applied, 200 for a reply id seen before."""

    referral_id: UUID
    answer: v.ReferralAnswer
    reply_id: UUID = Field(
        description="the Idempotency-Key: the reply's id, as on replies.<agency>"
    )
    duplicate: bool = Field(description="true: the key was seen before and nothing was written")


# The success answers of a route that answers a repeated Idempotency-Key with 200.
def repeated(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "the same Idempotency-Key again: nothing new"}}


def key_of(request: Request, key: str) -> UUID:
    """The Idempotency-Key as a UUID. Sent twice it is refused: FastAPI would take the first,
    and a retry whose proxy added the other would be another command."""
    if len(request.headers.getlist("idempotency-key")) > 1:
        raise InvalidCommandError("Idempotency-Key: given more than once (send one)")
    check_not_nil(key, "Idempotency-Key")  # the command's id
    try:
        return UUID(key)
    except ValueError:
        raise InvalidCommandError("Idempotency-Key: must be a UUID") from None


def command_models() -> list[type[c.Command]]:
    models = [getattr(c, name) for name in sorted(ALL_COMMANDS)]
    return [m for m in models if isinstance(m, type) and issubclass(m, c.Command)]


def _is_json(content_type: str) -> bool:
    """Whether a Content-Type says JSON in UTF-8 (``application/json``, ``…+json``)."""
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    charset = next((p.partition("=")[2].strip('"') for p in params if p.startswith("charset=")), "")
    json_type = media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
    return json_type and charset in ("", "utf-8")


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or InvalidCommandError saying why not."""
    # A body sent as a form or as text is not read as JSON all the same: what the client (or
    # a proxy in front, which judges by the type) meant it to be cannot be known. One sent
    # with no type at all (a script's bare client) says nothing else, and is read.
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json(content_type):
        raise InvalidCommandError("Content-Type: must be application/json (in UTF-8)")
    raw = await request.body()
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=keys_once)
    except RepeatedKeyError as repeated:
        raise InvalidCommandError(repeated.refusal("(body)")) from None
    except UnicodeDecodeError:
        raise MalformedBodyError("the body is not UTF-8 text") from None
    except RecursionError:
        raise MalformedBodyError(f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        message = error.msg if isinstance(error, json.JSONDecodeError) else "a number too long"
        raise MalformedBodyError(f"the body is not JSON ({message})") from None
    if _depth(data) > MAX_DEPTH:
        raise MalformedBodyError(f"the body is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise MalformedBodyError("the body is not a JSON object")
    return data


def command_of(model: type[c.Command], data: dict[str, Any], command_id: UUID) -> c.Command:
    if "command_id" in data and str(data["command_id"]) != str(command_id):
        raise InvalidCommandError("command_id: must equal the Idempotency-Key header")
    if "type" in data and data["type"] != model.__name__:
        raise InvalidCommandError(f"type: this route takes {model.__name__} only")
    return model.model_validate({**data, "type": model.__name__, "command_id": command_id})


def body_schema(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The command's JSON Schema without ``command_id`` (the header) and its definitions."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    schema["properties"].pop("command_id", None)
    schema["required"] = [r for r in schema.get("required", []) if r not in ("command_id", "type")]
    if issubclass(model, c.Command):
        # As `hub schema commands` says: an id the command creates may be left out.
        c.optional_ids(model, schema, source="the Idempotency-Key (the command_id)")
    return schema, definitions


def router(service: HubService, current_actor: Any) -> tuple[APIRouter, dict[str, Any]]:
    """The command routes and the schemas they reference (for the OpenAPI document)."""
    routes = APIRouter(prefix="/commands", tags=["commands"])
    components: dict[str, Any] = {}
    for model in command_models():
        schema, definitions = body_schema(model)
        components.update(definitions)
        components[model.__name__] = schema
        _add(routes, service, current_actor, model)
    return routes, components


def _add(
    routes: APIRouter, service: HubService, current_actor: Any, model: type[c.Command]
) -> None:
    name = model.__name__

    async def give(
        request: Request,
        actor: Actor = Depends(current_actor),  # noqa: B008
        idempotency_key: str = IdempotencyKey,
    ) -> JSONResponse:
        authorize_command_type(actor, name)
        data = await json_object(request)
        command_id = key_of(request, idempotency_key)
        try:
            command = command_of(model, data, command_id)
        except ValidationError as error:
            return validation_problem(error)
        try:
            outcome = await run_in_threadpool(service.execute, actor, command)
        except IdempotencyConflictError as error:
            # The command's id is the key the caller sent: name the key, as the answers do.
            raise IdempotencyConflictError(
                str(error).replace("command_id", "Idempotency-Key")
            ) from None
        body = {
            "command_id": str(outcome.command_id),
            "command_type": outcome.command_type,
            "duplicate": outcome.duplicate,
            "events": list(outcome.events),
            "aggregate_ids": [str(a) for a in outcome.aggregate_ids],
        }
        return JSONResponse(body, status_code=200 if outcome.duplicate else 201)

    routes.add_api_route(
        f"/{name}",
        give,
        methods=["POST"],
        name=name,
        summary=(model.__doc__ or name).strip().splitlines()[0],
        status_code=201,
        response_model=CommandOutcome,
        response_description="the command is written: the events it gave",
        responses=repeated(CommandOutcome),
        openapi_extra=json_body(name),
    )


def json_body(schema_name: str) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route that reads its JSON body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
            },
        }
    }


def add_components(app: FastAPI, components: dict[str, Any]) -> None:
    """Put the commands' schemas into the OpenAPI document FastAPI generates, and every
    route's refusals as problems (ops/api/responses.py)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(components)
            responses.declare(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
