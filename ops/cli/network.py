"""``hub network``: the network on the log, as of an instant, and changing it from a file;
its registered partners (``hub network partners``, ops/cli/partners.py).

Times are ISO 8601; a time without a zone is read as JST.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from hub import events as ev
from hub.errors import InvalidNetworkFileError
from hub.fiscal import JST, now
from hub.reference import Network, parse_network
from hub.reference.directory import fold
from ops import wiring
from ops.cli._output import input_problem
from ops.cli.audit import parse_time
from ops.cli.partners import partners

out = Console(soft_wrap=True)
network_app = typer.Typer(
    help="The network (wards, agencies, council, partner groups) as the log records it.",
    no_args_is_help=True,
)

KINDS = {
    "ward_window": "区役所窓口",
    "coordinator": "いのちネット担当係長",
    "disability_centre": "障害者基幹相談支援センター",
    "contractor": "委託事業者",
    "council_member": "連携協議会 会員",
}

CHANGES = {
    "NetworkEstablished": "取込",
    "NetworkDescriptionRevised": "概要の改訂",
    "WardRegistered": "区の登録",
    "PartnerGroupAdded": "協力会員区分の追加",
    "PartnerGroupRevised": "協力会員区分の改訂",
    "AgencyRegistered": "機関の登録",
    "AgencyRenamed": "機関の名称変更",
    "AgencyRetired": "機関の廃止",
    "CouncilMemberJoined": "協議会への加入",
    "CouncilMemberLeft": "協議会からの脱退",
}


def show(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The network as of this instant (default: now)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print network.json's format (apply accepts it).")
    ] = False,
) -> None:
    """The network in force: wards, agencies (Japanese names first), partner groups."""
    at = parse_time(as_of) if as_of else now()
    with wiring.application() as app:
        history = app.network_events()
    network = fold([p for p in history if p.occurred_at <= at]).network
    if as_json:
        out.print_json(json.dumps(network.model_dump(mode="json"), ensure_ascii=False))
        return
    _print(network, at)


def _print(network: Network, at: datetime) -> None:
    out.print(f"ネットワーク ({_jst(at)} 時点) network as of {_jst(at)}", highlight=False)
    if not network.agencies:
        out.print("記録なし: no network was recorded by then", highlight=False)
        return
    wards = {w.code: w.name for w in network.wards}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("名称 name", overflow="fold", ratio=4)
    table.add_column("機関ID agency", overflow="fold", ratio=3)
    table.add_column("種別 kind", overflow="fold", ratio=2)
    table.add_column("区 ward", overflow="fold", ratio=1)
    table.add_column("分野 fields", overflow="fold", ratio=2)
    for agency in network.agencies:
        table.add_row(
            agency.name,
            agency.id,
            KINDS.get(agency.kind, agency.kind),
            wards.get(agency.ward or "", "市全域"),
            "・".join(agency.fields),
        )
    out.print(table)
    groups = Table(
        "見守り部会 協力会員区分 partner group", "コード code", "例 examples", box=box.SIMPLE_HEAD
    )
    for group in network.partner_groups:
        groups.add_row(group.name, group.code, "、".join(group.examples[:3]))
    out.print(groups)
    council = sum(a.kind == "council_member" for a in network.agencies)
    out.print(
        f"区 wards {len(network.wards)}・機関 agencies {len(network.agencies)}"
        f"(うち連携協議会 council {council})\n"
        f"協力会員 partner companies {network.partner_companies_total}",
        highlight=False,
    )


def _jst(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def apply(
    file: Annotated[str, typer.Argument(help="A changed network.json.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="When the changes take effect (default: now)."),
    ] = None,
) -> None:
    """Record the network events by which FILE differs from the log (an administrator).

    Exactly those events: applying the same file again records nothing."""
    path = Path(file)
    if problem := input_problem(path):
        raise InvalidNetworkFileError(problem)
    try:
        text = path.read_bytes()
    except OSError as error:
        raise InvalidNetworkFileError(f"cannot read {file}: {error.strerror}") from None
    wanted = parse_network(text)
    when = parse_time(at) if at else now()
    with wiring.application() as app:
        recorded = app.apply_network(wanted, when)
    if not recorded:
        out.print("変更なし: the log already records this network; nothing written")
        return
    for payload in recorded:
        out.print(_line(payload), highlight=False, markup=False)
    out.print(f"{len(recorded)} 件を記録しました: {len(recorded)} network events recorded")
    if any(isinstance(p, ev.AgencyRegistered | ev.CouncilMemberJoined) for p in recorded):
        out.print("新しい機関のトピックと利用者: run `hub kafka provision`", highlight=False)


def _line(payload: ev.Event) -> str:
    kind = type(payload).__name__
    subject = getattr(payload, "agency_id", None) or getattr(payload, "code", None) or ""
    name = getattr(payload, "name", None) or ""
    return f"{CHANGES.get(kind, kind)} ({kind}) {subject} {name}".rstrip()


def register(app: typer.Typer) -> None:
    network_app.command("show")(show)
    network_app.command("apply")(apply)
    network_app.command("partners")(partners)
    app.add_typer(network_app, name="network")
