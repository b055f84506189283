"""``hub audit``: replay consent as of an instant, list and verify disclosures, check the log.

Times are ISO 8601; a time without a zone is read as JST.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.application import HubApplication
from hub.bootstrap import open_application
from hub.errors import ConfigurationError, HubError, InvalidCommandError
from hub.fiscal import JST, now
from hub.settings import Settings, get_settings
from projections.audit.access import access_log
from projections.audit.history import Entry, History, replay
from projections.audit.report import Period, render_report
from projections.audit.source import log_entries
from projections.audit.tamper import Anchor, LogVerdict, verify_log
from projections.audit.verify import Disclosure, verify

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
audit = typer.Typer(
    help="Audit the hub: consent as of an instant, disclosures and their basis, tamper evidence.",
    no_args_is_help=True,
)


class HistorySource(StrEnum):
    log = "log"
    kafka = "kafka"


class DisclosureSource(StrEnum):
    ledger = "ledger"
    kafka = "kafka"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class AuditTopicConflictError(HubError):
    """The audit topic holds two different records for one event."""


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCommandError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


@contextmanager
def _app(settings: Settings) -> Iterator[HubApplication]:
    app = open_application(settings)
    try:
        yield app
    finally:
        app.close()


def log_history(settings: Settings, upto: int | None = None) -> History:
    with _app(settings) as app:
        return replay(log_entries(app, upto=upto))


def kafka_history(settings: Settings, upto: int | None = None) -> History:
    from consumers.audit import read_audit_stream

    stream = read_audit_stream(settings)
    if stream.conflicts:
        raise AuditTopicConflictError(
            f"audit.consent holds different records under one event id "
            f"({', '.join(stream.conflicts[:3])}): it was written by someone other than the relay"
        )
    return replay(
        (
            Entry(e.position, e.payload, e.event_id)
            for e in stream.events
            if upto is None or e.position <= upto
        ),
        complete=False,
    )


def ledger_disclosures(settings: Settings) -> list[Disclosure]:
    from producers.ledger import open_ledger

    ledger = open_ledger(settings)
    return [Disclosure.from_record(row) for row in ledger.disclosures()]


def kafka_disclosures(settings: Settings) -> list[Disclosure]:
    from consumers.audit import read_audit_stream

    return [Disclosure.from_record(r) for r in read_audit_stream(settings).disclosures]


def _disclosures(source: DisclosureSource) -> list[Disclosure]:
    if source is DisclosureSource.ledger:
        return ledger_disclosures(get_settings())
    return kafka_disclosures(get_settings())


def chain_verdict(settings: Settings, anchor: Anchor | None = None) -> LogVerdict:
    with _app(settings) as app:
        if not hasattr(app.recorder, "select_links"):
            raise ConfigurationError(
                "this store has no hash chain: the application recorder is not hub.chain's "
                "(APPLICATION_RECORDER_TOPIC)"
            )
        return verify_log(app.recorder, anchor)  # type: ignore[arg-type]


# Commands ------------------------------------------------------------------------------------

AsOf = Annotated[str, typer.Option("--as-of", help="The instant (business time), ISO 8601.")]
CaseOpt = Annotated[str | None, typer.Option("--case", help="Only this case id.")]
AgencyOpt = Annotated[str | None, typer.Option("--agency", help="Only this agency id.")]


@audit.command("replay")
def replay_command(
    as_of: AsOf,
    case: CaseOpt = None,
    agency: AgencyOpt = None,
    source: Annotated[
        HistorySource, typer.Option(help="Replay the log of record or the audit.consent topic.")
    ] = HistorySource.log,
    upto: Annotated[
        int | None, typer.Option(help="Only what was recorded up to this log position.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Replay both the log and audit.consent; exit 1 when they disagree.",
        ),
    ] = False,
) -> None:
    """Consent in force, meeting memberships and emergencies in force AS OF an instant."""
    settings = get_settings()
    at = parse_time(as_of)
    if compare:
        from_kafka = kafka_history(settings, upto)
        # The topic may lag the log: compare up to what the relay has published.
        history = log_history(settings, upto or from_kafka.last_position)
        theirs = from_kafka.snapshot(at, case_id=case, agency_id=agency).view()
        if theirs != history.snapshot(at, case_id=case, agency_id=agency).view():
            err.print_json(json.dumps({"audit.consent": theirs}, ensure_ascii=False))
            out.print(
                f"replay: the log of record and audit.consent DISAGREE as of {at.isoformat()} "
                f"(up to position {from_kafka.last_position})"
            )
            raise typer.Exit(1)
        err.print(
            f"replay: the log of record and audit.consent agree as of {at.isoformat()} "
            f"(up to position {from_kafka.last_position})"
        )
    elif source is HistorySource.log:
        history = log_history(settings, upto)
    else:
        history = kafka_history(settings, upto)
    snapshot = history.snapshot(at, case_id=case, agency_id=agency)
    view = snapshot.view()
    if fmt is Format.json:
        out.print_json(json.dumps(view, ensure_ascii=False))
        return
    if fmt is Format.csv:
        raise InvalidCommandError("replay prints a table or JSON")
    out.print(
        f"as of {view['as_of']}, replayed from the "
        f"{'log of record' if source is HistorySource.log else 'audit.consent topic'} "
        f"up to position {history.last_position}"
    )
    _table(
        "consents in force",
        ["consent", "case", "scope", "purposes", "categories", "valid until", "recorded by"],
        [
            [
                c["consent_id"],
                c["case_id"],
                ",".join(c["scope"]),
                ",".join(c["purposes"]),
                ",".join(c["categories"]),
                c["valid_until"],
                c["given_by"] or "",
            ]
            for c in view["consents_in_force"]
        ],
    )
    _table(
        "meeting memberships",
        ["meeting", "kind", "case", "members", "held at", "recorded by"],
        [
            [
                m["meeting_id"],
                m["kind"],
                m["case_id"],
                ",".join(m["members"]),
                m["held_at"],
                m["recorded_by"] or "",
            ]
            for m in view["meeting_memberships"]
        ],
    )
    _table(
        "emergencies in force",
        ["declaration", "case", "agencies", "categories", "expires at", "declared by"],
        [
            [
                e["declaration_id"],
                e["case_id"],
                ",".join(e["agencies"]),
                ",".join(e["categories"]),
                e["expires_at"],
                e["declared_by"] or "",
            ]
            for e in view["emergencies_in_force"]
        ],
    )


@audit.command("disclosures")
def disclosures_command(
    case: CaseOpt = None,
    agency: AgencyOpt = None,
    between: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Two instants T1 T2: disclosures at T1 or later, before T2."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="What was held at this instant (up to it).")
    ] = None,
    source: Annotated[
        DisclosureSource, typer.Option(help="The relay's ledger table or audit.consent.")
    ] = DisclosureSource.ledger,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Every disclosure (what, to whom, on which basis), filtered."""
    found = _disclosures(source)
    if case is not None:
        found = [d for d in found if d.case_id == case]
    if agency is not None:
        found = [d for d in found if d.agency_id == agency]
    if between is not None:
        start, end = parse_time(between[0]), parse_time(between[1])
        found = [d for d in found if start <= d.occurred_at < end]
    if as_of is not None:
        until = parse_time(as_of)
        found = [d for d in found if d.occurred_at <= until]
    rows = [d.view() for d in found]
    if fmt is Format.json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
    elif fmt is Format.csv:
        typer.echo(to_csv(rows), nl=False)
    else:
        _table(
            f"{len(rows)} disclosures",
            [
                "position",
                "occurred at",
                "case",
                "agency",
                "basis",
                "basis ref",
                "categories",
                "fields",
            ],
            [
                [
                    str(r["position"]),
                    r["occurred_at"],
                    r["case_id"],
                    r["agency_id"],
                    r["basis"],
                    r["basis_ref"] or "",
                    ",".join(r["categories"]),
                    ",".join(r["fields"]),
                ]
                for r in rows
            ],
        )


