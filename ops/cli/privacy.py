"""``hub privacy``: the person's rights (docs/RIGHTS.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from hub.application import HubApplication
from hub.errors import CaseNotFoundError, ConfigurationError, InvalidCommandError
from hub.files import private_file
from hub.fiscal import JST, jst_text, now
from hub.ids import check_not_nil
from hub.keys import LocalKeyWrapper
from hub.prefixes import SHORT, echoed, id_prefix, resolve_prefix
from hub.retention import RetentionSchedule, due_cases, due_discoveries
from hub.settings import get_settings
from ops.cli._cases import named_case
from ops.cli._names import log_names
from ops.cli._output import a_path, check_output, written
from ops.cli.audit import parse_period
from ops.privacy import leak
from ops.privacy.pdf import render
from ops.privacy.subject import reported_details, subject_report
from ops.wiring import application, ledger_disclosures, open_ledger, open_projection
from projections.audit.leak import LeakImpact, assess
from projections.audit.source import log_entries
from projections.audit.subject import FIELD_LABELS, NARRATIVE_LABELS
from projections.discoveries import discoveries
from projections.erasures import erasure_view
from projections.runner import catch_up

privacy = typer.Typer(
    help="The person's rights: 本人開示, 利用停止, leak impact (docs/RIGHTS.md), "
    "消去 (docs/PRIVACY.md)."
)


@privacy.command("subject-report")
def subject_report_command(
    case: Annotated[
        str, typer.Option("--case", help="The case id of the person (or a unique prefix of it).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="The PDF to write (default subject-report-<case>.pdf).", parser=a_path
        ),
    ] = None,
) -> None:
    """本人開示: a PDF in Japanese of what the hub holds on the person and every use of it."""
    case_id = UUID(named_case(case))
    path = out or Path(f"subject-report-{case_id}.pdf")
    check_output(path)  # before the read, which the access log records
    if path.exists() and not path.is_file():
        # The PDF is made 0600 (it holds the person's details): a device such as /dev/null
        # or a pipe cannot be, and would pass them on.
        raise InvalidCommandError(f"--out {str(path)!r} is not a regular file")
    # The file made (0600) before the read too: one the system refuses (a link to nothing,
    # a folder no file can be made in) is refused with nothing read, and no read logged
    # that produced no report.
    existed = path.exists()
    written(path, lambda: private_file(path))
    try:
        settings = get_settings()
        disclosures = ledger_disclosures(settings)
        position = open_ledger(settings).position()
        with application(settings) as app:
            report = subject_report(app, case_id, disclosures, ledger_position=position)
            recorded = app.records_reads(case_id) or bool(reported_details(app, case_id))
        written(path, lambda: private_file(path).write_bytes(render(report)))
    except BaseException:
        if not existed:  # no empty report left behind
            path.unlink(missing_ok=True)
        raise
    read = "the read is in the access log" if recorded else "no personal detail was read or logged"
    # The path on a line of its own: the default name holds the case id a second time.
    typer.echo(f"本人開示 {case_id}:\n  {path}\n  (0600; {read})")


@privacy.command("erase")
def erase_command(
    decided_by: Annotated[
        str, typer.Option("--decided-by", help="Who decided the erasure (office or officer).")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (e.g. 保存期間満了); no personal data.")
    ],
    case: Annotated[
        str | None,
        typer.Option("--case", help="The case id of the person, or a unique prefix of 8 or more."),
    ] = None,
    discovery: Annotated[
        str | None,
        typer.Option(
            "--discovery",
            help="A discovery never linked to a case: its id, or a unique prefix of 8 or more.",
        ),
    ] = None,
) -> None:
    """消去: records the decision and destroys the person's data keys (docs/PRIVACY.md)."""
    if (case is None) == (discovery is None):
        raise InvalidCommandError("give exactly one of --case and --discovery")
    if case is not None:
        _erase_case(case, decided_by, reason)
    elif discovery is not None:
        _erase_discovery(discovery, decided_by, reason)


def _erase_case(case: str, decided_by: str, reason: str) -> None:
    case_id = UUID(named_case(case))  # naming no case is not found, as for any command
    if id_prefix(case) and len(case.strip()) < SHORT:
        # An erasure is not undone: a few characters that happen to be unique today name
        # someone by chance, so a prefix is as long as the tables print one, as --discovery's.
        raise InvalidCommandError(
            f"--case: give the case id or a prefix of {SHORT} or more characters: {case!r}"
        )
    with application(get_settings()) as app:
        subjects = app.erase_person(case_id, decided_by=decided_by, reason=reason)
        plain = bool(app.held_in_plain(subjects))
    typer.echo(
        f"消去 erased {case_id}: {len(subjects)} data key(s) destroyed; its personal fields "
        "now read as ［消去済み］"
    )
    _note_if_unsealed(plain)


