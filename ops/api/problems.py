"""Refusals as application/problem+json (RFC 9457): a status, a title, the field and its rule.

Never the value: a rejected field may hold a person's name or phone number, so problems name
where and which rule, as ``hub submit`` does, and no message that echoes the input is passed on.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request as StarletteRequest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import commands as c
from hub import errors as e
from hub.logging import get_logger

log = get_logger("ops.api")

PROBLEM = "application/problem+json"


# Most specific first: the first class an error is an instance of decides its status.
class MalformedBodyError(e.InvalidCommandError):
    """The body is not a JSON object at all (not UTF-8, not JSON, too deep)."""


class BodyTooLargeError(e.InvalidCommandError):
    """The body is larger than ``HUB_API_MAX_BODY_BYTES`` (refused before it is read)."""


class MethodNotAllowedError(e.HubError):
    """The path is served, but not with the request's method."""


STATUS: list[tuple[type[e.HubError], int, str]] = [
    (MalformedBodyError, 400, "malformed request body"),
    (e.AuthenticationError, 401, "not authenticated"),
    (e.PermissionDeniedError, 403, "forbidden"),
    (e.CaseNotFoundError, 404, "not found"),
    (e.ReferralNotFoundError, 404, "not found"),
    (e.NotFoundError, 404, "not found"),
    (e.IllegalTransitionError, 409, "conflicts with the current state"),
    (e.CaseClosedError, 409, "conflicts with the current state"),
    (e.ConcurrentChangeError, 409, "changed by someone else"),
    (e.IdempotencyConflictError, 409, "Idempotency-Key already used for another command"),
    (e.InvalidCommandError, 422, "invalid input"),
    (e.DomainError, 422, "breaks a rule of the hub"),
    (e.ServiceUnavailableError, 503, "service unavailable"),
    (e.ConfigurationError, 500, "the hub is misconfigured"),
    (e.HubError, 400, "refused"),
]

INVALID = e.InvalidCommandError.__name__  # the name of every refusal of a field's value
UNPARSED = "There was an error parsing the body"  # FastAPI's HTTPException detail
# The router's own refusals (no route, another method) by the hub's name, as every problem.
ROUTING = {404: e.NotFoundError.__name__, 405: MethodNotAllowedError.__name__}

# pydantic error types whose message quotes the input; their rule is named without it.
ECHOING = {"union_tag_invalid": "unknown command type", "json_invalid": "not valid JSON"}


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# "field: message", as the hub's own refusals of a value are worded ("fy: …", "Idempotency-Key: …").
FIELD_FIRST = re.compile(r"(?P<field>[A-Za-z_][A-Za-z0-9_.\-]*): (?P<message>.+)", re.DOTALL)


def own_errors(error: e.InvalidCommandError) -> list[dict[str, str]]:
    """``[{field, rule, message}]`` of a refusal the hub makes itself (after the schema's
    checks): the field its message names first, or ``(body)``; its rule ``invalid``."""
    text = str(error)
    named = FIELD_FIRST.fullmatch(text)
    field, message = (named["field"], named["message"]) if named else ("(body)", text)
    return [{"field": field, "rule": "invalid", "message": message[:200]}]


# Where FastAPI found a request's parameter: the field is named as the caller wrote it
# (``Idempotency-Key``, ``fy``), as the hub's own refusals of a value name it.
_PLACES = frozenset({"header", "query", "path", "cookie"})


def field_errors(
    errors: list[Any], skip: int = 0, fields: Collection[str] = ()
) -> list[dict[str, str]]:
    """``[{field, rule, message}]`` of pydantic errors, without the input values. A rule of
    the whole command (``fields``: its fields) goes to the field its message names."""
    found = []
    for item in errors[:20]:
        location = [str(part) for part in item.get("loc", ())[skip:]]
        kind = str(item.get("type", "invalid"))
        # pydantic's "Value error, " says nothing to a client, nor a field named twice.
        message = (ECHOING.get(kind) or str(item.get("msg", kind))).removeprefix("Value error, ")
        if location:
            message = message.removeprefix(f"{'.'.join(location)}: ")
        elif kind == "value_error":
            named = c.field_of_rule(fields, message)
            if named is not None:
                location, message = [named[0]], named[1]
        found.append(
            {"field": ".".join(location) or "(body)", "rule": kind, "message": message[:200]}
        )
    return found


def _unplaced(item: Any) -> Any:
    """A FastAPI error located without its place (``header``, ``query``…)."""
    location = tuple(item.get("loc", ()))
    if location[:1] and location[0] in _PLACES:
        return {**item, "loc": location[1:]}
    return item


