"""``hub audit``: replay consent as of an instant, list and verify disclosures, check the log.

Times are ISO 8601; a time without a zone is read as JST.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from hub import topics
from hub.chain import ChainedRecorder
from hub.errors import ConfigurationError, InvalidCommandError
from hub.fiscal import JST, jst_iso, jst_text, now
from hub.labels import Names, label, names
from hub.prefixes import short_ids
from hub.settings import get_settings
from hub.spreadsheet import spreadsheet_text
from ops.cli._cases import case_among, case_filter
from ops.cli._names import log_names
from ops.cli._output import (
    Format,
    JsonOpt,
    WideOpt,
    check_choice,
    chosen,
    console,
    emit,
    labelled,
)
from ops.usecases import refuse_empty_period
from ops.wiring import (
    application,
    chain_verdict,
    kafka_disclosures,
    kafka_history,
    ledger_disclosures,
    log_history,
    witnessed_head,
)
from projections.audit.access import access_log, search_log
from projections.audit.report import Period, item_lines, render_report
from projections.audit.tamper import Anchor
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


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCommandError(f"not an ISO 8601 time: {text!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=JST)
    try:
        moment.astimezone(JST)  # every output reads it in JST
    except OverflowError:
        raise InvalidCommandError(f"not a time that can be read in JST: {text!r}") from None
    return moment


def parse_period(
    start: str | None, end: str | None, options: str
) -> tuple[datetime | None, datetime | None]:
    """A filter's period [start, end): refused when it ends before, or as, it starts (it
    would name no instant, and an empty answer would read as "none")."""
    first = parse_time(start) if start else None
    last = parse_time(end) if end else None
    refuse_empty_period(first, last, options)
    return first, last


def _disclosures(source: DisclosureSource) -> list[Disclosure]:
    if source is DisclosureSource.ledger:
        return ledger_disclosures(get_settings())
    return kafka_disclosures(get_settings())


# Commands ------------------------------------------------------------------------------------

AsOf = Annotated[str, typer.Option("--as-of", help="The instant (business time), ISO 8601.")]
CaseOpt = Annotated[
    str | None, typer.Option("--case", help="Only this case id (or a unique prefix of it).")
]
AgencyOpt = Annotated[
    str | None, typer.Option("--agency", help="Only this agency id (`hub ref agencies`).")
]


def _names(from_log: bool) -> Names:
    """The names of the network as the log records it when the command reads the store (an
    agency registered by `hub network apply` included); the shipped names when it reads
    Kafka alone (an auditor may hold no store)."""
    return log_names() if from_log else names()


def _check_agency(agency: str | None, network: Names) -> None:
    check_choice("--agency", agency, list(network.agencies))


@audit.command("replay")
def replay_command(
    as_of: AsOf,
    case: CaseOpt = None,
    agency: AgencyOpt = None,
    source: Annotated[
        HistorySource, typer.Option(help="Replay the log of record or the audit.consent topic.")
    ] = HistorySource.log,
    upto: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=2**63 - 1,  # a position is a 64-bit integer in both stores
            help="Only what was recorded up to this log position.",
        ),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json, jsonl or csv (one row per item).")
    ] = Format.table,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
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
    fmt = chosen(fmt, as_json)
    at = parse_time(as_of)
    network = _names(source is HistorySource.log or compare)
    _check_agency(agency, network)
    named = case
    case = case_filter(named) if source is HistorySource.log or compare else None
    if compare:
        from_kafka = kafka_history(settings, upto)
        # The topic may lag the log: compare up to what the relay has published.
        history = log_history(settings, upto or from_kafka.last_position)
        theirs = from_kafka.snapshot(at, case_id=case, agency_id=agency).view()
        when = at.astimezone(JST).isoformat()  # as the table's heading: in JST
        if theirs != history.snapshot(at, case_id=case, agency_id=agency).view():
            err.print_json(json.dumps({"audit.consent": theirs}, ensure_ascii=False))
            out.print(
                f"replay: the log of record and audit.consent DISAGREE as of {when} "
                f"(up to position {from_kafka.last_position})"
            )
            raise typer.Exit(1)
        err.print(
            f"replay: the log of record and audit.consent agree as of {when} "
            f"(up to position {from_kafka.last_position})"
        )
    elif source is HistorySource.log:
        # One case: replay only what its snapshot needs (memory of one case).
        history = log_history(settings, upto, case)
    else:
        history = kafka_history(settings, upto)
        case = case_among(named, history.case_ids())
    snapshot = history.snapshot(at, case_id=case, agency_id=agency)
    view = snapshot.view()
    if fmt is Format.json:
        typer.echo(json.dumps(_labelled_view(view, network), ensure_ascii=False, indent=2))
        return
    items = [labelled(i, network) for i in _replay_items(view)]
    if fmt is Format.jsonl:
        for item in items:
            typer.echo(json.dumps(item, ensure_ascii=False))
        return
    if fmt is Format.csv:
        _csv_out(items, REPLAY_COLUMNS)
        return
    out.print(
        f"{jst_text(at, seconds=True)} 時点（"
        f"{'log of record' if source is HistorySource.log else 'audit.consent'}, "
        f"position {history.last_position} まで）"
    )
    short = short_ids([i["id"] for i in items] + [i["case_id"] for i in items])

    def shown(full: str) -> str:
        return full if wide else short.get(full, full)

    _table(
        "有効な同意 / consents in force",
        ["同意", "事例", "範囲", "目的", "情報の種類", "有効期限", "記録者"],
        [
            [
                shown(c["consent_id"]),
                shown(c["case_id"]),
                "、".join(network.agency(s) for s in c["scope"]),
                "、".join(label("purpose", p) for p in c["purposes"]),
                "、".join(label("data_category", d) for d in c["categories"]),
                jst_text(c["valid_until"]),
                c["given_by"] or "",
            ]
            for c in view["consents_in_force"]
        ],
        wide,
    )
    _table(
        "会議の構成員 / meeting memberships",
        ["会議", "種類", "事例", "構成員", "開催", "記録者"],
        [
            [
                shown(m["meeting_id"]),
                label("meeting_kind", m["kind"]),
                shown(m["case_id"]),
                "、".join(network.agency(a) for a in m["members"]),
                jst_text(m["held_at"]),
                m["recorded_by"] or "",
            ]
            for m in view["meeting_memberships"]
        ],
        wide,
    )
    _table(
        "緊急時の提供 / emergencies in force",
        ["宣言", "事例", "機関", "情報の種類", "期限", "記録者"],
        [
            [
                shown(e["declaration_id"]),
                shown(e["case_id"]),
                "、".join(network.agency(a) for a in e["agencies"]),
                "、".join(label("data_category", d) for d in e["categories"]),
                jst_text(e["expires_at"]),
                e["declared_by"] or "",
            ]
            for e in view["emergencies_in_force"]
        ],
        wide,
    )


REPLAY_COLUMNS = (
    "section", "id", "case_id", "kind", "kind_label", "scope", "scope_label", "purposes",
    "purposes_label", "categories", "categories_label", "agencies", "agencies_label",
    "valid_until", "held_at", "expires_at", "given_by", "recorded_by", "declared_by",
)  # fmt: skip
REPLAY_SECTIONS = ("consents_in_force", "meeting_memberships", "emergencies_in_force")


def _labelled_view(view: dict[str, Any], network: Names) -> dict[str, Any]:
    """The replay as the JSON outputs give it (README): times in JST, codes labelled."""
    return {
        "as_of": jst_iso(view["as_of"]),
        **{section: [labelled(r, network) for r in view[section]] for section in REPLAY_SECTIONS},
    }


def _replay_items(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The replay as one list of items, each saying which section it belongs to."""
    items: list[dict[str, Any]] = []
    for c in view["consents_in_force"]:
        items.append({"section": "consent", "id": c["consent_id"], **c})
    for m in view["meeting_memberships"]:
        items.append({"section": "meeting", "id": m["meeting_id"], "agencies": m["members"], **m})
    for e in view["emergencies_in_force"]:
        items.append({"section": "emergency", "id": e["declaration_id"], **e})
    return items