def _note_if_unsealed(plain: bool) -> None:
    """A log that holds the details in plain keeps them in its events: no key disposes of
    them. Development's unsealed store writes such events; a release before sealing did too."""
    if not get_settings().seals_personal:
        typer.echo(
            "Note: HUB_SEAL_PERSONAL=false: details this store holds in plain stay in its "
            "events; reads show them erased, the bytes are unchanged (docs/PRIVACY.md)",
            err=True,
        )
    elif plain:
        typer.echo(
            "Note: events stored before sealing hold these details in plain and keep them; "
            "reads show them erased, the bytes are unchanged (docs/PRIVACY.md)",
            err=True,
        )


def _erase_discovery(discovery: str, decided_by: str, reason: str) -> None:
    with application(get_settings()) as app:
        discovery_id = _discovery_id(app, discovery)
        subject = app.erase_discovery(discovery_id, decided_by=decided_by, reason=reason)
        plain = bool(app.held_in_plain([subject]))
    typer.echo(
        f"消去 erased discovery {discovery_id}: its data key destroyed; its personal fields "
        "now read as ［消去済み］"
    )
    _note_if_unsealed(plain)


def _discovery_id(app: HubApplication, text: str) -> UUID:
    """A discovery's id, from the id or a unique prefix of 8 or more characters of it (an
    erasure is not undone: a shorter prefix is refused even when it is unique)."""
    check_not_nil(text, "--discovery")
    try:
        return UUID(text)
    except ValueError:
        pass
    if len(text.strip()) < SHORT or not all(ch in "0123456789abcdef-" for ch in text.lower()):
        raise InvalidCommandError(
            f"--discovery: neither a discovery id nor a prefix of {SHORT} or more: {echoed(text)}"
        )
    return UUID(resolve_prefix(text, discoveries(app), "discovery"))


@privacy.command("retention")
def retention_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day (YYYY-MM-DD, JST); default today.")
    ] = None,
) -> None:
    """保存期間: closed cases and unlinked discoveries whose retention has ended.

    A discovery is unlinked when it never joined a case; erase them with `erase`."""
    try:
        on = date.fromisoformat(as_of) if as_of else now().astimezone(JST).date()
    except ValueError:
        raise InvalidCommandError(
            f"--as-of must be a date like 2031-04-01, not {as_of!r}"
        ) from None
    settings = get_settings()
    schedule = RetentionSchedule(closed_case_years=settings.retention_closed_case_years)
    with application(settings) as app:
        view = open_projection(settings, "case_state")
        catch_up(view, app)
        due = [
            d
            for d in due_cases(view.view.cases(), schedule, on)
            if not app.data_keys.is_destroyed(d.case_id)
        ]
        found = discoveries(app).values()
        due_found = [
            d
            for d in due_discoveries(found, schedule, on)
            if not app.data_keys.is_destroyed(d.discovery_id)
        ]
    typer.echo(
        f"保存期間 retention: details kept {schedule.closed_case_years} "
        f"{'year' if schedule.closed_case_years == 1 else 'years'} after the last "
        "record\n  (closed cases, and discoveries never linked to a case)\n"
        f"due on {on.isoformat()}: {len(due)} case(s), {len(due_found)} discovery(ies)"
    )
    ward = log_names().ward
    # Two lines each: an id, a ward and both dates on one line run past 80 columns.
    for d in due:
        typer.echo(f"  {d.case_id}  {ward(d.ward)}")
        typer.echo(f"      最終記録 {d.last_record}  期限 {d.due_on}")
    for found_due in due_found:
        typer.echo(f"  {found_due.discovery_id}  {ward(found_due.ward)}  発見報告 --discovery")
        typer.echo(f"      最終記録 {found_due.last_record}  期限 {found_due.due_on}")


PREVIOUS_KEK = "HUB_KEK_PREVIOUS"


