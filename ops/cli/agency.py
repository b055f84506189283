"""``hub agency run|inbox|ack|retry``, ``hub replies run`` and ``hub escalations run``.

The agency side runs as the agency's own principal (its SCRAM user is the agency id); the
reply ingester and the acknowledgement timers run as the hub.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from opentelemetry.trace import SpanKind
from rich.console import Console
from rich.table import Table

from consumers.agency import ANSWERS, check_answer, find_referral, reply_record
from consumers.escalation import EscalationTimer
from consumers.inbox import Inbox
from consumers.kafka_io import KafkaWriter
from consumers.stopping import StopFlag, stop_on_signals
from hub import codec, topics, tracing
from hub.errors import NotFoundError
from hub.fiscal import jst_text
from hub.kafka_clients import credentials
from hub.labels import Names, codes, label, names
from hub.prefixes import SHORT, short_ids
from hub.reference import AGENCY_ID_PATTERN, load_network
from hub.settings import Settings, get_settings
from ops import heap, wiring
from ops.cli._metrics import MetricsPortOpt
from ops.cli._output import (
    Format,
    FormatOpt,
    JsonOpt,
    WideOpt,
    add_id_column,
    check_choice,
    chosen,
    emit,
    labelled,
    nearest,
)
from ops.cli._output import console as output_console
from ops.cli.audit import parse_time
from ops.cli.cases import DetailsOnCommandLineError

out = Console(soft_wrap=True)  # the reply id on the same line, even when piped
err = Console(stderr=True, soft_wrap=True)  # one line per message, even when piped

agency_app = typer.Typer(help="A member agency's client: its referral inbox and its answers.")
replies_app = typer.Typer(help="The hub's ingestion of agencies' answers.")
escalations_app = typer.Typer(help="Acknowledgement timers: escalate unanswered referrals.")

AgencyOpt = Annotated[str, typer.Option("--agency", help="The agency id (its Kafka principal).")]
OnceOpt = Annotated[bool, typer.Option("--once", help="Stop when caught up.")]


def _known_agency(agency_id: str) -> str:
    # An agency's machine reads no log of record, so it cannot know the network in force
    # (an agency may have joined since the shipped file): only the id's form is checked
    # here, with the shipped ids as hints; the broker's ACLs decide what the principal reads.
    if not re.fullmatch(AGENCY_ID_PATTERN, agency_id):
        check_choice("--agency", agency_id, [a.id for a in load_network().agencies])
    return agency_id


def _note_if_unshipped(agency_id: str) -> bool:
    """An empty inbox for an id the shipped network lacks is most likely a typo: said on
    stderr (True), the answer (an empty inbox) unchanged, as an agency that joined since
    may be right."""
    known = [a.id for a in load_network().agencies]
    if agency_id in known:
        return False
    near = nearest(agency_id, known)
    hint = f" (did you mean {' or '.join(near)}?)" if near else ""
    typer.echo(
        f"Note: {agency_id} is not in the network shipped with the hub{hint}; "
        "nothing was received for it here.",
        err=True,
    )
    return True


def run_agency(
    agency: AgencyOpt,
    once: OnceOpt = False,
    group: Annotated[
        str | None, typer.Option(help="Consumer group (default <agency>.inbox).")
    ] = None,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Follow the agency's referral topic into its local inbox (exactly once)."""
    settings = get_settings()
    consumer = wiring.open_agency_consumer(settings, _known_agency(agency), group=group)
    stop = StopFlag()
    server = None
    try:
        server = wiring.serve_metrics(
            settings, metrics_port, lambda: wiring.agency_metrics(settings, agency, group)
        )
        if not once:
            heap.settle()  # started: what it holds now lives as long as it follows
            err.print(
                f"{agency}: following {topics.referrals(settings, agency)} into its inbox; "
                "Ctrl-C to stop"
            )
        with stop_on_signals(stop):
            report = consumer.run(stop, once=once)
    finally:
        if server is not None:
            server.shutdown()
        consumer.close()
    err.print(
        f"{agency}: {report.applied} applied, {report.duplicates} already in the inbox, "
        f"{report.parked} parked on {topics.deadletter(settings, agency)}"
        + (" (stopped by signal)" if stop.signal else "")
    )


