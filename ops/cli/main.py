"""The ``hub`` command: one Typer app; each area adds its sub-commands from its own module.

Errors of the hub (``HubError``) are caught here, at the edge, and printed as one line.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from hub.errors import HubError
from hub.logging import configure_logging
from hub.settings import get_settings


class HubGroup(TyperGroup):
    """Turns the hub's own errors into one clear line (``Error: ...``) and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except HubError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=HubGroup,
    name="hub",
    help="Kitakyushu いのちをつなぐネットワーク referral and information-sharing hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Log as JSON lines (env HUB_LOG_FORMAT=json).")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    settings = get_settings()
    configure_logging(
        "json" if json_logs else settings.log_format, "DEBUG" if verbose else settings.log_level
    )


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


_register()


def run() -> None:
    """Entry point for ``python -m ops.cli`` and test subprocesses (same as ``hub``)."""
    app()
