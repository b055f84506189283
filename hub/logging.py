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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the ``sys.stderr`` of the moment (a CLI runner swaps it, and closes it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# The library loggers with no handler of their own, whose WARNING and above Python printed
# bare (a JSON log then had lines that were no JSON): librdkafka's, which hub/rdkafka.py
# names. kafka-python gives its loggers a NullHandler, and uvicorn configures its own.
LIBRARY_LOGGERS = ("librdkafka",)


def _route_libraries(renderer: Any, level: str) -> None:
    """The library loggers' records of WARNING and above (or ``level``, if higher) rendered
    as the hub's lines are; replaces the handler an earlier call set."""
    for name in LIBRARY_LOGGERS:
        _route(logging.getLogger(name), renderer, level)


def _route(library: logging.Logger, renderer: Any, level: str) -> None:
    for handler in [h for h in library.handlers if isinstance(h, _StderrHandler)]:
        library.removeHandler(handler)
    handler = _StderrHandler()
    handler.setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _drop_personal_keys,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    library.addHandler(handler)


def configure_logging(log_format: str = "console", level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    _route_libraries(renderer, level)
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