def _csv_out(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), lineterminator="\r\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                # Names hold spaces: labels are joined as Japanese lists are; a joined list
                # starts with a name (an agency's, as the network records it), text too.
                k: spreadsheet_text(
                    ("、" if k.endswith("_label") else " ").join(v) if isinstance(v, list) else v
                )
                for k, v in row.items()
                if k in columns
            }
        )
    sys.stdout.buffer.write("\ufeff".encode() + buffer.getvalue().encode("utf-8"))
    sys.stdout.flush()


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
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json, jsonl or csv (UTF-8 with a BOM).")
    ] = Format.table,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Every disclosure (what, to whom, on which basis), filtered."""
    fmt = chosen(fmt, as_json)
    network = _names(source is DisclosureSource.ledger)
    _check_agency(agency, network)
    found = _disclosures(source)
    if source is DisclosureSource.ledger:
        case = case_filter(case)
    else:
        case = case_among(case, (d.case_id for d in found))
    if case is not None:
        found = [d for d in found if d.case_id == case]
    if agency is not None:
        found = [d for d in found if d.agency_id == agency]
    if between is not None:
        start, end = parse_period(*between, "--between")
        assert start is not None and end is not None
        found = [d for d in found if start <= d.occurred_at < end]
    if as_of is not None:
        until = parse_time(as_of)
        found = [d for d in found if d.occurred_at <= until]
    rows = [_labelled_disclosure(d.view(), network) for d in found]
    if fmt is Format.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt is Format.jsonl:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
    elif fmt is Format.csv:
        sys.stdout.buffer.write("\ufeff".encode() + to_csv(rows).encode("utf-8"))
        sys.stdout.flush()
    else:
        short = short_ids(r["case_id"] for r in rows)
        refs = short_ids(r["basis_ref"] for r in rows if _is_id(r["basis_ref"]))
        _table(
            f"情報提供 {len(rows)}件 / {len(rows)} disclosures",
            ["位置", "日時", "事例", "提供先", "根拠（参照）", "情報の種類"],
            [
                [
                    str(r["position"]),
                    jst_text(r["occurred_at"]),
                    r["case_id"] if wide else short[r["case_id"]],
                    r["agency_id"] if wide else r["agency_id_label"],
                    # The reference the basis rests on (the consent, meeting or declaration
                    # by its short id, the statute by name): docs/AUDIT.md.
                    _with_ref(r["basis_label"], r["basis_ref"], {} if wide else refs),
                    "、".join(label("data_category", c) for c in r["categories"]),
                ]
                for r in rows
            ],
            wide,
        )


def _is_id(text: str | None) -> bool:
    try:
        UUID(str(text))
    except ValueError:
        return False
    return True


def _with_ref(basis: str, ref: str | None, short: dict[str, str]) -> str:
    return f"{basis}\n{short.get(ref, ref)}" if ref else basis  # an id on a line of its own


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
    fmt: Annotated[
        Format, typer.Option("--format", help="table, json, jsonl or csv (one row per read).")
    ] = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """The access log (アクセス記録): who was shown which person's details, and why.

    When, on which basis and for what; each entry is an event of the hash-chained log
    (verify-log)."""
    fmt = chosen(fmt, as_json)
    case = case_filter(case)
    if actor is not None and not actor.strip():
        # It names no one: the empty log it found would read as "no one was shown anything".
        raise InvalidCommandError("--actor: name a subject (a blank one names no one)")
    period = None
    if between is not None:
        first, last = parse_period(*between, "--between")
        assert first is not None and last is not None
        period = (first, last)
    with application(get_settings()) as app:
        found = access_log(app, case_id=case, subject=actor, between=period)
    rows = [_labelled_access(a.view()) for a in found]
    if fmt is Format.json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
    elif fmt is Format.jsonl:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
    elif fmt is Format.csv:
        emit(
            fmt,
            [
                {**r, "fields": " ".join(r["fields"]), "basis_refs": " ".join(r["basis_refs"])}
                for r in rows
            ],
            ACCESS_COLUMNS,
        )
    else:
        # Three lines a read, so the table stays readable at 80 columns (the basis's
        # Japanese label names its article of the law).
        out.print(f"アクセス記録 access log: {len(rows)} reads", markup=False, highlight=False)
        for r in rows:
            lines = [
                f"{_jst(r['occurred_at'])}  {r['subject']}（{r['role_label']}"
                f"{'・' + r['agency_id'] if r.get('agency_id') else ''}）",
                *item_lines(f"根拠 {r['basis_label']} / 目的 {r['purpose_label']}"),
                # Which consent, meeting, declaration or statute the read rested on.
                *(
                    item_lines(f"根拠の記録 basis refs: {', '.join(r['basis_refs'])}")
                    if r["basis_refs"]
                    else []
                ),
                *item_lines(f"事案 case {r['case_id']}: {', '.join(r['fields'])}"),
            ]
            out.print("\n".join(lines), markup=False, highlight=False)


ACCESS_COLUMNS = [
    "access_id",
    "position",
    "occurred_at",
    "case_id",
    "subject",
    "role",
    "role_label",
    "basis",
    "basis_label",
    "purpose",
    "purpose_label",
    "fields",
    "agency_id",
    "basis_refs",
]


def _labelled_access(row: dict[str, Any]) -> dict[str, Any]:
    """A read of the access log with ``x_label`` beside each code (README: every command)."""
    return {
        **row,
        "role_label": label("role", row["role"]),
        "basis_label": label("access_basis", row["basis"]),
        "purpose_label": label("access_purpose", row["purpose"]),
    }


def _jst(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


def _labelled_disclosure(row: dict[str, Any], network: Names) -> dict[str, Any]:
    return {
        **row,
        "occurred_at": datetime.fromisoformat(row["occurred_at"]).astimezone(JST).isoformat(),
        "agency_id_label": network.agency(row["agency_id"]),
        "basis_label": label("basis", row["basis"]),
        "categories_label": [label("data_category", c) for c in row["categories"]],
    }


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    columns = [
        "disclosure_id",
        "position",
        "occurred_at",
        "case_id",
        "agency_id",
        "agency_id_label",
        "basis",
        "basis_label",
        "basis_ref",
        "categories",
        "categories_label",
        "fields",
        "confidentiality_duty",
        "event_id",
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        cells = {
            **{k: row[k] for k in columns},
            "categories": " ".join(row["categories"]),
            "categories_label": "、".join(row["categories_label"]),
            "fields": " ".join(row["fields"]),
            "basis_ref": row["basis_ref"] or "",
        }
        # A statute's reference is text an officer typed, a name one an administrator did:
        # a cell that starts as a formula is written as text (README, output conventions).
        writer.writerow({k: spreadsheet_text(v) for k, v in cells.items()})
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
        _lines(
            "根拠の検証 verify: no disclosure without a valid basis",
            f"{proven} of {verdict.checked} proven, {len(verdict.unchecked)} unchecked",
            f"根拠 bases: {bases}",
            f"history from the {where}",
        )
        return
    for refuted in verdict.refuted:
        err.print(refuted.line(), markup=False, highlight=False)
    _lines(
        f"根拠の検証 verify: {len(verdict.refuted)} of {verdict.checked} disclosures had NO "
        "valid basis",
        f"history from the {where}",
    )
    raise typer.Exit(1)


def _lines(verdict: str, *details: str) -> None:
    """A verdict and its details under it, each its own line (80 columns, not one of 140)."""
    out.print(verdict, markup=False, highlight=False)
    for detail in details:
        out.print(f"  {detail}", markup=False, highlight=False)


@audit.command("verify-log")
def verify_log_command(
    anchor: Annotated[
        str | None,
        typer.Option(help="A head written down earlier, <position>:<hash>, that must still hold."),
    ] = None,
    witness: WitnessOpt = True,
) -> None:
    """Recompute the log's hash chain and check it against the witnessed head.

    Exit 1 names the first broken link, a cut tail (truncated) or a rewritten past
    (rewritten)."""
    try:
        # An empty --anchor (a script's "$ANCHOR" unset) is refused, not read as none given:
        # the check it asked for would silently not be made.
        parsed = Anchor.parse(anchor) if anchor is not None else None
    except ValueError as error:
        raise InvalidCommandError(str(error)) from None
    settings = get_settings()
    witnessed = witnessed_head(settings) if witness else None
    verdict = chain_verdict(settings, parsed, witnessed)
    head = f"{verdict.head.notification_id}:{verdict.head.chain_hash}" if verdict.head else "-"
    seen = _witness_said(witness, witnessed)
    if verdict.intact:
        out.print(
            f"改ざん検証 verify-log: intact, {verdict.events} events, {verdict.links} links",
            markup=False,
            highlight=False,
        )
        # Japanese first and the English after it: wrapped at 80 columns, as the report is.
        for line in [*item_lines(seen), f"  head {head}"]:
            out.print(line, markup=False, highlight=False)
        return
    first = verdict.first
    assert first is not None
    _lines(
        f"改ざん検証 verify-log: BROKEN at notification {first.notification_id} ({first.kind})",
        first.detail,
    )
    for finding in verdict.findings[1:]:
        err.print(finding.line(), markup=False, highlight=False)
    raise typer.Exit(1)


def _witness_said(witness: bool, witnessed: Anchor | None, intact: bool = True) -> str:
    """What the chain was checked against, as verify-log and the report say it; a broken
    chain's witnessed head is named, not said to hold (the finding says what broke)."""
    if not witness:
        return "証人とは照合せず / not checked against a witness (--no-witness)"
    if witnessed is None:
        audit_topic = topics.audit(get_settings())
        return (
            f"証人の先頭はまだなし、保存された記録のみ検証 / no head witnessed on {audit_topic} "
            "yet: the store alone was checked"
        )
    head = witnessed.notification_id
    if not intact:
        return f"証人の先頭 {head} と照合 / checked against the witnessed head {head}"
    return f"証人の先頭 {head} と一致 / witnessed head {head} holds"


