"""Read side from the command line: case state, inboxes, the indicators report, rebuilds.

Every read first brings its view up to date with the log (cheap when a follower runs), so
the answer reflects every command recorded before it.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, Literal
from uuid import UUID

import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table

from hub.application import HubApplication
from hub.bootstrap import open_application
from hub.errors import HubError, InvalidCommandError, NotFoundError
from hub.fiscal import now, parse_fiscal_year, reiwa_label
from hub.settings import get_settings
from projections import report
from projections.analytics import fold_records, read_analytics
from projections.case_history import case_history
from projections.case_state import CaseStateView
from projections.inbox import InboxView
from projections.indicator_view import IndicatorView
from projections.indicators import Cut
from projections.runner import (
    PROJECTIONS,
    Runner,
    catch_up,
    catch_up_all,
    open_projection,
    projection_class,
    rebuild_all,
    start_runner,
)

out = Console()
err = Console(stderr=True)


def _env() -> dict[str, str]:
    return get_settings().eventsourcing_env()


def _current(name: str, app: HubApplication) -> Any:
    projection = open_projection(name, _env())
    catch_up(projection, app)
    return projection.view


def _print_json(data: object) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


# hub case ----------------------------------------------------------------------------------


def case_show(
    case_id: Annotated[str, typer.Argument(help="The case id (a UUID).")],
    person: Annotated[
        bool,
        typer.Option(
            "--person",
            help="Also show the person's details; the read is recorded (アクセス記録) "
            "with --purpose and --basis, as the configured operator (HUB_OPERATOR).",
        ),
    ] = False,
    purpose: Annotated[
        str | None, typer.Option(help="Why the details are read, e.g. case_management.")
    ] = None,
    basis: Annotated[
        str, typer.Option(help="On which basis, e.g. official_duty (所掌事務).")
    ] = "official_duty",
) -> None:
    """Print one case: status, referrals and answers, consents, meetings, plan, escalations,
    and its history (each event with who acted)."""
    if person and purpose is None:
        raise InvalidCommandError("--person needs --purpose: every read of details is recorded")
    try:
        case_uuid = UUID(case_id)
    except ValueError:
        raise InvalidCommandError(f"not a case id (a UUID): {case_id!r}") from None
    app = open_application()
    try:
        view: CaseStateView = _current("case_state", app)
        case = view.case(case_id, now())
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        case["history"] = case_history(app, case_uuid)
        if person:
            assert purpose is not None
            details = app.read_person(case_uuid, None, basis, purpose)
            case["person"] = details.model_dump(mode="json") if details else None
    finally:
        app.close()
    _print_json(case)


def case_list(
    ward: Annotated[str | None, typer.Option(help="Only cases of this ward code.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, in_support, suspended or closed.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List cases (ids and codes only), optionally by ward and status."""
    app = open_application()
    try:
        view: CaseStateView = _current("case_state", app)
        rows = view.cases(ward=ward, status=status)
    finally:
        app.close()
    if as_json:
        _print_json(rows)
        return
    table = Table("ward", "status", "lead agency", "open referrals", "plan", "last visit")
    table.columns.insert(0, Column("case", no_wrap=True))
    for r in rows:
        table.add_row(
            r["case_id"],
            r["ward"],
            r["status"],
            r["lead_agency"] or "",
            str(r["open_referrals"]),
            f"rev {r['plan_revision']}" if r["plan_revision"] else "",
            (r["last_visit_at"] or "")[:10],
        )
    out.print(table)
    out.print(f"{len(rows)} cases")


# hub inbox ---------------------------------------------------------------------------------


