"""The ``hub`` command: one Typer app; each area adds its sub-commands from its own module.

Errors of the hub (``HubError``) are caught here, at the edge, and printed as one line, with
an exit code that tells them apart (README "Exit codes"): 2 invalid input, 3 not found, 4 a
service away, 1 anything else the hub refused or found.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import metadata
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup, TyperOption

from hub.errors import (
    CaseNotFoundError,
    HubError,
    InvalidCommandError,
    NotFoundError,
    ReferralNotFoundError,
    ServiceUnavailableError,
    sqlite_cause,
    store_failure,
)
from hub.logging import configure_logging
from hub.settings import get_settings
from ops.cli._output import FEW_CHOICES, nearest

EXIT_INVALID_INPUT = 2  # the same code click gives a usage error
EXIT_NOT_FOUND = 3
EXIT_SERVICE_AWAY = 4
NOT_FOUND = (NotFoundError, CaseNotFoundError, ReferralNotFoundError)


def exit_code(error: HubError) -> int:
    if isinstance(error, ServiceUnavailableError):
        return EXIT_SERVICE_AWAY
    if isinstance(error, NOT_FOUND):
        return EXIT_NOT_FOUND
    if isinstance(error, InvalidCommandError):
        return EXIT_INVALID_INPUT
    return 1


@contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """A bad option or value (click's usage errors: unknown option, bad choice, missing
    option) as one line on stderr, exit 2, instead of the usage text and a boxed panel."""
    try:
        yield
    except NoArgsIsHelpError:
        raise  # no arguments at all: the help, as it is
    except UsageError as error:
        message = _suggested(" ".join(error.format_message().split()))
        typer.echo(f"Error: {message}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None


_NOT_A_CHOICE = re.compile(
    r"Invalid value for '(?P<option>[^']+)': (?:Value error, )?(?P<value>'[^']*') "
    r"is not one of (?P<choices>'[^']*'(?:, '[^']*')*)\.$"
)


def _suggested(message: str) -> str:
    """A mistyped choice (``--step relai``) answered as the hub's own filters answer one:
    the nearest choices, or all of them when nothing is near (README: filters refuse what
    names nothing, with a suggestion)."""
    found = _NOT_A_CHOICE.fullmatch(message)
    if found is None:
        return message
    # As quoted, not evaluated: a typed value may not read as a Python literal ('a\x').
    value = found["value"][1:-1]
    known = [choice[1:-1] for choice in found["choices"].split(", ")]
    near = nearest(value, known)
    if near:
        hint = f"; did you mean {' or '.join(near)}?"
    elif len(known) <= FEW_CHOICES:
        hint = f"; one of {', '.join(known)}"
    else:
        hint = f"; one of {', '.join(known[:FEW_CHOICES])}, ..."
    return f"{found['option']}: unknown value '{value}'{hint}"


class HubGroup(TyperGroup):
    """Turns the hub's own errors and click's usage errors into one clear line
    (``Error: ...``) and its exit code."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        with _one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _one_line_usage_errors():
            try:
                return super().invoke(ctx)
            except HubError as error:
                typer.echo(f"Error: {error}", err=True)
                raise typer.Exit(exit_code(error)) from None
            except (typer.Exit, typer.Abort, ClickException):
                raise
            except BrokenPipeError:  # `hub ... | head` closed the pipe: stop, say nothing
                with suppress(OSError, ValueError):  # Python's exit must not flush into it
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise typer.Exit(1) from None
            except Exception as error:
                own = _hub_cause(error)
                if own is not None:  # a library wrapped the hub's own error (the store's mapper)
                    typer.echo(f"Error: {own}", err=True)
                    raise typer.Exit(exit_code(own)) from None
                if sqlite_cause(error) is not None:  # the disk, not the hub: one line, as away
                    typer.echo(
                        f"Error: a SQLite file of the hub cannot be used ({store_failure(error)})",
                        err=True,
                    )
                    raise typer.Exit(EXIT_SERVICE_AWAY) from None
                typer.echo(unexpected(error), err=True)
                raise typer.Exit(1) from None


def _hub_cause(error: BaseException) -> HubError | None:
    """The hub's own error a library raised ``error`` from, if any: the event store's mapper
    wraps a person's data key that does not unwrap (another ``HUB_KEK``) in its own
    ``MapperDeserialisationError``, which would hide the hub's one clear line."""
    cause = error.__cause__
    for _ in range(8):
        if cause is None:
            return None
        if isinstance(cause, HubError):
            return cause
        cause = cause.__cause__
    return None


def unexpected(error: Exception) -> str:
    """An error that is not the hub's, for whoever runs the hub: its type and where it
    happened, never its message, which may quote a stored value (a person's name) into a
    terminal's scrollback or a service's journal."""
    where = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    return (
        f"Error: unexpected {type(error).__name__} (its message is left out: it may quote "
        f"a stored value)\nTraceback (most recent call last), without the message:\n{where}"
    )


_display_type_rich = TyperOption.display_type_rich


def _no_flag_metavar(self: TyperOption, ctx: Any) -> str | None:
    # This typer prints ``<bool>`` beside every flag, which takes no value.
    return None if self.is_flag else _display_type_rich(self, ctx)


TyperOption.display_type_rich = _no_flag_metavar  # type: ignore[method-assign]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hub {metadata.version('kitakyushu-hub')}")
        raise typer.Exit()


app = typer.Typer(
    cls=HubGroup,
    name="hub",
    help="Kitakyushu いのちをつなぐネットワーク referral and information-sharing hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Log as JSON lines (env HUB_LOG_FORMAT=json).")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    settings = get_settings()
    configure_logging(
        "json" if json_logs else settings.log_format, "DEBUG" if verbose else settings.log_level
    )
    from ops import tracing

    tracing.configure(settings, f"hub {ctx.invoked_subcommand or ''}".strip())
    ctx.call_on_close(tracing.continue_from_environment())


def _register() -> None:
    """Every module of ``ops.cli`` with a ``register(app)`` adds its own commands."""
    import ops.cli

    for module_info in sorted(pkgutil.iter_modules(ops.cli.__path__), key=lambda m: m.name):
        if module_info.name == "main" or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"ops.cli.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


def _help_unwrapped(group: typer.Typer) -> None:
    """Typer's rich help keeps a docstring's line breaks after its first paragraph, so a
    paragraph wrapped at 100 columns in the source broke mid-line on an 80-column terminal:
    each paragraph becomes one line, for the terminal to wrap."""
    for info in group.registered_commands:
        doc = info.help if info.help is not None else inspect.getdoc(info.callback)
        if doc:
            info.help = "\n\n".join(p.replace("\n", " ") for p in doc.split("\n\n"))
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _help_unwrapped(sub.typer_instance)


_register()
_help_unwrapped(app)


def run() -> None:
    """Entry point for ``python -m ops.cli`` and test subprocesses (same as ``hub``)."""
    app()
