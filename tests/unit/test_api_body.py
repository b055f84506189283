"""A request body that is JSON but not an object, or that the JSON parser gives up on, is
refused saying so (README: a body that is not a JSON object is 400, MalformedBodyError)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub.settings import Settings
from ops.api.app import create_app
from ops.api.commands import json_object
from ops.api.problems import MalformedBodyError
from ops.usecases import HubService


class _Body:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    async def body(self) -> bytes:
        return self.raw


@pytest.mark.parametrize("raw", [b"[1]", b'"text"', b"3", b"null"])
def test_a_json_body_that_is_no_object_is_refused_as_not_an_object(raw: bytes) -> None:
    with pytest.raises(MalformedBodyError) as refused:
        asyncio.run(json_object(cast(Any, _Body(raw))))
    assert str(refused.value) == "the body is not a JSON object"


def test_a_json_object_is_read() -> None:
    assert asyncio.run(json_object(cast(Any, _Body(b'{"a": 1}')))) == {"a": 1}


@pytest.mark.parametrize("raw", ["[" * 5000 + "]" * 5000, '{"answer": ' + "1" * 5000 + "}"])
def test_an_answer_body_the_json_parser_gives_up_on_is_a_malformed_body(
    raw: str, tmp_path: Path
) -> None:
    """The answer route's body is parsed by FastAPI; what its parser cannot read (nesting
    past the recursion limit, a number too long) is named as the commands name it."""
    client = TestClient(
        create_app(cast(HubService, None), Settings(mode="development", var_dir=tmp_path))
    )
    answered = client.post(
        f"/agencies/tobata.houkatsu/inbox/{uuid4()}/answer",
        content=raw,
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid4())},
    )
    assert answered.status_code == 400, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert answered.json()["error"] == MalformedBodyError.__name__
