"""``hub demo``: a year of the network (R7), end to end, with a progress bar per phase."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from hub.errors import InvalidCommandError
from hub.logging import configure_logging
from hub.settings import StoreKind, get_settings
from ops.cli._output import a_path

PHASE_NAMES = {
    "services": "サービスの起動（Kafka, PostgreSQL）",
    "provision": "新しい記録・トピック・利用者・ACL",
    "generate": "一年分の生成",
    "year": "コマンド→記録→中継→機関→応答",
    "projections": "集計",
    "audit": "監査の検証",
}


class DemoHomeError(InvalidCommandError):
    """``hub demo --home`` names the folder of the hub's own store, which the demo wipes."""


def check_home(home: Path) -> None:
    """The demo deletes ``hub*.sqlite*`` and ``agency/`` in its home: refuse the folder of
    the configured store or the var folder (``--home var``, ``--home ""``, which is the
    current folder), where those are the log of record and the agencies' inboxes."""
    settings = get_settings()
    live = {settings.var_dir.resolve(), settings.sqlite_file.resolve().parent}
    if home.resolve() in live:
        raise DemoHomeError(
            f"--home {str(home)!r} holds the hub's own store ({settings.sqlite_file}), which "
            "the demo would wipe: give it a folder of its own (default var/demo)"
        )


def demo(
    scale: Annotated[int, typer.Option(min=1, help="Play N copies of the city (load).")] = 1,
    store: Annotated[StoreKind, typer.Option(help="Log of record: sqlite or postgres.")] = "sqlite",
    until: Annotated[
        str | None, typer.Option(help="Stop the year at the end of this JST day (2025-12-31).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed of the generated year.")] = None,
    home: Annotated[
        Path,
        typer.Option(
            help="Where the demo keeps its store and files (wiped at start).", parser=a_path
        ),
    ] = Path("var/demo"),
    services: Annotated[
        bool, typer.Option(help="Start Kafka (and PostgreSQL) if they are not running.")
    ] = True,
) -> None:
    """Play fiscal year R7 of the network through the whole pipeline and print table ④."""
    from ops.demo.calibration import FISCAL_YEAR
    from ops.demo.generator import DEFAULT_SEED
    from ops.demo.pipeline import DemoOptions, run_demo
    from ops.demo.report import print_outcome

    try:
        cut = date.fromisoformat(until) if until else None
    except ValueError:
        raise InvalidCommandError(
            f"--until must be a date like 2025-12-31, not {until!r}"
        ) from None
    first_day = date(FISCAL_YEAR, 4, 1)
    if cut is not None and cut < first_day:  # the year has not begun: nothing to play
        raise InvalidCommandError(
            f"--until must be {first_day.isoformat()} or later: the demo plays 令和7年度 from then"
        )
    check_home(home)
    options = DemoOptions(
        scale=scale,
        store=store,
        until=cut,
        seed=DEFAULT_SEED if seed is None else seed,
        home=home,
        start_services=services,
    )
    # The phases log every batch; the progress bars say it better here.
    configure_logging(get_settings().log_format, "ERROR")
    console = Console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def step(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(PHASE_NAMES.get(phase, phase), total=total)
            progress.update(tasks[phase], completed=done, total=total)

        outcome = run_demo(options, step)
    # The terminal's width, COLUMNS, or 80 columns when piped (README: output conventions).
    print_outcome(console, outcome)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
