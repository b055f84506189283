"""Read side from the command line: case state, inboxes, the indicators report, rebuilds.

Every read first brings its view up to date with the log (cheap when a follower runs), so
the answer reflects every command recorded before it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args
from uuid import UUID

import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from consumers.stopping import set_on_signals
from hub import vocabulary as v
from hub.application import HubApplication
from hub.errors import InvalidCommandError, NotFoundError, store_failure
from hub.fiscal import FIRST_FY, LAST_FY, jst_text, now, parse_fiscal_year
from hub.labels import label, names, referral_status_text
from hub.prefixes import SHORT, short_ids
from hub.settings import Settings, get_settings
from ops import heap, wiring
from ops.case_notes import read_with_notes
from ops.cli._cases import case_view, resolve_case
from ops.cli._metrics import MetricsPortOpt
from ops.cli._names import log_names
from ops.cli._output import (
    Format,
    FormatOpt,
    JsonOpt,
    WideOpt,
    a_path,
    add_id_column,
    check_choice,
    chosen,
    emit,
    emitted,
    labelled,
)
from ops.cli._output import console as output_console
from ops.cli._report import ReportFormat, ReportFormatOpt, print_report
from projections import report
from projections.analytics import fold_records, read_analytics
from projections.audit.subject import FIELD_LABELS
from projections.case_history import case_history
from projections.inbox import awaiting
from projections.indicator_view import IndicatorView
from projections.indicators import Cut
from projections.runner import (
    PROJECTIONS,
    Runner,
    catch_up,
    catch_up_all,
    projection_class,
    rebuild_all,
)

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one line per message, even when piped
T = TypeVar("T")


def _kept(projection: Any) -> str:
    """How many events the view holds in quarantine (``hub quarantine list`` names them)."""
    kept = len(projection.view.quarantined())
    return f", {kept} quarantined (see `hub quarantine list`)" if kept else ""


def _current(name: str, app: HubApplication) -> Any:
    projection = wiring.open_projection(get_settings(), name)
    catch_up(projection, app)
    return projection.view


def _read(name: str, query: Callable[[Any], T]) -> T:
    """What ``query`` finds in view ``name``, caught up with the log first."""
    app = wiring.open_application()
    try:
        return query(_current(name, app))
    finally:
        app.close()


# hub case ----------------------------------------------------------------------------------

CASE_STATUSES = ("open", "in_support", "suspended", "closed")


def case_show(
    case_id: Annotated[str, typer.Argument(help="The case id, or a unique prefix of it.")],
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    person: Annotated[
        bool,
        typer.Option(
            "--person",
            help="Also show the person's details and the case's narratives (事案の記録); "
            "the read is recorded (アクセス記録) with --purpose and --basis, as the "
            "configured operator (HUB_OPERATOR).",
        ),
    ] = False,
    purpose: Annotated[
        str | None,
        typer.Option(help=f"Why the details are read: {', '.join(get_args(v.AccessPurpose))}."),
    ] = None,
    basis: Annotated[
        str,
        typer.Option(
            help=f"On which basis: {', '.join(get_args(v.AccessBasis))} (所掌事務 by default)."
        ),
    ] = "official_duty",
) -> None:
    """Print one case: its status, referrals, consents, meetings, plan and history.

    Referrals with their answers and escalations; the history names who acted in each
    event."""
    if person and purpose is None:
        raise InvalidCommandError("--person needs --purpose: every read of details is recorded")
    check_choice("--purpose", purpose, get_args(v.AccessPurpose))
    check_choice("--basis", basis, get_args(v.AccessBasis))
    app = wiring.open_application()
    try:
        view = case_view(app)
        full_id = resolve_case(case_id, view)
        case = view.case(full_id, now())
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        case_uuid = UUID(full_id)
        case["history"] = case_history(app, case_uuid)
        if person:
            assert purpose is not None
            details, notes, recorded = read_with_notes(app, case_uuid, None, basis, purpose)
            case["person"] = details.model_dump(mode="json") if details else None
            case["person_read_recorded"] = recorded
            case["notes"] = notes
    finally:
        app.close()
    network = log_names()
    record = labelled(case, network, status="case_status")
    record["referrals"] = [
        labelled(r, network, status="referral_status") for r in case["referrals"]
    ]
    record["consents"] = [labelled(c, network) for c in case["consents"]]
    record["meetings"] = [labelled(m, network) for m in case["meetings"]]
    record["history"] = [labelled(h, network) for h in case["history"]]
    if "notes" in case:
        record["notes"] = [labelled(n, network) for n in case["notes"]]
    fmt = chosen(fmt, as_json)
    if fmt is Format.json:
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2, default=str))
    elif fmt is not Format.table:
        emit(fmt, [record], list(record))
    else:
        _print_case(record)


def _print_case(case: dict[str, Any]) -> None:
    console = output_console()
    facts = Table(
        show_header=False, box=None, title=f"事例 {case['case_id']}", title_justify="left"
    )
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("状態", case["status_label"])
    facts.add_row("区", case["ward_label"])
    facts.add_row("受付", f"{jst_text(case['opened_at'])}（{case['origin_label']}）")
    facts.add_row("主担当機関", case["lead_agency_label"] or "-")
    facts.add_row("課題", "、".join(case["needs_label"]) or "-")
    if case["plan_revision"]:
        facts.add_row("支援計画", f"第{case['plan_revision']}版")
    if case["last_visit_at"]:
        facts.add_row(
            "最終訪問", f"{jst_text(case['last_visit_at'])}（{case['last_visit_outcome_label']}）"
        )
    facts.add_row("同意", "有効な同意あり" if case["consent_in_force"] else "有効な同意なし")
    facts.add_row("更新", jst_text(case["updated_at"]))
    console.print(facts)
    if case["referrals"]:
        short = short_ids(r["referral_id"] for r in case["referrals"])
        table = Table(title="つなぎ（紹介）", title_justify="left")
        add_id_column(table, "紹介", wide=False)
        table.add_column("機関", overflow="fold", ratio=3)
        table.add_column("目的", overflow="fold", ratio=1)
        table.add_column("状態", overflow="fold", ratio=1)
        table.add_column("送付", overflow="fold", ratio=1)
        for r in case["referrals"]:
            status = referral_status_text(r) + ("（督促）" if r["escalated_at"] else "")
            table.add_row(
                short[r["referral_id"]],
                r["agency_id_label"],
                r["purpose_label"] or "-",
                status,
                jst_text(r["made_at"]),
            )
        console.print(table)
    for c in case["consents"]:
        span = (
            f"{jst_text(c['valid_from'])}〜{jst_text(c['valid_until'])}" if c["valid_from"] else ""
        )
        console.print(f"同意 {c['consent_id'][:SHORT]}: {c['state_label']} {span}".rstrip())
    for m in case["meetings"]:
        console.print(f"会議 {m['meeting_id'][:SHORT]}: {m['kind_label']} {jst_text(m['held_at'])}")
    if case.get("person"):
        logged = "閲覧を記録" if case.get("person_read_recorded") else "消去済み：閲覧は記録なし"
        details = Table(show_header=False, box=None, title=f"本人情報（{logged}）")
        details.add_column(style="bold", no_wrap=True)
        details.add_column(overflow="fold")
        for key, value in case["person"].items():
            if value is not None:
                details.add_row(FIELD_LABELS.get(key, key), str(value))  # 氏名, not name
        console.print(details)
    if case.get("notes"):
        _print_notes(console, case["notes"])
    if case.get("history"):
        history = Table(title="経過 / history", title_justify="left")
        history.add_column("日時", overflow="fold")
        history.add_column("出来事", overflow="fold")
        history.add_column("記録者", overflow="fold")
        for h in case["history"]:
            role = h.get("role_label") or h.get("role")  # 区役所 窓口職員, not ward_officer
            who = " / ".join(part for part in (h.get("by"), role) if part) or "-"
            history.add_row(jst_text(h["occurred_at"]), label("event_type", h["event"]), who)
        console.print(history)


def _print_notes(console: Console, notes: list[dict[str, Any]]) -> None:
    """The case's narratives, oldest first: which and when on one line; beneath it,
    indented, the agency and the coded value it goes with, then the text, so that a long
    one folds within 80 columns."""
    console.print("事案の記録（古い順・閲覧を記録）", style="italic")
    for n in notes:
        heading = Text(f"{n['label']}  ", style="bold")
        heading.append(jst_text(n["written_at"]))
        console.print(heading)
        about = n["agency_id_label"] if n.get("agency_id") else ""
        coded = f"〔{n['coded']}〕" if n.get("coded") else ""
        if about or coded:
            console.print(Padding(Text(f"{about}{coded}"), (0, 0, 0, 2)))
        console.print(Padding(Text(n["text"]), (0, 0, 0, 2)))


CASE_COLUMNS = (
    "case_id", "ward", "ward_label", "status", "status_label", "lead_agency",
    "lead_agency_label", "open_referrals", "plan_revision", "last_visit_at", "opened_at",
)  # fmt: skip


def case_list(
    ward: Annotated[str | None, typer.Option(help="Only cases of this ward code.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, in_support, suspended or closed.")
    ] = None,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List cases (ids and codes only), optionally by ward and status."""
    network = log_names()
    check_choice("--ward", ward, list(network.wards))
    check_choice("--status", status, CASE_STATUSES)
    rows = _read("case_state", lambda view: view.cases(ward=ward, status=status))
    records = [labelled(r, network, status="case_status") for r in rows]
    if emitted(fmt, as_json, records, CASE_COLUMNS):
        return
    short = short_ids(r["case_id"] for r in rows)
    table = Table(title=f"事例一覧 {len(rows)}件", title_justify="left")
    add_id_column(table, "事例", wide)
    table.add_column("区", no_wrap=True)
    table.add_column("状態", no_wrap=True)
    table.add_column("主担当機関", overflow="fold", no_wrap=wide)
    table.add_column("諾否待ち", justify="right")
    table.add_column("計画", justify="right")
    table.add_column("最終訪問", no_wrap=True)
    for r in records:
        table.add_row(
            r["case_id"] if wide else short[r["case_id"]],
            r["ward_label"],
            r["status_label"],
            r["lead_agency_label"] or "",  # the agency's name, wide or not
            str(r["open_referrals"]),
            f"第{r['plan_revision']}版" if r["plan_revision"] else "",
            jst_text(r["last_visit_at"])[:10],
        )
    output_console(wide).print(table)
    output_console().print(f"計 {len(rows)}件")


