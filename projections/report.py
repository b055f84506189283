"""The indicators report: the same rows from the hub's view or from an analyst's fold,
rendered as JSON, a long CSV (for machines), a wide CSV and an Excel workbook (for a city
report: indicators × months or × wards, Japanese headers, 和暦 months), or a chart.

Labels, units and the order of table ④ come from ``hub.labels`` (one definition); ward names
come in as a mapping so that where names come from is decided by the caller.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.fiscal import JST, reiwa_label, wareki_date, wareki_month
from hub.labels import INDICATORS, NETWORK_FUNCTION, TABLE4_TITLE, names
from hub.spreadsheet import spreadsheet_text
from projections.indicator_view import IndicatorView
from projections.indicators import (
    Breakdown,
    Cut,
    MemoryIndicators,
    ReportRow,
    network_measures,
    tabulate,
    utc_text,
    with_targets,
)


def city_wards() -> list[str]:
    """The city's seven ward codes in the city's order (門司区 … 戸畑区), as the shipped
    reference network lists them and `hub ref wards` prints them."""
    return list(names().wards)


def from_view(
    view: IndicatorView, cut: Cut, by: Breakdown = None, wards: Sequence[str] | None = None
) -> list[ReportRow]:
    """Table ④ from the hub's view; by ward, every ward of ``wards`` (the city's by default)
    in that order with zeros where nothing happened, then 区不明 when it has something."""
    order = city_wards() if wards is None else wards
    tallies = view.tally_rows(cut.last_day.isoformat())
    rows = tabulate(tallies, view.member_rows(cut.fy), cut, by, order)
    if by is None:
        rows = with_targets(rows, view.target_values(cut.fy), cut)
        first = utc_text(datetime.combine(cut.first_day, datetime.min.time(), JST))
        rows += network_measures(view.referral_rows(first, cut.end_instant), cut)
    return rows


def from_memory(
    fold: MemoryIndicators, cut: Cut, by: Breakdown = None, wards: Sequence[str] | None = None
) -> list[ReportRow]:
    """The same as ``from_view`` from the analysts' fold."""
    order = city_wards() if wards is None else wards
    rows = tabulate(fold.tally_rows(), fold.member_rows(), cut, by, order)
    if by is None:
        rows = with_targets(rows, fold.target_values(cut.fy), cut)
        rows += network_measures(fold.referral_rows(), cut)
    return rows


def targets_of(rows: list[ReportRow]) -> dict[str, float]:
    return {r.code: r.target for r in rows if r.target is not None}


def period(cut: Cut) -> str:
    """The year and the day it is cut at: '令和7年度（令和7年12月31日まで）'."""
    if cut.before_start:
        span = f"{wareki_date(cut.last_day)}まで：年度開始前のため0"
    else:
        span = f"{wareki_date(cut.last_day)}まで"
    return f"{reiwa_label(cut.fy, long=True)}（{span}）"


def title(cut: Cut, source: str = "") -> str:
    """The report's title states the real cut: '④ … 令和7年度（令和7年12月31日まで）'."""
    return f"{TABLE4_TITLE} {period(cut)}{source}"


def value_text(row: ReportRow) -> str:
    """A figure as a report prints it: '450回', '87.5%', '-' when there is none."""
    if row.value is None:
        return "-"
    number = f"{row.value:,}" if isinstance(row.value, int) else f"{row.value:,.1f}"
    return f"{number}{row.unit}"


def progress_texts(row: ReportRow) -> list[str]:
    """Target, rate reached and pace needed per month, as a report prints them."""
    if row.target is None:
        return ["", "", ""]
    rate = "-" if row.progress_rate is None else f"{row.progress_rate:.1f}%"
    pace = "-" if row.pace_needed is None else f"{row.pace_needed:,.1f}{row.unit}"
    return [f"{row.target:,g}{row.unit}", rate, pace]


def with_names(row: ReportRow, wards: Mapping[str, str]) -> dict[str, Any]:
    """A row for machines: ``as_dict`` with ``ward_label`` (区名) and ``month_label`` (和暦)."""
    data = row.as_dict()
    if row.ward is not None:
        data["ward_label"] = wards.get(row.ward, "区不明" if row.ward == "" else row.ward)
    if row.month is not None:
        data["month_label"] = wareki_month(row.month)
    return data


def to_json(rows: list[ReportRow], wards: Mapping[str, str] | None = None) -> str:
    """A list of rows: function, code, label, unit, value (+ ward/ward_label, month/month_label)."""
    return json.dumps([with_names(r, wards or {}) for r in rows], ensure_ascii=False, indent=2)


LONG_COLUMNS = ("function", "code", "label", "unit", "value")
TARGET_COLUMNS = ("target", "progress_rate", "pace_needed_per_month")


