"""``hub ref agencies|wards|codes``: what a command or a filter can name, with Japanese names."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hub.labels import VOCABULARY, label
from ops.cli._names import log_network
from ops.cli._output import Format, FormatOpt, JsonOpt, check_choice, console, emitted

ref_app = typer.Typer(
    help="Reference data: agencies, wards and coded values.", no_args_is_help=True
)


def agencies(
    ward: Annotated[str | None, typer.Option(help="Only the agencies of this ward.")] = None,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Every member agency: id (what commands and --agency take), 機関名, kind and ward."""
    network = log_network()
    check_choice("--ward", ward, network.ward_codes)
    wards = {w.code: w.name for w in network.wards}
    records: list[dict[str, Any]] = [
        {
            "id": a.id,
            "name": a.name,
            "kind": a.kind,
            "kind_label": label("agency_kind", a.kind),
            "ward": a.ward,
            "ward_label": wards.get(a.ward) if a.ward else None,
        }
        for a in network.agencies
        if ward is None or a.ward == ward
    ]
    if emitted(fmt, as_json, records, ("id", "name", "kind", "kind_label", "ward", "ward_label")):
        return
    table = Table(title=f"機関 {len(records)}", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("機関名", overflow="fold", ratio=3)
    table.add_column("種別", overflow="fold", ratio=2)
    for r in records:
        table.add_row(r["id"], r["name"], r["kind_label"])
    console().print(table)


def wards(fmt: FormatOpt = Format.table, as_json: JsonOpt = False) -> None:
    """The seven wards: code (what --ward takes) and 区名."""
    records = [{"code": w.code, "label": w.name} for w in log_network().wards]
    if emitted(fmt, as_json, records, ("code", "label")):
        return
    table = Table("code", "区名", title="区", title_justify="left")
    for r in records:
        table.add_row(r["code"], r["label"])
    console().print(table)


def codes(
    vocabulary: Annotated[
        str | None, typer.Argument(help=f"One of: {', '.join(VOCABULARY)} (all when omitted).")
    ] = None,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Coded values and their Japanese labels (urgency, purpose, status, basis, …)."""
    check_choice("vocabulary", vocabulary, list(VOCABULARY))
    chosen_vocabularies = [vocabulary] if vocabulary else list(VOCABULARY)
    records = [
        {"vocabulary": v, "code": code, "label": text}
        for v in chosen_vocabularies
        for code, text in VOCABULARY[v].items()
    ]
    if emitted(fmt, as_json, records, ("vocabulary", "code", "label")):
        return
    table = Table("vocabulary", "code", "ラベル", title="コード", title_justify="left")
    table.columns[2].overflow = "fold"
    for r in records:
        table.add_row(r["vocabulary"], r["code"], r["label"])
    console().print(table)


def register(app: typer.Typer) -> None:
    ref_app.command("agencies")(agencies)
    ref_app.command("wards")(wards)
    ref_app.command("codes")(codes)
    app.add_typer(ref_app, name="ref")
