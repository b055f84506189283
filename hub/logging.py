"""structlog set-up: readable in a terminal, JSON when asked.

Log lines carry case pseudonyms and ids, never names, addresses or free text. As a second
line of defence, keys that name personal fields are dropped before rendering.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys a log call must never carry; dropped if a caller passes them by mistake.
FORBIDDEN_KEYS = frozenset(
    {
        "name",
        "full_name",
        "kana",
        "address",
        "phone",
        "contact",
        "birth_date",
        "note",
        "free_text",
        "health",
        "disability",
        "criminal_record",
        "person",
    }
)


def _drop_personal_keys(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in FORBIDDEN_KEYS.intersection(event_dict):
        event_dict[key] = "[withheld]"
    return event_dict


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_personal_keys,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # sys.stderr looked up at each use: a CLI runner (tests) swaps and closes it.
        logger_factory=lambda *_: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