def retry_parked(agency: AgencyOpt) -> None:
    """Apply again the records the agency's client parked, once it is upgraded.

    A client of an older release parks a record whose schema it does not know (an erasure
    notice, a new version of a referral) and reads on. After the upgrade, this reads each
    parked record again from the agency's referral topic and applies those it now reads,
    confirming an erasure notice to the hub, as the running client would have. What it
    still cannot read stays parked. It may run while the client runs."""
    settings = get_settings()
    agency = _known_agency(agency)
    if not wiring.inbox_kept(settings, agency):
        _note_if_unshipped(agency)
        err.print(f"{agency}: 受信箱なし、保留中の記録なし / no inbox here; nothing was parked")
        return
    report = wiring.retry_parked(settings, agency)
    for topic, partition, offset, reason in report.still_parked:
        err.print(f"{topic}[{partition}]@{offset}: 保留のまま / still parked ({reason})")
    for topic, partition, offset in report.expired:
        err.print(
            f"{topic}[{partition}]@{offset}: ブローカーに残っておらず適用できません"
            "（保留の一覧から外しました） / no longer on the broker (retention, "
            "or the topic was made again); "
            "it cannot be applied, and is no longer listed as parked"
        )
    still, expired = len(report.still_parked), len(report.expired)
    err.print(
        f"{agency}: 再適用 {report.applied} 件、受信箱に既存 {report.duplicates} 件、"
        f"保留のまま {still} 件、期限切れ {expired} 件 / {report.applied} applied, "
        f"{report.duplicates} already in the inbox, {still} still parked, {expired} expired"
    )


def _basis_text(referral: dict[str, Any]) -> str:
    """On which bases anything was disclosed about the case, and what was withheld."""
    disclosures = referral["disclosures"]
    released = sorted(
        {
            f"{label('basis', d['basis'])} {_short_refs(d['basis_ref'])}".strip()
            for d in disclosures
            if d["disclosed"]
        }
    )
    withheld = _withheld(referral)
    lines = released or [label("basis", "none")]
    if withheld:
        lines.append(f"非開示: {withheld}")
    return "\n".join(lines)


def _short_refs(refs: str | None) -> str:
    """A record's basis references (one per basis, comma-separated), each shortened."""
    return " ".join(ref[:SHORT] for ref in (refs or "").split(",") if ref)


def _disclosed_text(referral: dict[str, Any], between: str = "\n", none: str = "-") -> str:
    latest: dict[str, Any] = {}
    for disclosure in referral["disclosures"]:
        latest.update(disclosure["disclosed"])
    return between.join(f"{k}: {v}" for k, v in sorted(latest.items())) or none


def _withheld(referral: dict[str, Any]) -> str:
    return ", ".join(sorted({w for d in referral["disclosures"] for w in d["withheld"]}))


def _status_text(referral: dict[str, Any]) -> str:
    status = label("referral_status", referral["status"])
    if referral["escalated"]:
        status += "・督促"
    pending = [r["answer"] for r in referral["replies_sent"]]
    if pending and pending[-1] != referral["status"]:
        status += f"\n{label('referral_status', pending[-1])}を送信済（ハブ未反映）"
    return status


def _labelled_referral(referral: dict[str, Any], network: Names) -> dict[str, Any]:
    """A referral as the JSON outputs give it, its disclosures and answers sent too (README:
    every coded field labelled, times in JST)."""
    item: dict[str, Any] = {}
    for key, value in labelled(referral, network, status="referral_status").items():
        item[key] = value
        if key == "status_reason":  # a cancellation's is a code, a decline's its own words
            cancelled = referral.get("status") == "cancelled" and value
            item["status_reason_label"] = label("cancel_reason", value) if cancelled else None
    for key in ("disclosures", "replies_sent"):
        if key in referral:
            item[key] = [labelled(x, network) for x in referral[key]]
    return item