@audit.command("access")
def access_command(
    case: CaseOpt = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only reads by this subject.")
    ] = None,
    between: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Two instants T1 T2: reads at T1 or later, before T2."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """The access log (アクセス記録): who was shown which person's details, when, on which
    basis and for what; each entry is an event of the hash-chained log (verify-log)."""
    period = None
    if between is not None:
        period = (parse_time(between[0]), parse_time(between[1]))
    with _app(get_settings()) as app:
        found = access_log(app, case_id=case, subject=actor, between=period)
    rows = [a.view() for a in found]
    if fmt is Format.json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
    elif fmt is Format.csv:
        typer.echo(_csv(rows, ACCESS_COLUMNS), nl=False)
    else:
        # Two lines a read, so the table stays readable at 80 columns.
        out.print(f"アクセス記録 access log: {len(rows)} reads", markup=False, highlight=False)
        for r in rows:
            out.print(
                f"{_jst(r['occurred_at'])}  {r['subject']} ({r['role']})  "
                f"根拠 {r['basis']} / 目的 {r['purpose']}\n"
                f"  事案 case {r['case_id']}: {', '.join(r['fields'])}",
                markup=False,
                highlight=False,
            )


ACCESS_COLUMNS = [
    "access_id",
    "position",
    "occurred_at",
    "case_id",
    "subject",
    "role",
    "basis",
    "purpose",
    "fields",
]


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: " ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return buffer.getvalue()


def _jst(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    columns = [
        "disclosure_id",
        "position",
        "occurred_at",
        "case_id",
        "agency_id",
        "basis",
        "basis_ref",
        "categories",
        "fields",
        "confidentiality_duty",
        "event_id",
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **{k: row[k] for k in columns},
                "categories": " ".join(row["categories"]),
                "fields": " ".join(row["fields"]),
                "basis_ref": row["basis_ref"] or "",
            }
        )
    return buffer.getvalue()


@audit.command("verify")
def verify_command(
    source: Annotated[
        DisclosureSource, typer.Option(help="Check the ledger table or the audit.consent topic.")
    ] = DisclosureSource.ledger,
    history_from: Annotated[
        HistorySource,
        typer.Option(
            "--history",
            help="Rebuild the history from the log of record, or from audit.consent alone "
            "(then purposes and statutory referrals cannot be checked).",
        ),
    ] = HistorySource.log,
) -> None:
    """Prove every disclosure had a valid basis at its instant; exit 1 listing those without."""
    settings = get_settings()
    if history_from is HistorySource.log:
        history = log_history(settings)
    else:
        history = kafka_history(settings)
    verdict = verify(history, _disclosures(source))
    bases = ", ".join(f"{b} {n}" for b, n in sorted(verdict.by_basis.items())) or "none"
    origin = "log of record" if history_from is HistorySource.log else "audit.consent topic"
    where = f"{origin} up to position {history.last_position}"
    for unchecked in verdict.unchecked:
        err.print(f"unchecked: {unchecked.line()}", markup=False, highlight=False)
    if verdict.valid:
        proven = verdict.checked - len(verdict.unchecked)
        out.print(
            f"verify: no disclosure without a valid basis; {proven} of {verdict.checked} "
            f"proven, {len(verdict.unchecked)} unchecked ({bases}); history from the {where}"
        )
        return
    for refuted in verdict.refuted:
        err.print(refuted.line(), markup=False, highlight=False)
    out.print(
        f"verify: {len(verdict.refuted)} of {verdict.checked} disclosures had NO valid basis "
        f"(history from the {where})"
    )
    raise typer.Exit(1)


@audit.command("verify-log")
def verify_log_command(
    anchor: Annotated[
        str | None,
        typer.Option(help="A head written down earlier, <position>:<hash>, that must still hold."),
    ] = None,
) -> None:
    """Recompute the log's hash chain; exit 1 naming the first broken link."""
    try:
        parsed = Anchor.parse(anchor) if anchor else None
    except ValueError as error:
        raise InvalidCommandError(str(error)) from None
    verdict = chain_verdict(get_settings(), parsed)
    head = f"{verdict.head.notification_id}:{verdict.head.chain_hash}" if verdict.head else "-"
    if verdict.intact:
        out.print(
            f"verify-log: intact, {verdict.events} events, {verdict.links} links; head {head}"
        )
        return
    first = verdict.first
    assert first is not None
    out.print(
        f"verify-log: BROKEN at notification {first.notification_id} ({first.kind}): {first.detail}"
    )
    for finding in verdict.findings[1:]:
        err.print(finding.line(), markup=False, highlight=False)
    raise typer.Exit(1)


@audit.command("seal")
def seal_command() -> None:
    """Chain the events recorded without a link after the chain's head (adopting an old log)."""
    with _app(get_settings()) as app:
        seal = getattr(app.recorder, "seal", None)
        if seal is None:
            raise ConfigurationError("this store has no hash chain recorder")
        out.print(f"sealed {seal()} events")


@audit.command("report")
def report_command(
    start: Annotated[str | None, typer.Option("--from", help="Period start (inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Period end (exclusive).")] = None,
    source: Annotated[DisclosureSource, typer.Option()] = DisclosureSource.ledger,
) -> None:
    """A one-page summary an auditor can sign."""
    history = log_history(get_settings())
    disclosures = _disclosures(source)
    verdict = verify(history, disclosures)
    period = Period(parse_time(start) if start else None, parse_time(end) if end else None)
    with _app(get_settings()) as app:
        reads = access_log(app)
    lines = render_report(
        history, disclosures, verdict, chain_verdict(get_settings()), period, now(), reads
    )
    for line in lines:
        out.print(line, markup=False, highlight=False)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit, name="audit")
