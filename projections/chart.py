"""Table ④ as a chart fit for a report: one small panel per indicator, so participants in
the hundreds do not flatten plans in single digits; Japanese labels in IPAexGothic (shipped
by the ``matplotlib-fontja`` package, so there is no tofu on a machine without CJK fonts).

By month the x axis is the whole fiscal year and each line stops at the cut (months after
it are not zero, they have not happened); by ward, one bar per ward in the rows' order
(the city's seven wards, then 区不明 when it has something), as the tables list them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hub.errors import InvalidCommandError
from hub.labels import INDICATORS
from projections.indicators import Cut, ReportRow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT = "IPAexGothic"


def _japanese_font() -> str:
    from matplotlib import font_manager
    from matplotlib_fontja import get_font_ttf_path

    if FONT not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(get_font_ttf_path())
    return FONT


def check_writable(path: Path) -> None:
    """Refuse a chart path that cannot be written before any work is done."""
    if path.suffix.lower() != ".png":
        raise InvalidCommandError(f"--chart must name a .png file, not {str(path)!r}")
    if path.is_dir():
        raise InvalidCommandError(f"--chart {str(path)!r} is a folder, not a file")
    if not path.parent.is_dir():
        raise InvalidCommandError(f"--chart: folder {str(path.parent)!r} does not exist")


def fiscal_months(cut: Cut) -> list[str]:
    """All twelve months of the cut's fiscal year, April to March."""
    return [f"{cut.fy + (m < 4)}-{m:02d}" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]


def draw(
    rows: list[ReportRow],
    cut: Cut,
    path: Path,
    title: str,
    wards: Mapping[str, str] | None = None,
    targets: Mapping[str, float] | None = None,
    notes: Mapping[str, str] | None = None,
) -> None:
    """Draw ``rows`` (broken down by month or by ward) to a PNG at ``path``."""
    check_writable(path)
    fig = figure(rows, cut, title, wards, targets, notes)
    try:
        fig.savefig(path, dpi=120)
    except OSError as error:
        raise InvalidCommandError(
            f"--chart: cannot write {str(path)!r}: {error.strerror}"
        ) from None
    finally:
        fig.clf()


def figure(
    rows: list[ReportRow],
    cut: Cut,
    title: str,
    wards: Mapping[str, str] | None = None,
    targets: Mapping[str, float] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Figure:
    """The figure: a 3 × 3 grid, one panel per indicator of table ④."""
    by_ward = any(r.ward is not None for r in rows)
    wards = wards or {}
    targets = targets or {}
    notes = notes or {}
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with rc_context({"font.family": _japanese_font(), "font.size": 8}):
        # A Figure not registered with pyplot: nothing to close, safe in a long process.
        fig = Figure(figsize=(11.7, 8.3))  # A4 landscape
        axes = fig.subplots(3, 3)
        for ax, ind in zip(axes.flat, INDICATORS, strict=True):
            mine = [r for r in rows if r.code == ind.key]
            if by_ward:
                # The rows' own order: the city's seven wards, then 区不明 when it has any.
                values = {r.ward or "": r.value or 0 for r in mine}
                keys = list(values)
                ax.bar(
                    [wards.get(k, "区不明" if k == "" else k) for k in keys],
                    [values.get(k, 0) for k in keys],
                    color="#4c72b0",
                )
                ax.tick_params(axis="x", rotation=60, labelsize=7)
            else:
                months = fiscal_months(cut)
                by_month = {r.month: r.value for r in mine}
                shown = [m for m in months if m in by_month]
                ax.plot(
                    [months.index(m) for m in shown],
                    [by_month[m] or 0 for m in shown],
                    marker="o",
                    markersize=3,
                    color="#4c72b0",
                )
                ax.set_xticks(range(12), [f"{int(m[5:])}月" for m in months], fontsize=7)
                ax.set_xlim(-0.5, 11.5)
            if ind.key in targets:
                # A stock climbs to its target; a flow's monthly line is not comparable with
                # a yearly target, so the panel only states it.
                if ind.kind == "stock":
                    ax.axhline(targets[ind.key], color="#c44e52", linestyle="--", linewidth=1)
                ax.annotate(
                    f"年間目標 {targets[ind.key]:,g}{ind.unit} {notes.get(ind.key, '')}".rstrip(),
                    (0.01, 0.92),
                    xycoords="axes fraction",
                    color="#c44e52",
                    fontsize=7,
                )
            ax.set_title(f"{ind.label}（{ind.unit}）", fontsize=8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            top = max((r.value or 0 for r in mine), default=0)
            line = targets.get(ind.key, 0) if ind.kind == "stock" else 0
            ax.set_ylim(0, max(top, line, 1) * 1.15)
            ax.grid(axis="y", alpha=0.3)
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
    return fig
