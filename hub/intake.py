"""Bulk intake: a JSON-lines file of commands, each line validated and applied on its own.

A rejected line is named by its number with the reason; valid lines are written; the same
file submitted again writes nothing new (commands carry ids and are idempotent). Valid
lines are written in groups, one transaction per group (``HubApplication.execute_many``):
each command is still all-or-nothing, and a refused one leaves the others written.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import ValidationError

from hub.application import GROUP_SIZE, HubApplication, Outcome, Result
from hub.commands import COMMAND_ADAPTER
from hub.errors import (
    ConcurrentChangeError,
    DomainError,
    HubError,
    InvalidCommandError,
    ServiceUnavailableError,
    named,
)

MAX_LINE_BYTES = 64 * 1024
MAX_DEPTH = 16  # commands nest 4 levels at most; deeper input only exhausts the stack


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class IntakeReport:
    written: int = 0
    duplicates: int = 0
    events: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.written + self.duplicates + len(self.rejected)


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_file_start(first: bytes, encoding: str) -> None:
    """InvalidCommandError for a file whose first bytes say it is in an encoding other than
    ``encoding`` (a canonical codec name): every line of it would be refused, each for a
    reason that does not say why."""
    if first.startswith(UTF16_BOMS):
        raise InvalidCommandError("a UTF-16 file: save it as UTF-8 (or Shift_JIS, cp932)")
    if first.startswith(UTF8_BOM) and encoding != "utf-8":
        raise InvalidCommandError(
            f"a UTF-8 file (it starts with a BOM), not {encoding}: leave out --encoding"
        )


def parse_command_line(raw: bytes, encoding: str = "utf-8") -> object:
    """One line of bytes to a validated command, or InvalidCommandError with one reason."""
    if len(raw) > MAX_LINE_BYTES:
        raise InvalidCommandError(f"line is longer than {MAX_LINE_BYTES} bytes")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        if encoding == "utf-8":
            # Excel and many city systems save Shift_JIS: say how to read such a file.
            raise InvalidCommandError(
                f"not UTF-8 text (byte {error.start}); a Shift_JIS file: --encoding cp932"
            ) from None
        raise InvalidCommandError(f"not {encoding} text (byte {error.start})") from None
    # The line's own parse keeps the last of a key given twice, where whoever read the file
    # saw the first. A second parse only to check (~5 µs a line, under 1% of a command's
    # cost in `hub submit`: BENCHMARKS.md, group commit) keeps pydantic-core's one-step parse.
    check_keys_once(text)
    return parse_command_text(text)


# What a line of a command file is made of in every encoding it may be read in: the file is
# cut into lines at the byte b"\n" before a line is decoded.
_ASCII = "".join(map(chr, range(0x20, 0x7F))) + "\t\r\n"


def check_encoding(encoding: str) -> str:
    """The codec's canonical name ('cp932', 'utf-8'), or InvalidCommandError: also for a
    codec that is no text encoding (rot13, base64) or writes ASCII otherwise (UTF-16), whose
    file cannot be cut into lines at the byte of a newline."""
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise InvalidCommandError(f"unknown encoding {encoding!r} (use utf-8 or cp932)") from None
    try:
        readable = _ASCII.encode(codec.name) == _ASCII.encode("ascii")
    except (LookupError, UnicodeError):  # LookupError: a codec of bytes to bytes, no text
        readable = False
    if not readable:
        raise InvalidCommandError(
            f"encoding {encoding!r} cannot be read line by line (use utf-8 or cp932)"
        )
    return codec.name


class RepeatedKeyError(ValueError):
    """A JSON object gives one key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def said(self, nameless: str) -> str:
        """The key when it is a field's name; any other key is the sender's text, not said
        back (``nameless`` instead)."""
        return self.key if _FIELD_NAME.fullmatch(self.key) else nameless

    def refusal(self, nameless: str) -> str:
        """The refusal's line, naming the key as ``said`` does."""
        return f"{self.said(nameless)}: given more than once (give each key once)"


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def keys_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' ``object_pairs_hook``: an object whose every key is given once.
    json.loads keeps the last of a key given twice, where whoever read the text before the
    hub (a proxy, a reviewer of the command, a check for a person's details) saw the first."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKeyError(key)
            seen.add(key)
    return data


def check_keys_once(text: str) -> None:
    """InvalidCommandError for a command whose JSON gives a key twice (one command, as
    `hub command` takes it, or a line of `hub submit`; text that is no JSON is left to the
    parse that names why)."""
    try:
        json.loads(text, object_pairs_hook=keys_once)
    except RepeatedKeyError as repeated:
        raise InvalidCommandError(repeated.refusal("command")) from None
    except (ValueError, RecursionError):
        return


def parse_command_text(text: str) -> object:
    """One command as JSON text to a validated command, or InvalidCommandError."""
    # Parsed and validated in one step by pydantic-core (a third of the line's cost in two
    # steps). It accepts only what the steps below accept, with the same values: a command
    # refuses unknown fields, and its fields nest 4 levels and bound their numbers. Whatever
    # it refuses goes through the steps below, which name the reason as they always did.
    try:
        return COMMAND_ADAPTER.validate_json(text)
    except ValidationError:
        return parse_in_steps(text)


def parse_in_steps(text: str) -> object:
    """``json.loads``, the depth and shape checks, then validation: each refusal named."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidCommandError(f"not JSON: {error.msg} at column {error.colno}") from None
    except RecursionError:
        raise InvalidCommandError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # the one other refusal of json.loads: an integer too long to convert
        raise InvalidCommandError("not JSON: a number has too many digits") from None
    if _depth(data) > MAX_DEPTH:
        raise InvalidCommandError(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise InvalidCommandError("a command is a JSON object")
    if "type" not in data:
        raise InvalidCommandError("a command needs a 'type' (see `hub schema commands`)")
    return validate_command(data)


def _depth(data: object) -> int:
    """Nesting depth of parsed JSON, without recursion (the input may be hostile)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((value, level + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, level + 1) for value in item)
    return deepest


def validate_command(data: dict[str, object]) -> object:
    try:
        return COMMAND_ADAPTER.validate_python(data)
    except ValidationError as error:
        raise InvalidCommandError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False, include_input=False)[:5]:
        location = ".".join(str(part) for part in item["loc"][1:]) or "command"
        message = item["msg"].removeprefix("Value error, ")
        if location == "command" and ": " in message:  # a rule of the whole command that
            location, message = message.split(": ", 1)  # names its field first
        if item["type"] == "union_tag_invalid":  # pydantic quotes the tag and every known one
            location, message = "type", "unknown command type (see `hub schema commands`)"
        problems.append(_one_line(f"{location}: {message}"))
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")