WitnessOpt = Annotated[
    bool,
    typer.Option(
        help="Check the store against the newest chain head the relay witnessed on "
        "audit.consent (--no-witness: the store alone, e.g. without a broker)."
    ),
]


@audit.command("seal")
def seal_command() -> None:
    """Chain the events recorded without a link after the chain's head (adopting an old log)."""
    with application(get_settings()) as app:
        seal = getattr(app.recorder, "seal", None)
        if seal is None:
            raise ConfigurationError("this store has no hash chain recorder")
        sealed = seal()
        out.print(f"{sealed} 件をチェーンに連結 / sealed {sealed} events")


@audit.command("index")
def index_command(
    again: Annotated[
        bool, typer.Option("--again", help="From the first event (verify-log found rows missing).")
    ] = False,
) -> None:
    """Fill in the case index for events stored before it existed (adopting an old log).

    Then `hub audit replay --case` reads one case's rows, not the whole log."""
    with application(get_settings()) as app:
        recorder = app.recorder
        if not isinstance(recorder, ChainedRecorder):
            raise ConfigurationError("this store has no case index")
        done = recorder.index_references(again=again)
        upto = recorder.indexed_upto()
        out.print(
            f"{done} 件を索引に登録（位置 {upto} まで完全） / indexed {done} events; "
            f"the index is whole to {upto}"
        )