def to_csv(rows: list[ReportRow], wards: Mapping[str, str] | None = None) -> bytes:
    """The long form for machines: one row per figure, ``label`` beside every ``code``.
    UTF-8 with a byte order mark, so that Excel opens the Japanese labels correctly."""
    columns = list(LONG_COLUMNS)
    if any(r.target is not None for r in rows):
        columns += TARGET_COLUMNS
    if any(r.ward is not None for r in rows):
        columns[:0] = ["ward", "ward_label"]
    if any(r.month is not None for r in rows):
        columns[:0] = ["month", "month_label"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        data = with_names(row, wards or {})
        writer.writerow({k: spreadsheet_text(data.get(k)) for k in columns})
    return _bom(buffer.getvalue())


def _bom(text: str) -> bytes:
    return "\ufeff".encode() + text.encode("utf-8")


@dataclass(frozen=True)
class WideTable:
    """Indicators × months (or × wards) with a year column, as a city report lays it out."""

    headers: list[str]
    rows: list[list[Any]]


def wide(
    broken_down: list[ReportRow],
    totals: list[ReportRow],
    wards: Mapping[str, str] | None = None,
) -> WideTable:
    """``broken_down`` by month or by ward; ``totals`` the same cut without a breakdown."""
    wards = wards or {}
    keys: list[str] = []
    for r in broken_down:
        key = r.month if r.month is not None else r.ward
        if key is not None and key not in keys:
            keys.append(key)
    by_month = any(r.month is not None for r in broken_down)
    columns = [
        wareki_month(k) if by_month else wards.get(k, "区不明" if k == "" else k) for k in keys
    ]
    cells = {(r.code, r.month if by_month else r.ward): r.value for r in broken_down}
    total = {r.code: r for r in totals}
    with_target = any(r.target is not None for r in totals)
    headers = ["事業", "評価指標", "単位", *columns, "年度計（累計）"]
    if with_target:
        headers += ["目標", "達成率（%）", "必要ペース（月あたり）"]
    rows: list[list[Any]] = []
    for ind in INDICATORS:
        year = total.get(ind.key)
        progress = [year.target, year.progress_rate, year.pace_needed] if year else [None] * 3
        rows.append(
            [
                ind.function,
                ind.label,
                ind.unit,
                *(cells.get((ind.key, k)) for k in keys),
                year.value if year else None,
                *(progress if with_target else []),
            ]
        )
    for r in totals:
        if r.function == NETWORK_FUNCTION:
            extra = [None] * 3 if with_target else []
            rows.append([r.function, r.indicator, r.unit, *([None] * len(keys)), r.value, *extra])
    return WideTable(headers, rows)


RowsOf = Callable[[Cut, Breakdown], list[ReportRow]]


def wide_of(
    rows: list[ReportRow],
    rows_of: RowsOf,
    cut: Cut,
    by: Breakdown,
    wards: Mapping[str, str] | None = None,
) -> WideTable:
    """The wide table of a report (wide CSV, workbook): ``rows`` are the cut's rows broken
    down ``by``; without a breakdown the indicators are laid against the months, as a city
    report lays them out, and the year's column (with its targets) comes from ``rows_of``."""
    broken = rows if by is not None else rows_of(cut, "month")
    totals = rows if by is None else rows_of(cut, None)
    return wide(broken, totals, wards)


@dataclass(frozen=True)
class ChartParts:
    """What a chart of a report draws: its rows, the year's targets and what each says."""

    rows: list[ReportRow]
    targets: dict[str, float]
    notes: dict[str, str]


def chart_parts(rows: list[ReportRow], rows_of: RowsOf, cut: Cut, by: Breakdown) -> ChartParts:
    """By month (without a breakdown too) or by ward. A target is for the whole year: drawn
    on the monthly chart (a stock's line climbs to it; a flow's panel states it), with the
    rate reached and the pace needed; never on the wards' bars, which no target is set for."""
    drawn = rows if by is not None else rows_of(cut, "month")
    totals = rows if by is None else rows_of(cut, None)
    if by == "ward":
        return ChartParts(drawn, {}, {})
    notes = {
        r.code: f"達成率 {texts[1]}・必要ペース {texts[2]}/月"
        for r in totals
        if r.target is not None and (texts := progress_texts(r))
    }
    return ChartParts(drawn, targets_of(totals), notes)


def to_wide_csv(table: WideTable, heading: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([heading])
    writer.writerow([spreadsheet_text(h) for h in table.headers])
    for row in table.rows:
        writer.writerow(["" if v is None else spreadsheet_text(v) for v in row])
    return _bom(buffer.getvalue())


def to_xlsx(
    table: WideTable,
    long_rows: list[ReportRow],
    heading: str,
    path: Path,
    wards: Mapping[str, str] | None = None,
) -> None:
    """An Excel workbook: the wide table on the first sheet (as the city's report lays it
    out), the long form for machines on a second sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "評価指標"
    sheet.append([heading])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(table.headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in table.rows:
        sheet.append(row)
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 40
    sheet.column_dimensions["C"].width = 6
    for index in range(4, len(table.headers) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12
    sheet.freeze_panes = "D3"
    data = book.create_sheet("データ")
    header = next(csv.reader(io.StringIO(to_csv(long_rows).decode("utf-8-sig"))))
    data.append(header)
    for r in long_rows:
        values = with_names(r, wards or {})
        data.append([values.get(k) for k in header])
    for worksheet in (sheet, data):  # a ward's name is text, however it starts
        for cells in worksheet.iter_rows():
            for cell in cells:
                if cell.data_type == "f":
                    cell.data_type = "s"
    book.save(path)
