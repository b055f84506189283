"""A request body that is JSON but not an object is refused saying so (README: a body that is
not a JSON object is 400, MalformedBodyError)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from ops.api.commands import json_object
from ops.api.problems import MalformedBodyError


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
