"""A page's address that gives a parameter twice (``?fy=2025&fy=2026``) is refused, as the
API refuses it (``ops.api.app.current_actor``), by the same rule: ``hub.intake.keys_once``."""

from __future__ import annotations

from fastapi import Request

from hub.errors import InvalidCommandError
from hub.intake import RepeatedKeyError, keys_once


def one_value_each(request: Request) -> None:
    """The pages' dependency: InvalidCommandError, said in Japanese and naming the
    parameter, for a query that gives one twice. The page would show the last value, where
    a link, a bookmark or a log read later may be taken for the first."""
    try:
        keys_once(request.query_params.multi_items())
    except RepeatedKeyError as repeated:
        name = repeated.said("（項目名）")
        raise InvalidCommandError(
            f"アドレスの項目 {name} が2回以上指定されています（各項目は1回だけ指定してください）"
        ) from None