def validation_problem(
    error: ValidationError, skip: int = 0, fields: Collection[str] | None = None
) -> JSONResponse:
    """422 naming each refused field; ``fields`` (by default those of the command the error
    is of) are where a rule of the whole command is said."""
    if fields is None:
        model = getattr(c, error.title, None)
        fields = (
            model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else ()
        )
    found = field_errors(error.errors(include_url=False, include_input=False), skip, fields)
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in found)
    return problem(422, "invalid input", detail, errors=found, error=INVALID)


def install(app: FastAPI) -> None:
    @app.exception_handler(e.HubError)
    async def _hub_error(_request: Request, error: e.HubError) -> JSONResponse:
        for cls, status, title in STATUS:
            if isinstance(error, cls):
                if status >= 500:
                    log.error("api.error", error=type(error).__name__)
                extra: dict[str, Any] = {"error": type(error).__name__}
                if isinstance(error, e.InvalidCommandError):
                    extra["errors"] = own_errors(error)  # README: every invalid input names it
                return problem(status, title, str(error), **extra)
        raise AssertionError("HubError is in the table")

    @app.exception_handler(ValidationError)
    async def _validation(_request: Request, error: ValidationError) -> JSONResponse:
        return validation_problem(error)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own errors carry the input; keep the location, kind and message only.
        found = field_errors([_unplaced(item) for item in error.errors()])
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in found)
        if any(f["rule"] == "json_invalid" for f in found):
            malformed = MalformedBodyError.__name__
            return problem(400, "malformed request body", detail, errors=found, error=malformed)
        return problem(422, "invalid input", detail, errors=found, error=INVALID)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400 and error.detail == UNPARSED:
            # FastAPI's parse of a route's JSON body failed (nested past Python's recursion
            # limit, a number too long): a malformed body, named as the commands name it.
            detail = "the body is not JSON the hub can read (nested too deep, a number too long)"
            return problem(400, "malformed request body", detail, error=MalformedBodyError.__name__)
        name = ROUTING.get(error.status_code, e.HubError.__name__)
        said = _routing_detail(error.status_code, request.url.path)
        answer = problem(error.status_code, str(error.detail), said, error=name)
        # The router's own headers: a 405 says which methods the address takes (Allow).
        for header, value in (error.headers or {}).items():
            answer.headers.setdefault(header, value)
        return answer

    app.add_middleware(Unexpected)


def _routing_detail(status: int, path: str) -> str | None:
    """What the router's own refusal means, as every problem says it (README: status, title,
    detail); the path itself is not repeated."""
    if status == 404 and path.startswith("/commands/"):
        return "no command of that type: `hub schema commands` lists them"
    if status == 404:
        return "nothing is served at this address (the routes: /openapi.json)"
    if status == 405:
        return "this address is not served with this method (the routes: /openapi.json)"
    return None


class Unexpected:
    """Pure ASGI middleware: an error no handler answers is a 500 problem and one log line
    naming its type. It never reaches the server: Starlette's handler for ``Exception``
    raises it on, and uvicorn prints its message and traceback to the log (a message may
    quote a stored value, a person's name)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            log.error("api.unexpected", error=type(error).__name__)
            if not started:
                answer = await _page(scope) or problem(
                    500, "internal error", "the hub could not answer (see its log)"
                )
                await answer(scope, receive, send)


class InternalError(e.HubError):
    """What a page says of an error no handler answered (its type is in the log)."""


BARE_SAID = "ハブがこの画面を表示できませんでした。時間をおいてもう一度お試しください"
# Said when even the pages' own error page cannot be drawn.
BARE_PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
    "<title>エラーが発生しました｜いのちをつなぐネットワーク</title></head><body><main>"
    "<h1>エラーが発生しました</h1><p>ハブがこの画面を表示できませんでした。時間をおいて"
    'もう一度お試しください。続くときは運用担当へ連絡してください。</p><p><a href="/web">'
    "はじめのページへ</a></p></main></body></html>"
)


def is_page(path: str) -> bool:
    """Whether ``path`` is an address of the pages (``/web`` itself, the home page, or under
    it): their refusals are Japanese pages, never the API's problem+json."""
    return path == "/web" or path.startswith("/web/")


async def _page(scope: Scope) -> Any:
    """A page's unexpected error is the pages' Japanese error page (500), as their other
    refusals are, not the API's problem in English; None for the API's paths."""
    path = str(scope.get("path", ""))
    if not is_page(path):
        return None
    refusal = getattr(scope["app"].state, "page_refusal", None) if "app" in scope else None
    bare = HTMLResponse(BARE_PAGE, status_code=500, headers={"Cache-Control": "no-store"})
    if refusal is None:
        return bare
    said = InternalError(f"{BARE_SAID}（内部エラー）")
    try:
        page = await run_in_threadpool(refusal, StarletteRequest(scope), said)
    except Exception:  # the error page's own drawing failed: a page that needs nothing
        return bare
    page.status_code = 500
    return page