@privacy.command("rotate-kek")
def rotate_kek_command() -> None:
    """Wrap every person's data key with a new key-encryption key (HUB_KEK).

    Stop every process of the hub first; give this the new key as HUB_KEK and the one it
    replaces as HUB_KEK_PREVIOUS. The data keys, and so the sealed log, stay as they are;
    only their wrapping changes, in one transaction. Run again, it wraps nothing twice.
    Start the processes again with the new HUB_KEK (a backup made before still needs the
    previous one)."""
    previous = os.environ.get(PREVIOUS_KEK, "")
    if not previous.strip():
        raise ConfigurationError(
            f"{PREVIOUS_KEK} is missing: give it the key-encryption key the store's data keys "
            "are wrapped with now, and HUB_KEK the new one"
        )
    settings = get_settings()
    if previous == settings.key_encryption_secret():
        raise ConfigurationError(f"{PREVIOUS_KEK} is HUB_KEK: choose a new HUB_KEK to rotate to")
    with application(settings) as app:
        done = app.rewrap_data_keys(LocalKeyWrapper(previous.encode()))
    typer.echo(
        f"鍵の更新 rotate-kek: {done.rewrapped} data key(s) wrapped with the new HUB_KEK, "
        f"{done.already} already, {done.destroyed} erased (no key)"
    )
    typer.echo(
        "ハブの全プロセスを新しい HUB_KEK で起動し直してください / "
        "start every process of the hub again with the new HUB_KEK"
    )


@privacy.command("erasures")
def erasures_command(
    pending: Annotated[
        bool, typer.Option("--pending", help="Only agencies that have not confirmed yet.")
    ] = False,
) -> None:
    """消去の確認: each erased case, the agencies told of it, and which confirmed clearing it."""
    with application(get_settings()) as app:
        view = erasure_view(log_entries(app))
    listed = view.listed(pending_only=pending)
    waiting = sum(len(e.pending) for e in listed)
    network = log_names()
    typer.echo(f"消去の確認 erasure confirmations: 消去 {len(listed)} 件、未確認 {waiting} 機関")
    for erasure in listed:
        typer.echo(f"事例 {erasure.case_id}  消去 {jst_text(erasure.erased_at)}")
        if not erasure.notified:
            typer.echo("  （通知先なし no agency was told）")
        for agency in erasure.notified:
            confirmed = erasure.confirmed.get(agency)
            # The agency on a line of its own: its id and name alone fill most of 80 columns.
            if confirmed is not None and not pending:
                typer.echo(f"  確認済み confirmed  {jst_text(confirmed)}")
            elif confirmed is None:
                typer.echo("  未確認   pending")
            else:
                continue
            # Its name first (機関名), as every list of the hub; the id beside it.
            typer.echo(f"    {network.agency(agency)}（{agency}）")


FIELD_NAMES = {**FIELD_LABELS, **NARRATIVE_LABELS}
_ORDER = {name: n for n, name in enumerate(FIELD_NAMES)}


def _in_form_order(paths: Iterable[str]) -> list[str]:
    """The last part of each path, in the order a form lists them (unknown ones last)."""
    last = {p.rsplit(".", 1)[-1] for p in paths}
    return sorted(last, key=lambda name: (_ORDER.get(name, len(_ORDER)), name))


