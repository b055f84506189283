"""``hub submit``, ``hub command`` and ``hub schema``: the write side from the command line."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.avro_schemas import all_event_schemas, personal_paths, render
from hub.commands import commands_json_schema
from hub.errors import InvalidCommandError
from hub.intake import (
    UTF8_BOM,
    check_encoding,
    check_file_start,
    check_keys_once,
    parse_command_line,
    parse_command_text,
    submit_lines,
)
from hub.settings import get_settings
from ops import heap
from ops.cli._output import a_path, check_folder, input_problem, written
from ops.wiring import open_application

out = Console(soft_wrap=True)  # one result a line, even when piped: scripts read it


def submit(
    file: Annotated[str, typer.Argument(help="JSON-lines file of commands, or - for stdin.")],
    encoding: Annotated[
        str,
        typer.Option(help="The file's encoding: utf-8 (a BOM is allowed) or cp932 (Excel)."),
    ] = "utf-8",
) -> None:
    """Validate and apply each line of FILE on its own; name every rejected line."""
    encoding = check_encoding(encoding)
    if file == "-":
        lines = sys.stdin.buffer.read().splitlines()
    else:
        path = Path(file)
        if problem := input_problem(path):
            raise InvalidCommandError(problem)
        try:
            lines = path.read_bytes().splitlines()
        except OSError as error:  # no permission, a disk's read error
            raise InvalidCommandError(f"cannot read {file}: {error.strerror}") from None
    if lines:
        check_file_start(lines[0], encoding)
    app = open_application()
    try:
        with heap.settled():  # the app and the lines live as long as the run
            report = submit_lines(app, lines, encoding)
    finally:
        app.close()
    out.print(
        f"{report.lines} 行: 記録 {report.written} 件、適用済み {report.duplicates} 件、"
        f"拒否 {len(report.rejected)} 件 / {report.lines} lines: {report.written} written "
        f"({report.events} events), {report.duplicates} already applied, "
        f"{len(report.rejected)} rejected"
    )
    for rejection in report.rejected:
        # One line each, never wrapped: scripts read `line N: reason`.
        typer.echo(f"line {rejection.line}: {rejection.reason}", err=True)
    if report.rejected:
        raise typer.Exit(1)


class DetailsOnCommandLineError(InvalidCommandError):
    """A command holding a person's details given as an argument, outside development mode."""


@cache
def personal_roots() -> frozenset[str]:
    """The top-level names of every field an event schema marks personal (``person``,
    ``note``, ``reason``, ...): a command's field of that name becomes one."""
    return frozenset(
        path[0] for schema in all_event_schemas().values() for path in personal_paths(schema)
    )


def details_in(command: object) -> list[str]:
    """The fields of ``command`` that hold text bound for a personal field, in order."""
    fields = getattr(type(command), "model_fields", {})
    return [
        name
        for name in fields
        if name in personal_roots() and getattr(command, name, None) not in (None, "", [])
    ]


def command(
    text: Annotated[
        str,
        typer.Argument(
            help="One command as JSON, e.g. '{\"type\": ...}', or - to read it from stdin "
            "(a person's details on the command line are readable by every user of the host)."
        ),
    ],
) -> None:
    """Apply one command given as JSON and print the events it recorded."""
    # One command: a key given twice is refused (json.loads keeps the last, where the eye
    # that read the command, and the check for a person's details below, saw the first).
    if text == "-":  # one command, as one line of `hub submit` is read
        raw = sys.stdin.buffer.read().removeprefix(UTF8_BOM).strip()
        parsed = parse_command_line(raw)  # a key given twice refused, as a line is
    else:
        check_keys_once(text)
        parsed = parse_command_text(text)
        held = details_in(parsed)
        if held and get_settings().mode != "development":
            raise DetailsOnCommandLineError(
                f"{', '.join(held)}: a person's details are refused as an argument in "
                "production mode (every user of the host can read a process's arguments): "
                "hub command - < FILE"
            )
    app = open_application()
    try:
        outcome = app.execute(parsed)  # type: ignore[arg-type]
    finally:
        app.close()
    if outcome.duplicate:
        out.print(
            f"{outcome.command_type} {outcome.command_id}: 適用済み、記録なし / already applied, "
            "nothing written"
        )
    else:
        ids = ", ".join(str(i) for i in outcome.aggregate_ids)
        out.print(
            f"{outcome.command_type}: 記録しました / recorded {', '.join(outcome.events)} ({ids})"
        )


def schema_commands() -> None:
    """Print the JSON Schema of the command format (one object per line of `hub submit`)."""
    out.print_json(json.dumps(commands_json_schema(), ensure_ascii=False))


def schema_events(
    name: Annotated[str | None, typer.Argument(help="One event type; all when omitted.")] = None,
) -> None:
    """Print the Avro schema of the events (as committed in schemas/events/)."""
    schemas = all_event_schemas()
    if name is None:
        typer.echo(json.dumps(schemas, ensure_ascii=False, indent=2))
        return
    if name not in schemas:
        raise InvalidCommandError(f"unknown event {name!r}; known: {', '.join(sorted(schemas))}")
    typer.echo(render(schemas[name]), nl=False)


def schema_openapi() -> None:
    """Print the HTTP API's OpenAPI document (as committed in schemas/openapi.json)."""
    from ops.api.openapi import document, render

    typer.echo(render(document()), nl=False)


def schema_export(
    target: Annotated[
        Path,
        typer.Argument(
            help="Folder to write the bundle into.",
            parser=a_path,
        ),
    ],
) -> None:
    """Write the released schemas as a Confluent-compatible registry bundle (ids kept)."""
    from hub import schema_bundle, schema_ids

    check_folder(target, "DIR")
    count = written(target, lambda: schema_bundle.export(target))
    out.print(
        f"{count} subject versions ({schema_ids.COMPATIBILITY}) written to {target}: "
        "serve the folder as a read-only registry, or POST import.json's versions to a "
        "registry in IMPORT mode"
    )


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("command")(command)
    schema = typer.Typer(help="Print the command and event schemas.", no_args_is_help=True)
    schema.command("commands")(schema_commands)
    schema.command("events")(schema_events)
    schema.command("openapi")(schema_openapi)
    schema.command("export")(schema_export)
    app.add_typer(schema, name="schema")
