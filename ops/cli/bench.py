"""``hub bench``: the hub against the raw parts it is built on, side by side in one run."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hub.settings import StoreKind, get_settings
from ops.cli._output import a_path


class StoreChoice(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"
    both = "both"


def bench(
    store: Annotated[
        StoreChoice, typer.Option("--store", help="Which store(s) to benchmark.")
    ] = StoreChoice.both,
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes, one repetition (a smoke run, ~1 min).")
    ] = False,
    events: Annotated[
        int | None,
        typer.Option("--events", min=8, help="Events per run for the write path and relay."),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help=(
                "Comma-separated figures: write,relay,restart,rebuild,growth,e2e,api,sealing,"
                "group,erase (default all); scale (the 10M-event scale run) only when named."
            ),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the Markdown here.",
            parser=a_path,
        ),
    ] = None,
) -> None:
    """Write path, relay, rebuild, growth, end to end, HTTP API, each against its baseline."""
    from ops.bench import report, suite

    stores: list[StoreKind] = (
        ["sqlite", "postgres"] if store is StoreChoice.both else [store.value]  # type: ignore[list-item]
    )
    plan = suite.Plan.quick(events) if quick else suite.Plan.full(events)
    chosen = frozenset(only.split(",")) if only else frozenset(suite.FIGURES)
    known = (*suite.FIGURES, *suite.EXTRA_FIGURES)
    unknown = chosen - set(known)
    if unknown:
        raise typer.BadParameter(f"unknown figure(s) {sorted(unknown)}; known: {known}")
    settings = get_settings()
    for kind in stores:
        settings.model_copy(update={"store": kind}).require_secrets()
    rows, reference = suite.run(
        settings,
        stores,
        plan,
        progress=lambda m: typer.echo(f"… {m}", err=True),
        only=chosen,
    )
    text = report.markdown(rows, "hub " + " ".join(sys.argv[1:]), reference)
    typer.echo(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