@privacy.command("leak-impact")
def leak_impact_command(
    topic: Annotated[str | None, typer.Option("--topic", help="A Kafka topic that leaked.")] = None,
    inbox: Annotated[
        Path | None,
        typer.Option(
            "--inbox",
            help="An agency client's inbox file that leaked.",
            parser=a_path,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="A copy of the SQLite store that leaked.",
            parser=a_path,
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Records from this instant (ISO 8601; JST).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Records before this instant.")] = None,
    unlawful: Annotated[
        bool, typer.Option("--unlawful", help="It may have been for an unlawful purpose (第3号).")
    ] = False,
    property_damage: Annotated[
        bool, typer.Option("--property-damage", help="Misuse may cause property damage (第2号).")
    ] = False,
    show_names: Annotated[
        bool, typer.Option("--show-names", help="Show names too (needs --purpose; logged).")
    ] = False,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Why names are shown: person_request or audit."),
    ] = None,
) -> None:
    """漏えい等の影響: who and what a leaked copy exposes, and whether to report it.

    The people and fields a copy exposes, and whether the city must report to the
    個人情報保護委員会 (個人情報保護法第68条, 規則第43条)."""
    sources = [s for s in (topic, inbox, store) if s is not None]
    if len(sources) != 1:
        raise InvalidCommandError("name exactly one of --topic, --inbox, --store")
    if show_names and purpose not in ("person_request", "audit"):
        raise InvalidCommandError("--show-names needs --purpose person_request or audit")
    first, last = parse_period(start, end, "--from/--to")
    settings = get_settings()
    unreadable: list[int] = []
    if topic is not None:
        leaked = leak.from_topic(settings, topic, unreadable)
        where = f"topic {topic}"
    elif inbox is not None:
        leaked, where = leak.from_inbox(inbox), f"inbox {inbox}"
    else:
        assert store is not None
        leaked, where = leak.from_store(store), f"store copy {store}"
    impact = assess(leaked, first, last)
    names = _names(impact, settings, purpose) if show_names and purpose else {}
    lines = leak_lines(impact, where, first, last, unlawful, property_damage, names, unreadable)
    for line in lines:
        typer.echo(line)
    if any(UNDETERMINED in line for line in lines):
        raise typer.Exit(1)  # no verdict: a check that could not be made


def _names(impact: LeakImpact, settings: Any, purpose: str) -> dict[str, str]:
    """Names from the hub's store, each read recorded in the access log first."""
    found = {}
    with application(settings) as app:
        for person in sorted(impact.people):
            try:
                # Only the name is shown: the access record names it alone.
                details = app.read_person(
                    UUID(person), None, "official_duty", purpose, only=("name",)
                )
            except CaseNotFoundError:
                continue  # a discovery, or a case this store does not hold
            # Any other refusal (no one to act as, a key that does not unwrap, the store
            # away) stops here: left out, a name would read as one the store does not hold.
            if details is not None and details.name:
                found[person] = details.name
    return found


UNDETERMINED = "判定できません UNDETERMINED（読めない記録あり）"


def leak_lines(
    impact: LeakImpact,
    where: str,
    start: datetime | None,
    end: datetime | None,
    unlawful: bool,
    property_damage: bool,
    names: dict[str, str],
    unreadable: Sequence[int] = (),
) -> list[str]:
    span = f"{jst_text(start) if start else '最初'} – {jst_text(end) if end else '最後'}"
    people = sorted(impact.people.values(), key=lambda p: (not p.sensitive, p.person))
    lines = [
        f"漏えい等の影響 leak impact — {where}",
        f"期間 period: {span} (business time, end excluded)",
        f"記録 records: {impact.records}; 本人 people: {len(people)} "
        f"(要配慮 sensitive: {sum(p.sensitive for p in people)})",
    ]
    if unreadable:  # their content is unknown: not counted above, and not to be forgotten
        more = " …" if len(unreadable) > 10 else ""
        lines += [
            f"読めない記録 unreadable records: {len(unreadable)}: not assessed, content unknown",
            f"  offsets: {', '.join(map(str, unreadable[:10]))}{more}",
        ]
    lines += ["", "ケース    要配慮  項目 fields"]
    for p in people:
        # Short labels (the ● column flags 要配慮), four a line: readable at 80 columns.
        labels = list(
            dict.fromkeys(FIELD_NAMES.get(f, f).split("（")[0] for f in _in_form_order(p.fields))
        )
        chunks = ["、".join(labels[i : i + 4]) for i in range(0, len(labels), 4)] or ["-"]
        name = f"  {names[p.person]}" if p.person in names else ""
        lines.append(f"{p.person[:8]}  {'●' if p.sensitive else '-'}     {chunks[0]}{name}")
        lines += [f"{'':16}{chunk}" for chunk in chunks[1:]]
    thresholds = impact.thresholds(unlawful=unlawful, property_damage=property_damage)
    met = [t for t in thresholds if t.met]
    # Not 不要 while records went unread: what they held may meet a threshold.
    verdict = "必要 REQUIRED" if met else (UNDETERMINED if unreadable else "不要 not required")
    lines += [
        "",  # the verdict first, its law on a line of its own: within 80 columns
        f"個人情報保護委員会への報告: {verdict}",
        "  (個人情報保護法第68条第1項, 規則第43条)",
    ]
    lines += [f"  [{'該当' if t.met else ' - '}] {t.item}: {t.why}" for t in thresholds]
    if met:
        lines += [
            "  速報: 知った日から概ね3〜5日以内; 確報: 30日以内 (第3号に該当すれば60日以内);",
            "  本人への通知も必要 (第68条第2項)",
        ]
    return lines


def register(app: typer.Typer) -> None:
    app.add_typer(privacy, name="privacy", no_args_is_help=True)