def inbox(
    agency: Annotated[str, typer.Option(help="The agency id, e.g. moji.houkatsu.")],
    unanswered: Annotated[bool, typer.Option(help="Only referrals with no answer.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What the hub sent an agency and what it answered: unanswered referrals stand out."""
    app = open_application()
    try:
        app.network.agency(agency)
        view: InboxView = _current("inbox", app)
        rows = view.inbox(agency, unanswered_only=unanswered)
    finally:
        app.close()
    if as_json:
        _print_json(rows)
        return
    table = Table(
        Column("referral", no_wrap=True),
        Column("case", no_wrap=True),
        "purpose",
        "urgency",
        "sent",
        "status",
        "first answer",
    )
    for r in rows:
        style = "bold red" if r["answers"] == 0 else None
        table.add_row(
            r["referral_id"],
            r["case_id"],
            r["purpose"],
            r["urgency"],
            r["sent_at"][:16],
            r["status"],
            (r["first_answer_at"] or "-")[:16],
            style=style,
        )
    out.print(table)
    waiting = sum(1 for r in rows if r["answers"] == 0)
    out.print(f"{len(rows)} referrals, {waiting} unanswered")


# hub report indicators ---------------------------------------------------------------------


Format = Literal["table", "csv", "json"]


def _cut(fy: str, until: str | None) -> Cut:
    """The days a report covers, from the --fy and --until options."""
    try:
        year = parse_fiscal_year(fy)
    except ValueError as error:
        raise HubError(str(error)) from None
    if until is None:
        return Cut.of(year)
    try:
        return Cut.of(year, date.fromisoformat(until))
    except ValueError:
        raise HubError(f"--until must be a date like 2025-12-31, not {until!r}") from None


def render(rows: list[report.ReportRow], fmt: Format, output: Path | None, title: str) -> None:
    if fmt == "json":
        data = report.to_json(rows).encode()
    elif fmt == "csv":
        data = report.to_csv(rows)
    else:
        table = Table(title=title)
        for column in ("month", "ward"):
            if any(getattr(r, column) is not None for r in rows):
                table.add_column(column)
        table.add_column("function")
        table.add_column("indicator")
        table.add_column("value", justify="right")
        for r in rows:
            cells = [c for c in (r.month, r.ward) if c is not None]
            table.add_row(*cells, r.function, r.indicator, "-" if r.value is None else str(r.value))
        if output is None:
            out.print(table)
            return
        console = Console(file=output.open("w", encoding="utf-8"), width=160)
        console.print(table)
        return
    if output is None:
        sys.stdout.buffer.write(data + (b"\n" if fmt == "json" else b""))
        sys.stdout.flush()
    else:
        output.write_bytes(data)


FiscalYearOpt = Annotated[str, typer.Option(help="Fiscal year: R7, 令和7年度 or 2025.")]
ByOpt = Annotated[
    Literal["ward", "month"] | None, typer.Option(help="Break down by ward or month.")
]
UntilOpt = Annotated[
    str | None, typer.Option(help="Cut at the end of this JST day, e.g. 2025-12-31.")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="table, csv or json.")]
OutputOpt = Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")]


def report_indicators(
    fy: FiscalYearOpt,
    by: ByOpt = None,
    until: UntilOpt = None,
    fmt: FormatOpt = "table",
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the monthly trend to this PNG.")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Table ④ of the plan for a fiscal year, with the plan's labels, plus network measures."""
    cut = _cut(fy, until)
    year = cut.fy
    app = open_application()
    try:
        view: IndicatorView = _current("indicators", app)
        rows = report.from_view(view, cut, by)
        monthly = report.from_view(view, cut, "month") if chart else []
    finally:
        app.close()
    title = f"{reiwa_label(year, long=True)} (to {cut.last_day.isoformat()})"
    render(rows, fmt, output, title)
    if chart:
        report.chart(monthly, chart, f"FY{year} ({reiwa_label(year)}) monthly, to {cut.last_day}")
        err.print(f"chart written to {chart}")


# hub rebuild / hub follow ------------------------------------------------------------------


def _names(projection: str | None) -> list[str]:
    return [projection_class(projection).name] if projection else list(PROJECTIONS)


def rebuild_command(
    projection: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(PROJECTIONS)} (default all).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 1000,
) -> None:
    """Drop views and replay the log of record into them (stop `hub follow` first)."""
    app = open_application()
    try:
        total = app.recorder.max_notification_id() or 0
        names = _names(projection)
        projections = [open_projection(name, _env()) for name in names]
        with Progress(
            TextColumn(f"[bold]{', '.join(names)}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as bar:
            task = bar.add_task("rebuild", total=total)

            def advance(_n: int, position: int) -> None:
                bar.update(task, completed=position)

            counts = rebuild_all(projections, app, batch_size=batch_size, progress=advance)
        for name, count in counts.items():
            err.print(f"{name}: {count} events replayed")
    finally:
        app.close()


def follow(
    projection: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(PROJECTIONS)} (default all).")
    ] = None,
    once: Annotated[bool, typer.Option(help="Catch up and exit.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 500,
) -> None:
    """Keep views up to date with the log until interrupted (SIGINT/SIGTERM)."""
    env = _env()
    names = _names(projection)
    if once:
        app = open_application()
        try:
            projections = [open_projection(name, env) for name in names]
            counts = catch_up_all(projections, app, batch_size=batch_size)
            for name, count in counts.items():
                err.print(f"{name}: {count} events applied")
        finally:
            app.close()
        return
    stopping = threading.Event()
    current: list[Runner] = []

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        for runner in current:
            runner.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = 1.0
    while not stopping.is_set():
        try:
            _follow_until_stopped(names, env, batch_size, current, stopping)
        except (PersistenceError, psycopg.Error) as error:
            # The store went away: the views keep their positions, so start again once it
            # is back (a supervisor of our own, since the library's runner stops for good).
            if stopping.is_set():
                break
            err.print(f"store unavailable ({type(error).__name__}); retrying in {delay:.0f}s")
            stopping.wait(delay)
            delay = min(delay * 2, 30.0)
        else:
            delay = 1.0


def _follow_until_stopped(
    names: list[str],
    env: dict[str, str],
    batch_size: int,
    current: list[Runner],
    stopping: threading.Event,
) -> None:
    with ExitStack() as stack:
        current[:] = [start_runner(projection_class(n), env, batch_size=batch_size) for n in names]
        for runner in current:
            stack.enter_context(runner)  # type: ignore[arg-type]
        err.print(f"following the log: {', '.join(names)}")
        # Any runner stopping (signal or error) stops them all; errors surface on exit.
        while not stopping.is_set() and not any(r.is_interrupted.is_set() for r in current):
            current[0].run_forever(timeout=0.5)
        for runner in current:
            runner.stop()


# hub analytics rebuild --------------------------------------------------------------------


def analytics_rebuild(
    fy: FiscalYearOpt,
    by: ByOpt = None,
    until: UntilOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    principal: Annotated[str, typer.Option(help="The Kafka principal to read as.")] = "analyst",
) -> None:
    """Rebuild table ④ from analytics.events alone (de-identified), as an analyst would."""
    cut = _cut(fy, until)
    year = cut.fy
    fold = fold_records(read_analytics(get_settings(), principal=principal))
    rows = report.from_memory(fold, cut, by)
    title = f"{reiwa_label(year, long=True)} (to {cut.last_day.isoformat()}, analytics.events)"
    render(rows, fmt, output, title)


def register(app: typer.Typer) -> None:
    case = typer.Typer(help="Case state (ids and codes only).", no_args_is_help=True)
    case.command("show")(case_show)
    case.command("list")(case_list)
    app.add_typer(case, name="case")
    app.command("inbox")(inbox)
    reports = typer.Typer(help="Reports from the projections.", no_args_is_help=True)
    reports.command("indicators")(report_indicators)
    app.add_typer(reports, name="report")
    app.command("rebuild")(rebuild_command)
    app.command("follow")(follow)
    analytics = typer.Typer(help="The analysts' side: analytics.events.", no_args_is_help=True)
    analytics.command("rebuild")(analytics_rebuild)
    app.add_typer(analytics, name="analytics")