def _one_line(text: str, limit: int = 200) -> str:
    """Keys and tags a user typed are echoed in reasons: keep each reason one short line."""
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def submit_lines(
    app: HubApplication, lines: Iterable[bytes], encoding: str = "utf-8"
) -> IntakeReport:
    """Apply each line on its own. A UTF-8 byte order mark (as Excel writes) starting the
    first line is not part of the command."""
    report = IntakeReport()
    encoding = check_encoding(encoding)
    batch: list[tuple[int, object]] = []
    for number, raw in enumerate(lines, start=1):
        if number == 1 and encoding == "utf-8" and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
        if not raw.strip():
            continue
        try:
            command = parse_command_line(raw.rstrip(b"\r\n"), encoding)
        except InvalidCommandError as error:  # the line itself: not JSON, a field and its rule
            report.rejected.append(Rejection(number, str(error)))
            continue
        batch.append((number, command))
        if len(batch) >= GROUP_SIZE:
            _apply(app, batch, report)
            batch = []
    _apply(app, batch, report)
    report.rejected.sort(key=lambda rejection: rejection.line)
    return report


def _apply(app: HubApplication, batch: list[tuple[int, object]], report: IntakeReport) -> None:
    """One group of valid lines in one transaction; each line's outcome into the report. The
    store going away stops the run at the first line not written, saying how far it got (a
    refused line has its group written before it runs alone), and the file can be submitted
    again as it is."""
    if not batch:
        return
    decided: list[Result | None] = [None] * len(batch)
    try:
        app.execute_many([(command, None) for _, command in batch], decided=decided)  # type: ignore[misc]
    except ServiceUnavailableError as error:
        # A refused line writes the group before it: those lines are decided, the rest not.
        done = next((i for i, result in enumerate(decided) if result is None), len(batch))
        _report(batch[:done], cast(list[Result], decided[:done]), report)
        line = batch[done][0] if done < len(batch) else batch[-1][0] + 1
        raise _stopped(error, line, report) from error
    _report(batch, cast(list[Result], decided), report)


def _report(batch: list[tuple[int, object]], results: list[Result], report: IntakeReport) -> None:
    for (number, _), result in zip(batch, results, strict=True):
        if isinstance(result, Outcome):
            if result.duplicate:
                report.duplicates += 1
            else:
                report.written += 1
                report.events += len(result.events)
        elif isinstance(result, InvalidCommandError):
            report.rejected.append(Rejection(number, str(result)))
        elif isinstance(result, (DomainError, ConcurrentChangeError)):  # the rule, by name
            report.rejected.append(Rejection(number, named(result)))
        elif isinstance(result, ServiceUnavailableError):
            raise _stopped(result, number, report) from result
        else:
            raise result  # no one to act as: stop, say so at the edge


def _stopped(error: ServiceUnavailableError, line: int, report: IntakeReport) -> HubError:
    """``error`` (of its own kind: the same exit code) with how far the run got."""
    return type(error)(
        f"{error}; stopped at line {line}: {report.written} lines before it written, "
        f"{report.duplicates} already applied, {len(report.rejected)} rejected, nothing from "
        "it on; submit the file again once the store is back: lines written count as "
        "already applied"
    )
