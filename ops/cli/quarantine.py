"""``hub quarantine list``: the events each step of the stream kept back, and why.

Each step keeps its quarantine in its own store, beside its position (hub/quarantine.py):
the relay in ``relay_quarantine`` next to the disclosure ledger, each view in its own
``quarantine`` table, an agency client in its inbox's parked records, the reply ingester on
the topic ``deadletter.replies`` (read as the principal ``hub``, which parks there). Reasons
name a field and a rule, never a value.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub import topics
from hub.errors import ServiceUnavailableError
from hub.kafka_clients import read_to_end
from hub.labels import label
from hub.quarantine import STEPS
from hub.settings import Settings, get_settings
from ops.cli._names import log_names
from ops.cli._output import check_choice, labelled
from ops.wiring import open_inbox, open_ledger, open_projection

out = Console()


class Step(StrEnum):
    relay = "relay"
    case_state = "case_state"
    inbox = "inbox"
    indicators = "indicators"
    agency = "agency"
    replies = "replies"


REPLIES = "replies"


def quarantined(
    settings: Settings, steps: list[str] | None = None, agency: str | None = None
) -> list[dict[str, Any]]:
    """Every quarantined event of the named steps (all log followers by default), in log
    order; ``agency`` adds that agency client's parked records."""
    wanted = list(STEPS) if steps is None else steps
    rows: list[dict[str, Any]] = []
    if "relay" in wanted:
        rows += [{"step": "relay", **row} for row in open_ledger(settings).quarantined()]
    for name in STEPS[1:]:
        if name in wanted:
            projection = open_projection(settings, name)
            rows += [{"step": name, **row} for row in projection.view.quarantined()]
    if agency is not None:
        rows += _agency_rows(settings, agency)
    return sorted(rows, key=lambda r: (int(r.get("position") or 0), r["step"]))


# A parked record the retry found dropped by the broker: listed, as it was never applied.
EXPIRED = "no longer on the broker (retention, or the topic made again), never applied"


def _agency_rows(settings: Settings, agency: str) -> list[dict[str, Any]]:
    inbox = open_inbox(settings, agency)
    try:
        parked = inbox.still_parked()
        expired = inbox.expired_parked()
    finally:
        inbox.close()
    lost = [(t, p, o, f"{EXPIRED}: {reason}") for t, p, o, reason in expired]
    return [
        {
            "step": f"agency:{agency}",
            "position": None,
            "event_id": "",
            "event_type": "",
            "where": f"{topic}[{partition}]@{offset}",
            "reason": reason,
        }
        for topic, partition, offset, reason in sorted(parked + lost)
    ]


def replies_rows(settings: Settings) -> list[dict[str, Any]]:
    """The replies the reply ingester refused, from ``deadletter.replies`` (as ``hub``)."""
    topic = topics.deadletter(settings, topics.REPLIES_DEADLETTER)
    rows = []
    for record in read_to_end(settings, [topic], principal="hub"):
        headers = {k: bytes(v).decode("utf-8", "replace") for k, v in record.headers or []}
        source = headers.get("dlq_source_topic", "")
        rows.append(
            {
                "step": REPLIES,
                "position": None,
                "event_id": headers.get("event_id", ""),
                "event_type": headers.get("event_type", ""),
                "where": f"{source}[{headers.get('dlq_partition', '')}]"
                f"@{headers.get('dlq_offset', '')}",
                "reason": headers.get("dlq_reason", ""),
            }
        )
    return rows


def list_command(
    step: Annotated[
        list[Step] | None,
        typer.Option(
            "--step",
            help="Only this step (repeatable); default every log follower and the replies.",
        ),
    ] = None,
    agency: Annotated[
        str | None,
        typer.Option(
            "--agency", help="Also this agency client's parked records (not applied since)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List what a step of the stream could not process and set aside.

    The events the relay and the views quarantined, the replies the reply ingester refused
    (deadletter.replies), and an agency client's parked records."""
    names = [s.value for s in step] if step else None
    if names == ["agency"] and agency is None:
        raise typer.BadParameter("--step agency needs --agency")
    # A misspelt agency would read (and make) an empty inbox: refused, as every filter is.
    network = log_names()
    check_choice("--agency", agency, list(network.agencies))
    settings = get_settings()
    followers = [n for n in names or STEPS if n not in ("agency", REPLIES)]
    rows = quarantined(settings, followers, agency)
    if names is None or REPLIES in names:
        try:
            rows = replies_rows(settings) + rows
        except ServiceUnavailableError as error:
            if names is not None:  # asked for by name: the broker must answer
                raise
            typer.echo(f"deadletter.replies not read: {error}", err=True)
    if as_json:
        for row in rows:  # each coded field with its label, as every JSON output gives it
            typer.echo(json.dumps(labelled(row, network), ensure_ascii=False))
        return
    table = Table(title="隔離されたイベント (quarantine)", title_justify="left")
    for column in ("工程 step", "位置 position", "出来事 event", "ID", "理由 reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["step"],
            str(row["position"] if row["position"] is not None else row.get("where", "")),
            label("event_type", row["event_type"]),
            row["event_id"][:8],
            row["reason"],
        )
    out.print(table)
    typer.echo(f"隔離 {len(rows)} 件 ({len(rows)} quarantined)")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Events a step of the stream could not process (invariant 9).")
    group.command("list")(list_command)
    app.add_typer(group, name="quarantine")
