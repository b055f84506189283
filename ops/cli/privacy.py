"""``hub privacy``: the person's rights (docs/RIGHTS.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from hub.errors import InvalidCommandError
from hub.files import private_file
from hub.fiscal import JST, now
from hub.retention import RetentionSchedule, due_cases
from hub.settings import get_settings
from ops.privacy.pdf import render
from ops.privacy.subject import subject_report
from ops.wiring import application, ledger_disclosures, open_ledger, open_projection
from projections.runner import catch_up

privacy = typer.Typer(
    help="The person's rights: 本人開示, 利用停止 (docs/RIGHTS.md), 消去 (docs/PRIVACY.md)."
)


@privacy.command("subject-report")
def subject_report_command(
    case: Annotated[str, typer.Option("--case", help="The case id of the person.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The PDF to write (default subject-report-<case>.pdf)."),
    ] = None,
) -> None:
    """本人開示: a PDF in Japanese of what the hub holds on the person and every use of it."""
    try:
        case_id = UUID(case)
    except ValueError:
        raise InvalidCommandError(f"--case: not a case id: {case!r}") from None
    settings = get_settings()
    disclosures = ledger_disclosures(settings)
    position = open_ledger(settings).position()
    with application(settings) as app:
        report = subject_report(app, case_id, disclosures, ledger_position=position)
    path = out or Path(f"subject-report-{case_id}.pdf")
    private_file(path).write_bytes(render(report))
    typer.echo(f"本人開示 {case_id}: {path} (0600; the read is in the access log)")


@privacy.command("erase")
def erase_command(
    case: Annotated[str, typer.Option("--case", help="The case id of the person.")],
    decided_by: Annotated[
        str, typer.Option("--decided-by", help="Who decided the erasure (office or officer).")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (e.g. 保存期間満了); no personal data.")
    ],
) -> None:
    """消去: records the decision and destroys the person's data keys (docs/PRIVACY.md)."""
    try:
        case_id = UUID(case)
    except ValueError:
        raise InvalidCommandError(f"--case: not a case id: {case!r}") from None
    with application(get_settings()) as app:
        subjects = app.erase_person(case_id, decided_by=decided_by, reason=reason)
    typer.echo(
        f"消去 erased {case_id}: {len(subjects)} data key(s) destroyed; its personal fields "
        "now read as ［消去済み］"
    )


@privacy.command("retention")
def retention_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day (YYYY-MM-DD, JST); default today.")
    ] = None,
) -> None:
    """保存期間: the closed cases whose retention has ended (erase them with `erase`)."""
    try:
        on = date.fromisoformat(as_of) if as_of else now().astimezone(JST).date()
    except ValueError:
        raise InvalidCommandError(
            f"--as-of must be a date like 2031-04-01, not {as_of!r}"
        ) from None
    settings = get_settings()
    schedule = RetentionSchedule(closed_case_years=settings.retention_closed_case_years)
    with application(settings) as app:
        view = open_projection(settings, "case_state")
        catch_up(view, app)
        due = [
            d
            for d in due_cases(view.view.cases(), schedule, on)
            if not app.data_keys.is_destroyed(d.case_id)
        ]
    typer.echo(
        f"保存期間 retention: closed cases keep details {schedule.closed_case_years} years "
        f"after their last record; due on {on.isoformat()}: {len(due)}"
    )
    for d in due:
        typer.echo(f"  {d.case_id}  {d.ward:<10} 最終記録 {d.last_record}  期限 {d.due_on}")


def register(app: typer.Typer) -> None:
    app.add_typer(privacy, name="privacy", no_args_is_help=True)