# hub inbox ---------------------------------------------------------------------------------

INBOX_COLUMNS = (
    "referral_id", "case_id", "agency_id", "agency_id_label", "ward", "ward_label", "purpose",
    "purpose_label", "urgency", "urgency_label", "sent_at", "status", "status_label", "answers",
    "first_answer_at", "last_answer_at", "escalated_at",
)  # fmt: skip


def inbox(
    agency: Annotated[str, typer.Option(help="The agency id, e.g. moji.houkatsu.")],
    unanswered: Annotated[
        bool, typer.Option(help="Only referrals waiting for an answer (none yet, not cancelled).")
    ] = False,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """What the hub sent an agency and what it answered: unanswered referrals stand out."""
    network = log_names()
    check_choice("--agency", agency, list(network.agencies))
    rows = _read("inbox", lambda view: view.inbox(agency, unanswered_only=unanswered))
    records = [labelled(r, network, status="referral_status") for r in rows]
    if emitted(fmt, as_json, records, INBOX_COLUMNS):
        return
    referral_ids = short_ids(r["referral_id"] for r in rows)
    case_ids = short_ids(r["case_id"] for r in rows)
    table = Table(title=f"{network.agency(agency)}（{agency}）への紹介", title_justify="left")
    add_id_column(table, "紹介", wide)
    add_id_column(table, "事例", wide)
    table.add_column("目的", overflow="fold")
    table.add_column("緊急度", overflow="fold")
    table.add_column("送付", overflow="fold")
    table.add_column("状態", overflow="fold")
    table.add_column("初回応答", overflow="fold")
    for r in records:
        style = "bold red" if awaiting(r) else None
        status = r["status_label"] + ("（督促）" if r["escalated_at"] else "")
        table.add_row(
            r["referral_id"] if wide else referral_ids[r["referral_id"]],
            r["case_id"] if wide else case_ids[r["case_id"]],
            r["purpose_label"] or "-",
            r["urgency_label"] or "-",
            jst_text(r["sent_at"]),
            status,
            jst_text(r["first_answer_at"]) or "-",
            style=style,
        )
    output_console(wide).print(table)
    waiting = sum(1 for r in rows if awaiting(r))
    output_console().print(f"紹介 {len(rows)}件、うち未応答 {waiting}件")


# hub report indicators ---------------------------------------------------------------------


def _cut(fy: str, until: str | None) -> Cut:
    """The days a report covers, from the --fy and --until options."""
    try:
        year = parse_fiscal_year(fy)
    except ValueError as error:
        raise InvalidCommandError(str(error)) from None
    if until is None:
        return Cut.of(year)
    try:
        last = date.fromisoformat(until)
    except ValueError:
        raise InvalidCommandError(
            f"--until must be a date like 2025-12-31, not {until!r}"
        ) from None
    if not FIRST_FY <= last.year <= LAST_FY:  # the title prints it in 和暦 (from 明治)
        raise InvalidCommandError(f"--until must lie between {FIRST_FY} and {LAST_FY}")
    return Cut.of(year, last)


FiscalYearOpt = Annotated[str, typer.Option(help="Fiscal year: R7, 令和7年度 or 2025.")]
ByOpt = Annotated[
    Literal["ward", "month"] | None, typer.Option(help="Break down by ward or month.")
]
UntilOpt = Annotated[
    str | None, typer.Option(help="Cut at the end of this JST day, e.g. 2025-12-31.")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Write here, not stdout.",
        parser=a_path,
    ),
]


