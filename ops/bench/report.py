"""The results as Markdown: one table per store, the reference and how the run was made."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime

from ops.bench.measure import Row


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.1f} GiB"
    except (ValueError, OSError):
        memory = "unknown memory"
    system = f"{platform.system()} {platform.release()}"
    return f"{cores} cores, {memory}, {system}, Python {platform.python_version()}"


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| figure | hub | baseline | ratio | target | met? | unit | run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.figure} | {_num(r.hub)} | {_num(r.baseline)} | {ratio} | {r.target} | {met} "
            f"| {r.unit} | {r.note} |"
        )
    return "\n".join(lines)


def markdown(rows: Sequence[Row], command: str, reference: str) -> str:
    stores = sorted({r.store for r in rows}, key=lambda s: (s != "sqlite", s))
    parts = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Command: `{command}`",
        f"Physical reference: {reference}",
    ]
    for store in stores:
        parts.append(f"### {store}\n\n" + table([r for r in rows if r.store == store]))
    return "\n\n".join(parts) + "\n"