def show_inbox(
    agency: AgencyOpt,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Print the agency's inbox: one row per referral, and what was escalated to it."""
    settings = get_settings()
    agency = _known_agency(agency)
    referrals: list[dict[str, Any]] = []
    escalations: list[dict[str, Any]] = []
    discoveries: list[dict[str, Any]] = []
    parked = expired = 0
    # A mistyped id that nothing was ever received for gets no inbox file made for it.
    if wiring.inbox_kept(settings, agency) or not _note_if_unshipped(agency):
        inbox = wiring.open_inbox(settings, agency)
        try:
            referrals = inbox.referrals()
            escalations = inbox.escalations(agency)
            discoveries = inbox.discoveries()
            parked = len(inbox.still_parked())
            expired = len(inbox.expired_parked())
        finally:
            inbox.close()
        if not (referrals or escalations or discoveries or parked or expired):
            _note_if_unshipped(agency)
    network = names()
    fmt = chosen(fmt, as_json)
    if fmt in (Format.json, Format.csv, Format.jsonl):
        records = [_labelled_referral(r, network) for r in referrals]
        if fmt is Format.json:
            payload = {
                "agency": agency,
                "agency_label": network.agency(agency),
                "referrals": records,
                "escalations": [labelled(e, network) for e in escalations],
                "discoveries": [labelled(d, network) for d in discoveries],
                "parked": parked,
                "expired": expired,
            }
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        elif fmt is Format.csv:  # a cell a value: what was disclosed, flat as the table has it
            flat = [
                {**record, "disclosed": _disclosed_text(r, "; ", ""), "withheld": _withheld(r)}
                for record, r in zip(records, referrals, strict=True)
            ]
            emit(fmt, flat, (*INBOX_COLUMNS, "disclosed", "withheld"))
        else:
            emit(fmt, records, INBOX_COLUMNS)
        return
    referral_ids = short_ids(r["referral_id"] for r in referrals)
    case_ids = short_ids([r["case_id"] for r in referrals] + [e["case_id"] for e in escalations])
    title = f"{network.agency(agency)}（{agency}）の受信箱"
    if not referrals:
        # A header over no rows reads as a fault: say so, then what else there is. Two lines:
        # a long name and id on one with the words would wrap at 80 columns mid-name.
        output_console(wide).print(f"{title}\n紹介はまだありません")
    table = Table(title=title, title_justify="left", show_lines=True)
    add_id_column(table, "紹介", wide)
    add_id_column(table, "事例", wide)
    table.add_column("受付", overflow="fold")
    table.add_column("緊急度・目的", overflow="fold")
    table.add_column("状態", overflow="fold")
    table.add_column("根拠", overflow="fold")
    table.add_column("提供された情報", overflow="fold")
    for r in referrals:
        table.add_row(
            r["referral_id"] if wide else referral_ids[r["referral_id"]],
            r["case_id"] if wide else case_ids[r["case_id"]],
            f"{jst_text(r['referred_at']) or '-'}\n{network.ward(r['ward']) or '-'}",
            f"{label('urgency', r['urgency']) or '-'}\n{label('purpose', r['purpose']) or '-'}",
            _status_text(r),
            _basis_text(r),
            _disclosed_text(r),
        )
    if referrals:
        output_console(wide).print(table)
    if escalations:
        late = Table(title="督促（応答期限超過）", title_justify="left")
        add_id_column(late, "紹介", wide)
        add_id_column(late, "事例", wide)
        late.add_column("紹介先", overflow="fold")
        late.add_column("超過", justify="right", no_wrap=True)
        late.add_column("督促", overflow="fold")
        for e in escalations:
            late.add_row(
                e["referral_id"] if wide else (e["referral_id"] or "")[:SHORT],
                e["case_id"] if wide else case_ids.get(e["case_id"], e["case_id"]),
                network.agency(e["agency_id"]),
                f"{e['overdue_minutes']}分",
                jst_text(e["escalated_at"]),
            )
        output_console(wide).print(late)
    if discoveries:
        _print_discoveries(discoveries, network, wide)
    if parked:
        err.print(
            f"保留 {parked} 件 / {parked} record(s) parked on "
            f"{topics.deadletter(settings, agency)} (why: hub quarantine list --agency {agency})"
        )
        err.print(
            f"クライアントの更新後に適用 / once the client is upgraded, hub agency retry "
            f"--agency {agency} applies them"
        )
    if expired:
        err.print(
            f"未適用のまま失われた記録 {expired} 件 / "
            f"{expired} parked record(s) were no longer on the broker when retried "
            "(retention, or the topic was made again) and were never applied "
            f"(hub quarantine list --agency {agency})"
        )


def _print_discoveries(discoveries: list[dict[str, Any]], network: Names, wide: bool) -> None:
    """A ward coordinator's notices of discoveries (発見の通報): never the person."""
    ids = short_ids(d["discovery_id"] for d in discoveries)
    table = Table(title="発見の通報", title_justify="left", show_lines=True)
    add_id_column(table, "通報", wide)
    table.add_column("受付", overflow="fold")
    table.add_column("緊急度・通報者", overflow="fold")
    table.add_column("兆候", overflow="fold")
    for d in discoveries:
        urgency = label("urgency", d["urgency"]) + ("（消去済み）" if d["erased"] else "")
        table.add_row(
            d["discovery_id"] if wide else ids[d["discovery_id"]],
            f"{jst_text(d['reported_at'])}\n{network.ward(d['ward']) or '-'}",
            f"{urgency}\n{label('reporter_kind', d['reporter_kind'])}",
            "、".join(label("sign", s) for s in d["signs"]) or "-",
        )
    output_console(wide).print(table)


INBOX_COLUMNS = (
    "referral_id", "case_id", "referred_at", "urgency", "urgency_label", "ward", "ward_label",
    "purpose", "purpose_label", "status", "status_label", "status_at", "status_reason",
    "status_reason_label", "escalated", "basis", "basis_label",
)  # fmt: skip


def ack(
    referral: Annotated[str, typer.Argument(help="Referral id (or a unique prefix).")],
    answer: Annotated[
        str,
        typer.Argument(help="received, accepted, in_progress, on_hold, declined or completed."),
    ],
    agency: AgencyOpt,
    reason: Annotated[
        str | None,
        typer.Option(
            help="Why, in words (beside --reason-code); - reads it from stdin (free text about "
            "a person on the command line is readable by every user of the host)."
        ),
    ] = None,
    reason_code: Annotated[
        str | None,
        typer.Option(
            help="Why declined: `hub ref codes decline_reason` (a decline needs it or --reason)."
        ),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(help="How a completion ended: `hub ref codes outcome`."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="When the answer was given (ISO 8601; no zone means JST), for a late entry; "
            "default now.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(help="Send even if the inbox says the answer is not allowed now."),
    ] = False,
) -> None:
    """Answer a referral of the inbox: the answer travels on the agency's reply topic."""
    settings = get_settings()
    reason = reason_text(reason, settings)
    credentials(settings, _known_agency(agency))  # a public secret is refused first
    if not wiring.inbox_kept(settings, agency):  # a typo makes no inbox file
        _note_if_unshipped(agency)
        raise NotFoundError(f"no referral {referral} in this agency's inbox (it holds none)")
    inbox = wiring.open_inbox(settings, agency)
    try:
        answered_at = parse_time(at) if at is not None else None
        check_choice("answer", answer, list(ANSWERS))
        check_choice("--reason-code", reason_code, list(codes("decline_reason")))
        check_choice("--outcome", outcome, list(codes("outcome")))
        send_answer(
            inbox,
            settings,
            agency,
            referral,
            answer,
            reason,
            force=force,
            at=answered_at,
            reason_code=reason_code,
            outcome=outcome,
        )
    finally:
        inbox.close()


def reason_text(reason: str | None, settings: Settings) -> str | None:
    """The answer's free text (a personal field of ``ReferralAnswered``): ``-`` reads it from
    stdin; outside development mode, given as an argument it is refused, as ``hub command``
    refuses a person's details there (``ps`` shows a process's arguments to every user)."""
    if reason == "-":
        return sys.stdin.read().removeprefix("\ufeff").strip() or None
    if reason and settings.mode != "development":
        raise DetailsOnCommandLineError(
            "--reason: free text about a person is refused as an argument in production mode "
            "(every user of the host can read a process's arguments): --reason - < FILE"
        )
    return reason


def send_answer(
    inbox: Inbox,
    settings: Settings,
    agency: str,
    referral: str,
    answer: str,
    reason: str | None,
    force: bool = False,
    at: datetime | None = None,
    reason_code: str | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """Send an answer on the agency's reply topic and note it in the inbox. ``at`` is when
    the answer was given (a late entry counts at that instant); now when not given."""
    # Its credentials first: a public secret is refused before the inbox is read.
    user, password = credentials(settings, agency)
    found = find_referral(inbox, referral)
    if not force:
        check_answer(found, answer)
    record = reply_record(
        agency, found, answer, reason, answered_at=at, reason_code=reason_code, outcome=outcome
    )
    writer = KafkaWriter(settings, user, password)
    # The answer continues the referral's trace (docs/TRACING.md), when it came with one.
    with tracing.span(
        f"reply {answer}", inbox.trace_of(record["referral_id"]), kind=SpanKind.PRODUCER
    ):
        try:
            writer.send(
                topics.replies(settings, agency),
                codec.encode("ReferralReply", record),
                key=record["case_id"].encode(),
                headers=tracing.with_header(
                    [
                        ("event_id", record["reply_id"].encode()),
                        ("event_type", b"ReferralReply"),
                    ]
                ),
            )
        finally:
            writer.close()
    inbox.record_reply(record["reply_id"], record["referral_id"], answer, record["answered_at"])
    out.print(
        f"{label('referral_status', answer)}を送信 / {answer} sent for referral "
        f"{record['referral_id']} (reply {record['reply_id']})"
    )
    return record


def _escalate(timer: EscalationTimer) -> None:
    for escalation in timer.tick(datetime.now(UTC)):
        if not escalation.outcome.duplicate:
            case = ", ".join(str(a) for a in escalation.outcome.aggregate_ids)
            err.print(f"escalated: referral {escalation.referral_id} (case {case})")


def run_replies(
    once: OnceOpt = False,
    timers: Annotated[
        bool | None,
        typer.Option(
            "--timers/--no-timers",
            help="Also run the acknowledgement timers after each poll "
            "(default: when following, not with --once).",
            show_default=False,
        ),
    ] = None,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Ingest agencies' answers from replies.* as AnswerReferral commands (as principal hub)."""
    if timers is None:
        timers = not once
    settings = get_settings()
    app = wiring.open_application(settings)
    ingester = wiring.open_reply_ingester(settings, app)
    timer = wiring.escalation_timer(app)
    stop = StopFlag()
    server = None
    try:
        server = wiring.serve_metrics(
            settings, metrics_port, lambda: wiring.reply_metrics(app, ingester, measured=True)
        )
        if not once:
            heap.settle()
            err.print(
                f"replies: following {topics.replies(settings, '*')}"
                f"{', with the acknowledgement timers' if timers else ''}; Ctrl-C to stop"
            )
        with stop_on_signals(stop):
            report = ingester.run(
                stop, once=once, tick=(lambda: _escalate(timer)) if timers else None
            )
    finally:
        if server is not None:
            server.shutdown()
        ingester.close()
        app.close()
    err.print(
        f"replies: {report.applied} applied, {report.duplicates} already applied, "
        f"{report.rejected} rejected "
        f"(on {topics.deadletter(settings, topics.REPLIES_DEADLETTER)})"
    )


def run_escalations(
    once: OnceOpt = False,
    interval: Annotated[float, typer.Option(help="Seconds between scans.")] = 30.0,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Escalate referrals unanswered past their deadline to the ward's coordinator."""
    settings = get_settings()
    app = wiring.open_application(settings)
    timer = wiring.escalation_timer(app)
    stop = StopFlag()
    server = None
    try:
        server = wiring.serve_metrics(
            settings, metrics_port, lambda: wiring.referral_metrics(app, measured=True)
        )
        with stop_on_signals(stop):
            while True:
                _escalate(timer)
                if once:
                    break
                deadline = time.monotonic() + interval
                while time.monotonic() < deadline and not stop.requested:
                    time.sleep(0.2)
                if stop.requested:
                    break
    finally:
        if server is not None:
            server.shutdown()
        app.close()


def register(app: typer.Typer) -> None:
    agency_app.command("run")(run_agency)
    agency_app.command("inbox")(show_inbox)
    agency_app.command("ack")(ack)
    agency_app.command("retry")(retry_parked)
    replies_app.command("run")(run_replies)
    escalations_app.command("run")(run_escalations)
    app.add_typer(agency_app, name="agency")
    app.add_typer(replies_app, name="replies")
    app.add_typer(escalations_app, name="escalations")