def report_indicators(
    fy: FiscalYearOpt,
    by: ByOpt = None,
    until: UntilOpt = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    as_json: JsonOpt = False,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="Also draw a PNG: one panel per indicator, by month or by ward.", parser=a_path
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Table ④ of the plan for a fiscal year, with the plan's labels, plus network measures."""
    fmt = chosen(fmt, as_json)
    cut = _cut(fy, until)
    app = wiring.open_application()
    try:
        view: IndicatorView = _current("indicators", app)
        print_report(
            lambda c, b: report.from_view(view, c, b),
            cut,
            by,
            fmt,
            output,
            names().wards,
            chart=chart,
        )
    finally:
        app.close()


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
    app = wiring.open_application()
    try:
        total = app.recorder.max_notification_id() or 0
        names = _names(projection)
        projections = wiring.open_projections(get_settings(), names, rebuilding=True)
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
        for projection_, count in zip(projections, counts.values(), strict=True):
            err.print(f"{projection_.name}: {count} events replayed{_kept(projection_)}")
    finally:
        app.close()


def follow(
    projection: Annotated[
        str | None, typer.Option(help=f"One of: {', '.join(PROJECTIONS)} (default all).")
    ] = None,
    once: Annotated[bool, typer.Option(help="Catch up and exit.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 500,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Keep views up to date with the log until interrupted (SIGINT/SIGTERM)."""
    settings = get_settings()
    names = _names(projection)
    if once:
        app = wiring.open_application()
        try:
            projections = wiring.open_projections(settings, names)
            counts = catch_up_all(projections, app, batch_size=batch_size)
            for projection_, count in zip(projections, counts.values(), strict=True):
                err.print(f"{projection_.name}: {count} events applied{_kept(projection_)}")
        finally:
            app.close()
        return
    stopping = threading.Event()
    current: list[Runner] = []

    set_on_signals(stopping)  # the runners are stopped by the loop, not the handler
    server = wiring.serve_metrics(
        settings, metrics_port, lambda: wiring.follow_metrics(settings, names)
    )
    heap.settle()  # started: what it holds now lives as long as it follows
    delay = 1.0
    while not stopping.is_set():
        try:
            _follow_until_stopped(settings, names, batch_size, current, stopping)
        except (PersistenceError, psycopg.Error) as error:
            # The store went away: the views keep their positions, so start again once it
            # is back (a supervisor of our own, since the library's runner stops for good).
            if stopping.is_set():
                break
            err.print(f"store unavailable ({store_failure(error)}); retrying in {delay:.0f}s")
            stopping.wait(delay)
            delay = min(delay * 2, 30.0)
        else:
            delay = 1.0
    if server is not None:
        server.shutdown()


def _follow_until_stopped(
    settings: Settings,
    names: list[str],
    batch_size: int,
    current: list[Runner],
    stopping: threading.Event,
) -> None:
    with ExitStack() as stack:
        current.clear()
        for name in names:
            # Each entered as it starts: one refused (an outdated view, the store away)
            # stops those started before it, not left following (the library's threads
            # would keep the process from exiting).
            runner = wiring.start_projection_runner(settings, name, batch_size)
            current.append(runner)
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
    fmt: ReportFormatOpt = ReportFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    principal: Annotated[str, typer.Option(help="The Kafka principal to read as.")] = "analyst",
) -> None:
    """Rebuild table ④ from analytics.events alone (de-identified), as an analyst would."""
    fmt = chosen(fmt, as_json)
    cut = _cut(fy, until)
    fold = fold_records(read_analytics(get_settings(), principal=principal))
    print_report(
        lambda c, b: report.from_memory(fold, c, b),
        cut,
        by,
        fmt,
        output,
        names().wards,
        source="（analytics.events から）",
    )


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
