"""The indicators report: the same rows from the hub's view or from an analyst's fold,
rendered as JSON, CSV (UTF-8 with BOM, for Excel) or a monthly trend chart."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

from hub.fiscal import JST
from projections.indicator_view import IndicatorView
from projections.indicators import (
    INDICATORS,
    Breakdown,
    Cut,
    MemoryIndicators,
    ReportRow,
    network_measures,
    tabulate,
    utc_text,
)


def from_view(view: IndicatorView, cut: Cut, by: Breakdown = None) -> list[ReportRow]:
    rows = tabulate(view.tally_rows(cut.last_day.isoformat()), view.member_rows(cut.fy), cut, by)
    if by is None:
        first = utc_text(datetime.combine(cut.first_day, datetime.min.time(), JST))
        rows += network_measures(view.referral_rows(first, cut.end_instant), cut)
    return rows


def from_memory(fold: MemoryIndicators, cut: Cut, by: Breakdown = None) -> list[ReportRow]:
    rows = tabulate(fold.tally_rows(), fold.member_rows(), cut, by)
    if by is None:
        rows += network_measures(fold.referral_rows(), cut)
    return rows


def to_json(rows: list[ReportRow]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2)


def to_csv(rows: list[ReportRow]) -> bytes:
    """UTF-8 with a byte order mark, so that Excel opens the Japanese labels correctly."""
    columns = ["function", "indicator", "value"]
    if any(r.ward is not None for r in rows):
        columns.insert(0, "ward")
    if any(r.month is not None for r in rows):
        columns.insert(0, "month")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v for k, v in row.as_dict().items() if k in columns})
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def chart(monthly: list[ReportRow], path: Path, title: str) -> None:
    """The monthly trend of the flow indicators (ASCII labels: CJK fonts may be missing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = sorted({r.month for r in monthly if r.month is not None})
    fig, ax = plt.subplots(figsize=(10, 5))
    for ind in INDICATORS:
        values = [
            next((r.value for r in monthly if r.month == m and r.indicator == ind.label), 0) or 0
            for m in months
        ]
        ax.plot(months, values, marker="o", label=ind.key)
    ax.set_title(title)
    ax.set_xlabel("month (JST)")
    ax.set_ylabel("count")
    ax.legend(fontsize="small")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
