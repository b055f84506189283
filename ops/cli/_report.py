"""Printing table ④: the same rows from the hub's view or from the analysts' fold, as a table
for people (80 columns), the long CSV/JSON for machines, or the wide CSV and Excel workbook a
city report uses."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from hub.errors import InvalidCommandError
from hub.fiscal import wareki_month
from ops.cli._output import check_output, written
from projections import chart as charts
from projections import report
from projections.indicators import Breakdown, Cut, ReportRow


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    wide_csv = "wide-csv"
    json = "json"
    jsonl = "jsonl"
    xlsx = "xlsx"


ReportFormatOpt = Annotated[
    ReportFormat,
    typer.Option(
        "--format",
        help="table; csv/json/jsonl (long, one row per figure, for machines); wide-csv or "
        "xlsx (indicators × months or × wards, Japanese headers, 和暦 months; xlsx needs --out).",
    ),
]

Rows = Callable[[Cut, Breakdown], list[ReportRow]]


def print_report(
    rows_of: Rows,
    cut: Cut,
    by: Breakdown,
    fmt: ReportFormat,
    output: Path | None,
    wards: Mapping[str, str],
    source: str = "",
    chart: Path | None = None,
) -> None:
    """Compute what the format needs with ``rows_of`` and write it to stdout or ``output``."""
    if fmt is ReportFormat.xlsx and output is None:
        raise InvalidCommandError("--format xlsx writes a workbook: give --out FILE.xlsx")
    if fmt is ReportFormat.xlsx and output is not None and output.suffix.lower() != ".xlsx":
        # Excel opens a file by its name's ending: a workbook named .csv opens as garbage.
        raise InvalidCommandError(
            f"--format xlsx: --out must name a .xlsx file, not {str(output)!r}"
        )
    if output is not None:
        check_output(output)
    if chart is not None:
        charts.check_writable(chart)
    heading = report.title(cut, source)
    rows = rows_of(cut, by)
    if fmt in (ReportFormat.wide_csv, ReportFormat.xlsx):
        table = report.wide_of(rows, rows_of, cut, by, wards)
        if fmt is ReportFormat.xlsx:
            assert output is not None
            written(output, lambda: report.to_xlsx(table, rows, heading, output, wards))
        else:
            _bytes_out(report.to_wide_csv(table, heading), output)
    elif fmt is ReportFormat.csv:
        _bytes_out(report.to_csv(rows, wards), output)
    elif fmt is ReportFormat.json:
        _bytes_out((report.to_json(rows, wards) + "\n").encode(), output)
    elif fmt is ReportFormat.jsonl:
        import json

        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records(rows, wards))
        _bytes_out(lines.encode(), output)
    else:
        _print_table(rows, heading, wards, output)
    if chart is not None:
        parts = report.chart_parts(rows, rows_of, cut, by)
        charts.draw(parts.rows, cut, chart, heading, wards, parts.targets, parts.notes)
        Console(stderr=True, soft_wrap=True).print(
            f"グラフを書き出しました / chart written to {chart}"
        )


def _records(rows: list[ReportRow], wards: Mapping[str, str]) -> list[dict[str, object]]:
    import json

    return list(json.loads(report.to_json(rows, wards)))


def _bytes_out(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        written(output, lambda: _write_bytes(output, data))


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _print_table(
    rows: list[ReportRow], heading: str, wards: Mapping[str, str], output: Path | None
) -> None:
    """The heading on a line of its own (a table's title folds to the table's width), then
    function as a section line, label and value: fits 80 columns."""
    table = Table()
    breakdown = None
    if any(r.month is not None for r in rows):
        breakdown = "月"
        table.add_column(breakdown, no_wrap=True)
    elif any(r.ward is not None for r in rows):
        breakdown = "区"
        table.add_column(breakdown, no_wrap=True)
    table.add_column("事業 / 評価指標", overflow="fold")
    table.add_column("値", justify="right", no_wrap=True)
    targets = any(r.target is not None for r in rows)
    if targets:
        table.add_column("目標", justify="right", no_wrap=True)
        table.add_column("達成率", justify="right", no_wrap=True)
        table.add_column("必要ペース\n(月)", justify="right", no_wrap=True)
    function = None
    for r in rows:
        key = ""
        if r.month is not None:
            key = wareki_month(r.month)
        elif r.ward is not None:
            key = wards.get(r.ward, "区不明" if r.ward == "" else r.ward)
        if breakdown is None and r.function != function:
            function = r.function
            table.add_row(f"[bold]{r.function}[/]", *([""] * (4 if targets else 1)))
        label = r.indicator if breakdown is None else f"{r.function}：{r.indicator}"
        cells = ([key] if breakdown else []) + [
            ("  " if breakdown is None else "") + label,
            report.value_text(r),
        ]
        if targets:
            cells += report.progress_texts(r)
        table.add_row(*cells)
    # A cut before 1 April has no month yet: the heading says why, with no empty table.
    shown = Group(Text(heading), table if rows else Text("（この期間に表示する行はありません）"))
    if output is None:
        Console().print(shown)
        return
    written(output, lambda: _table_to_file(shown, output))


def _table_to_file(table: RenderableType, path: Path) -> None:
    # The width rule of stdout when it is not a terminal: COLUMNS, or 80. Said outright:
    # rich measures the terminal the command runs in even when it writes to a file.
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else 80
    with path.open("w", encoding="utf-8") as handle:
        Console(file=handle, width=width).print(table)
