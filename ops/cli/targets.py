"""``hub target set|list``: the city's targets for table ④ (R8目標), recorded as events."""

from __future__ import annotations

from typing import Annotated, Any, cast
from uuid import NAMESPACE_URL, uuid5

import typer
from rich.table import Table

from hub import commands as c
from hub.errors import InvalidCommandError
from hub.fiscal import jst_iso, now, parse_fiscal_year, reiwa_label
from hub.intake import validate_command
from hub.labels import BY_KEY, INDICATORS
from hub.settings import get_settings
from ops.cli._output import Format, FormatOpt, JsonOpt, check_choice, console, emitted
from ops.cli.audit import parse_time
from ops.wiring import open_application, open_projection
from projections.runner import catch_up

target_app = typer.Typer(help="Targets of table ④ per fiscal year (R8目標).", no_args_is_help=True)

FiscalYear = Annotated[str, typer.Option("--fy", help="Fiscal year: R8, 令和8年度 or 2026.")]


def _year(fy: str) -> int:
    try:
        return parse_fiscal_year(fy)
    except ValueError as error:
        raise InvalidCommandError(str(error)) from None


def set_target(
    fy: FiscalYear,
    indicator: Annotated[
        str, typer.Option(help="The indicator's code (`hub target list` shows them).")
    ],
    value: Annotated[float, typer.Option(help="The target for the year, in its unit.")],
    note: Annotated[str | None, typer.Option(help="Why, e.g. R7の実績を踏まえ.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When it was decided (ISO 8601; default now).")
    ] = None,
) -> None:
    """Record the target of one indicator for a fiscal year; setting it again revises it.

    The event names who set it (the configured operator)."""
    check_choice("--indicator", indicator, list(BY_KEY))
    year = _year(fy)
    occurred_at = parse_time(at) if at else now()
    # One decision, one command id: the same decision submitted twice is applied once.
    command_id = uuid5(NAMESPACE_URL, f"/targets/{year}/{indicator}/{value}/{occurred_at}")
    # Validated as `hub command` validates: a value out of range is one line naming the field.
    fields = {"fiscal_year": year, "indicator": indicator, "value": value, "note": note}
    base = {"type": "SetTarget", "command_id": command_id, "occurred_at": occurred_at}
    command = cast(c.SetTarget, validate_command({**base, **fields}))
    app = open_application()
    try:
        outcome = app.execute(command)
    finally:
        app.close()
    shown = BY_KEY[indicator]
    state = "記録済み / already recorded" if outcome.duplicate else "記録しました / recorded"
    typer.echo(
        f"{reiwa_label(year, long=True)} {shown.label}: 目標 {value:,g}{shown.unit} ({state})"
    )


def list_targets(fy: FiscalYear, fmt: FormatOpt = Format.table, as_json: JsonOpt = False) -> None:
    """Every indicator of table ④ with its code and the year's target, if one is set.

    When (JST) and by whom the target in force was set, and its note."""
    year = _year(fy)
    app = open_application()
    try:
        projection = open_projection(get_settings(), "indicators")
        catch_up(projection, app)
        targets = projection.view.target_values(year)
        details = projection.view.target_details(year)
    finally:
        app.close()
    records: list[dict[str, Any]] = []
    for i in INDICATORS:
        detail = details.get(i.key)
        records.append(
            {
                "fiscal_year": year,
                "code": i.key,
                "label": i.label,
                "unit": i.unit,
                "target": _number(targets.get(i.key)),
                "set_at": jst_iso(detail.set_at) if detail else None,
                "set_by": detail.set_by if detail else None,
                "note": detail.note if detail else None,
            }
        )
    if any(r["target"] is not None and r["set_at"] is None for r in records):
        # Only a view made by a release before the details were kept has a target without
        # them: this one writes both in one transaction, and catching up fills in neither.
        typer.echo(
            "Note: this view was made before targets kept when and by whom they were set; "
            "`hub rebuild --projection indicators` fills them in",
            err=True,
        )
    if emitted(fmt, as_json, records, COLUMNS):
        return
    table = Table(title=f"{reiwa_label(year, long=True)} 目標", title_justify="left", expand=True)
    table.add_column("評価指標 (code)", overflow="fold", ratio=4)
    table.add_column("目標", justify="right", no_wrap=True)
    table.add_column("設定日", no_wrap=True)
    table.add_column("設定者", overflow="fold", ratio=2)
    table.add_column("備考", overflow="fold", ratio=2)
    for r in records:
        target = "未設定" if r["target"] is None else f"{r['target']:,g}{r['unit']}"
        day = r["set_at"][:10] if r["set_at"] else ""
        table.add_row(
            f"{r['label']}\n({r['code']})", target, day, r["set_by"] or "", r["note"] or ""
        )
    console().print(table)


COLUMNS = ("fiscal_year", "code", "label", "unit", "target", "set_at", "set_by", "note")


def _number(value: float | None) -> int | float | None:
    """A whole target as an integer (600, not 600.0), as people write it."""
    return int(value) if value is not None and value.is_integer() else value


def register(app: typer.Typer) -> None:
    target_app.command("set")(set_target)
    target_app.command("list")(list_targets)
    app.add_typer(target_app, name="target")