@audit.command("report")
def report_command(
    start: Annotated[str | None, typer.Option("--from", help="Period start (inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Period end (exclusive).")] = None,
    source: Annotated[DisclosureSource, typer.Option()] = DisclosureSource.ledger,
    every_subject: Annotated[
        bool,
        typer.Option(
            "--every-subject",
            help="Name every subject who acted, read or searched, not only the 10 most active.",
        ),
    ] = False,
    witness: WitnessOpt = True,
) -> None:
    """A one-page summary an auditor can sign."""
    period = Period(*parse_period(start, end, "--from/--to"))
    # As verify-log: a log cut short or rewritten under its chain shows only against the
    # head the relay witnessed, so the page checks it too unless told not to.
    witnessed = witnessed_head(get_settings()) if witness else None
    history = log_history(get_settings())
    disclosures = _disclosures(source)
    verdict = verify(history, disclosures)
    from ops.cli.quarantine import quarantined

    with application(get_settings()) as app:
        reads = access_log(app)
        searches = search_log(app)
    chain = chain_verdict(get_settings(), None, witnessed)
    lines = render_report(
        history,
        disclosures,
        verdict,
        chain,
        period,
        now(),
        reads,
        quarantined=quarantined(get_settings()),
        searches=searches,
        every_subject=every_subject,
        witness=_witness_said(witness, witnessed, chain.intact),
    )
    for line in lines:
        out.print(line, markup=False, highlight=False)


def _table(title: str, columns: list[str], rows: list[list[str]], wide: bool = False) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console(wide).print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit, name="audit")
