"""``hub network partners``: the registered 協力事業者 and 地域の拠点 (organisations only),
as the contractor's forms and ``GET /partners`` list them (``projections.partners.listed``)."""

from __future__ import annotations

from rich import box
from rich.table import Table

from hub.fiscal import jst_text
from hub.labels import names
from hub.prefixes import short_ids
from ops import wiring
from ops.cli._output import (
    Format,
    FormatOpt,
    JsonOpt,
    WideOpt,
    add_id_column,
    console,
    emitted,
)
from projections.partners import Listed, listed, partners_of

COLUMNS = (
    "partner_type",
    "partner_type_label",
    "partner_id",
    "name",
    "kind",
    "kind_label",
    "ward",
    "ward_label",
    "registered_at",
    "ended_at",
)


def partners(
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """協力事業者・地域の拠点: the registered businesses and bases, by type, ward and name."""
    with wiring.application() as app:
        rows = listed(partners_of(app), names(app.network).wards)
    if emitted(fmt, as_json, [r.record() for r in rows], COLUMNS):
        return
    # Those still in the network, as /web/network's headings and table ④ count them; a
    # business that left or a base that closed is listed, and counted apart.
    current = [r for r in rows if r.ended_at is None]
    businesses = sum(r.partner_type == "business" for r in current)
    ended = len(rows) - len(current)
    out = console(wide)
    out.print(
        f"協力事業者 {businesses} 者・地域の拠点 {len(current) - businesses} か所"
        + (f"（ほかに退会・閉鎖 {ended}）" if ended else "")
        + " cooperating businesses and community bases in the network"
    )
    if not rows:
        out.print("登録なし: none registered")
        return
    ids = short_ids(r.partner_id for r in rows)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    table.add_column("区分", no_wrap=True)
    table.add_column("名称（種類）", overflow="fold")
    table.add_column("区", no_wrap=True)
    table.add_column("登録・終了", no_wrap=True)
    add_id_column(table, "ID", wide)
    for r in rows:
        table.add_row(
            r.partner_type_label,
            f"{r.name}（{r.kind_label}）",
            r.ward_label,
            _period(r),
            r.partner_id if wide else ids[r.partner_id],
        )
    out.print(table)


def _period(row: Listed) -> str:
    """When registered, and, on a line below, when it left the network or closed."""
    if row.ended_at is None:
        return jst_text(row.registered_at)
    ended = "退会" if row.partner_type == "business" else "閉鎖"
    return f"{jst_text(row.registered_at)}\n{ended} {jst_text(row.ended_at)}"
