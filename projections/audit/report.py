"""The one-page audit report: what was shared, on which basis, and whether it all holds."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.fiscal import JST, wareki_date
from hub.labels import label
from projections.audit.access import Access, Search
from projections.audit.breakglass import ReviewItem, review_list
from projections.audit.history import History
from projections.audit.tamper import LogVerdict
from projections.audit.verify import Disclosure, Verdict

BASIS_LABELS = {
    "consent": "本人同意 (consent)",
    "support_meeting": "支援会議 社会福祉法106条の6 (support_meeting)",
    "vital_interest": "生命・身体の保護 個人情報保護法27条1項2号 (vital_interest)",
    "statute": "法令に基づく場合 (statute)",
}


@dataclass(frozen=True)
class Period:
    start: datetime | None
    end: datetime | None

    def holds(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def label(self) -> str:
        """The two ends in JST (ISO 8601 with +09:00), whatever zone they were typed in."""
        start = self.start.astimezone(JST).isoformat() if self.start else "the beginning of the log"
        end = self.end.astimezone(JST).isoformat() if self.end else "its end"
        return f"{start} – {end}"


def render_report(
    history: History,
    disclosures: list[Disclosure],
    verdict: Verdict,
    log: LogVerdict,
    period: Period,
    generated_at: datetime,
    reads: Sequence[Access] = (),
    quarantined: Sequence[Mapping[str, Any]] = (),
    searches: Sequence[Search] = (),
    every_subject: bool = False,
    witness: str | None = None,
) -> list[str]:
    """The report's lines; ``every_subject`` names every subject who acted, read or
    searched (``hub audit report --every-subject``), not only the ``TOP`` of each;
    ``witness`` says what the chain was checked against (None: the store alone)."""
    top = None if every_subject else TOP
    # A malformed record has no instant to place it by: every period's report shows it.
    shown = [d for d in disclosures if period.holds(d.occurred_at) or d.malformed]
    by_basis = Counter(d.basis for d in shown)
    by_agency = Counter(d.agency_id for d in shown)
    given = [c for c in history.consents.values() if period.holds(c.given_at)]
    withdrawn = [
        c for c in history.consents.values() if c.withdrawn_at and period.holds(c.withdrawn_at)
    ]
    refused = [r for r in history.refusals if period.holds(r.refused_at)]
    stops = [s for s in history.use_stops if period.holds(s.requested_at)]
    meetings = Counter(kind for kind, at in history.meetings_held.values() if period.holds(at))
    refuted = [
        r
        for r in verdict.refuted
        if period.holds(r.disclosure.occurred_at) or r.disclosure.malformed
    ]
    lines = [
        "監査報告 Audit report — いのちをつなぐネットワーク information-sharing hub",
        f"期間 period: {period.label()}",
        "  (business time, end excluded)",  # its own line: two instants fill the first
        # The day in 和暦 too, as a city office dates what it signs.
        f"作成 generated: {generated_at.isoformat(timespec='seconds')}"
        f"（{wareki_date(generated_at.astimezone(JST).date())}）",
        f"  log of record up to position {history.last_position}",
        "",
        f"提供 disclosures: {len(shown)}",
    ]
    lines += [f"  {BASIS_LABELS.get(b, b)}: {n}" for b, n in sorted(by_basis.items())]
    lines.append("  提供先別 by agency:")
    lines += [
        line for agency, n in sorted(by_agency.items()) for line in _agency(history, agency, n)
    ]
    lines += [
        "",
        f"同意 consents: given {len(given)}, refused {len(refused)}, withdrawn {len(withdrawn)}",
        f"利用停止 use-stop requests: {len(stops)} (consent no longer releases; "
        "legal bases continue)",
        "開催した会議 meetings held:",
        f"  つながりづくり会議 (connection) {meetings.get('connection', 0)}",
        f"  重層的支援会議 (support) {meetings.get('support', 0)}",
        "",
    ]
    lines += [*_break_glass(history, disclosures, period), ""]
    lines += (
        _who_acted(history, period, top)
        + _reads(reads, period, top)
        + _searches(searches, period, top)
        + [""]
    )
    if refuted:
        lines.append(
            f"根拠の検証 verify: {len(refuted)} of {len(shown)} disclosures had NO valid basis:"
        )
        lines += [line for r in refuted for line in item_lines(r.line())]
    else:
        lines.append(f"根拠の検証 verify: every one of {len(shown)} disclosures had a valid basis")
    if log.intact:
        lines.append(f"改ざん検証 verify-log: intact ({log.events} events, {log.links} links)")
    else:
        first = log.first
        assert first is not None
        lines += [
            f"改ざん検証 verify-log: BROKEN, {len(log.findings)} finding(s); the first:",
            *item_lines(first.line()),
        ]
    lines += item_lines(witness or STORE_ALONE)
    if log.head is not None:
        lines += [
            "チェーンの先頭 chain head (write it down for `hub audit verify-log --anchor`):",
            f"  {log.head.notification_id}:{log.head.chain_hash}",
        ]
    lines += ["", *_quarantine_lines(quarantined)]
    lines += [
        "",
        "監査担当 auditor: ____________________",
        "日付 date: ____________    署名 signature: ____________",
    ]
    return lines


# An "intact" verify-log line must not read as the whole check: a log cut short, or
# rewritten with its chain, holds against itself and shows only against the witness.
STORE_ALONE = (
    "保存された記録のみ、証人とは照合せず / the store alone, not against the head the relay "
    "witnessed on audit.consent (`hub audit verify-log` checks it)"
)
TOP = 10  # subjects listed by name in each section; the rest are counted
EVERY_SUBJECT = "hub audit report --every-subject"  # the command that names the rest


def _named(by: Counter[str], top: int | None) -> list[str]:
    """The subjects of a section, the most active first: the ``top`` of them, then a line
    counting the others and naming the command that lists each (never silently cut)."""
    lines = [f"  {subject}: {n}" for subject, n in by.most_common(top)]
    if top is not None and len(by) > top:
        lines.append(f"  … {len(by) - top} more (`{EVERY_SUBJECT}` names each)")
    return lines


def _agency(history: History, agency_id: str, count: int) -> list[str]:
    """An agency by its name (機関名) as the history's network records it, then its id; the
    id and count on a line of their own when both do not fit ``WIDTH``."""
    network = history.network
    found = network.agencies.get(agency_id) or network.retired.get(agency_id)
    if found is None:  # a log from before the network was on it, or a malformed record
        return [f"    {agency_id}: {count}"]
    line = f"    {found.name} — {agency_id}: {count}"
    if _columns(line) <= WIDTH:
        return [line]
    return [f"    {found.name}", f"      {agency_id}: {count}"]


def _who_acted(history: History, period: Period, top: int | None = TOP) -> list[str]:
    """Events of the period by who recorded them (consents, meetings, emergencies named)."""
    events = [
        e
        for e in history.events.values()
        if period.holds(e.occurred_at) and e.event_type not in _NOT_ACTS
    ]
    by = Counter(e.acted_by or "(not recorded)" for e in events)
    lines = [f"記録者 who acted: {len(events)} events by {len(by)} subjects"]
    lines += _named(by, top)
    decisions = Counter(
        (e.event_type, e.acted_by or "(not recorded)") for e in events if e.event_type in _DECISIONS
    )
    if decisions:
        lines.append("  consent, meeting and emergency events by who recorded them:")
        lines += [
            f"    {kind} — {subject}: {n}" for (kind, subject), n in sorted(decisions.items())
        ]
    return lines


# Receipts repeat a command's actor; reads are listed on their own below.
_NOT_ACTS = frozenset({"CommandAccepted", "PersonalDataAccessed", "PeopleSearched"})
_DECISIONS = frozenset(
    {
        "ConsentGiven",
        "ConsentRefused",
        "ConsentWithdrawn",
        "UseStopRequested",
        "MeetingHeld",
        "MovedToSupportMeeting",
        "EmergencyDeclared",
        "EmergencyEnded",
        "BreakGlassReviewed",
    }
)


def _break_glass(history: History, disclosures: Sequence[Disclosure], period: Period) -> list[str]:
    """The break-glass review list: declarations of the period that named sensitive data,
    and those of earlier periods still open or disclosing in it (carried over: a review
    left open must not drop off the next period's page)."""
    items, carried = [], 0
    for item in review_list(history, disclosures):
        if period.holds(item.emergency.declared_at):
            items.append(item)
        elif _carried_over(item, period):
            items.append(item)
            carried += 1
    still_open = [i for i in items if not i.closed]
    lines = [
        "緊急時の要配慮個人情報の提供 break-glass review:",
        f"  {len(items)} declaration(s), {sum(len(i.disclosures) for i in items)} "
        f"disclosure(s), {len(still_open)} open",
    ]
    if carried:
        lines.append(f"  うち前期からの繰越 carried over from before the period: {carried}")
    lines += [line for i in items for line in item_lines(i.line())]
    return lines


def _carried_over(item: ReviewItem, period: Period) -> bool:
    declared = item.emergency.declared_at
    if period.start is None or declared >= period.start:
        return False
    return not item.closed or any(period.holds(d.occurred_at) for d in item.disclosures)


def _reads(reads: Sequence[Access], period: Period, top: int | None = TOP) -> list[str]:
    shown = [r for r in reads if period.holds(r.occurred_at)]
    by_basis = Counter(r.basis for r in shown)
    by_subject = Counter(f"{r.subject} ({r.role})" for r in shown)
    lines = [
        f"アクセス記録 personal data reads: {len(shown)} reads of "
        f"{len({r.case_id for r in shown})} cases by {len(by_subject)} subjects"
    ]
    if shown:
        lines.append("  (`hub audit access` lists each read)")
    # Japanese first, as every heading: the basis's label (its article), then its code.
    lines += [
        f"  根拠 {label('access_basis', basis)} {basis}: {n}"
        for basis, n in sorted(by_basis.items())
    ]
    lines += _named(by_subject, top)
    return lines


def _searches(searches: Sequence[Search], period: Period, top: int | None = TOP) -> list[str]:
    """名寄せ searches: how many, how many found nobody, by whom and which kinds of criteria."""
    made = [s for s in searches if period.holds(s.occurred_at)]
    by_subject = Counter(f"{s.subject} ({s.role}, {s.ward or '-'})" for s in made)
    by_criteria = Counter("+".join(s.criteria) for s in made)
    lines = [
        f"名寄せ searches: {len(made)} by {len(by_subject)} subjects, "
        f"{sum(1 for s in made if s.results == 0)} found nobody, "
        f"{sum(s.results for s in made)} people shown",
        "  (the terms searched are not kept; each person shown is a read above)",
    ]
    lines += [f"  criteria {kinds}: {n}" for kinds, n in sorted(by_criteria.items())]
    lines += _named(by_subject, top)
    return lines


def _quarantine_lines(quarantined: Sequence[Mapping[str, Any]]) -> list[str]:
    """Events a step kept back (invariant 9), one line per event with the steps that did."""
    if not quarantined:
        return ["処理の保留 quarantine (隔離): no event was kept back by any step"]
    steps: dict[tuple[Any, str, str], list[str]] = {}
    for row in quarantined:
        where = row.get("position") if row.get("position") is not None else row.get("where")
        steps.setdefault((where, row["event_type"], row["reason"]), []).append(row["step"])
    lines = [f"処理の保留 quarantine (隔離): {len(steps)} event(s) kept back, never published"]
    lines += [
        line
        for (where, event_type, reason), names in steps.items()
        for line in item_lines(
            f"{where} {event_type or '-'} [{', '.join(sorted(names))}]: {reason}"
        )
    ]
    return lines


WIDTH = 80  # columns of the printed page; a CJK character takes two


def item_lines(text: str) -> list[str]:
    """An item under a heading, indented and wrapped at spaces to ``WIDTH`` columns, its
    continuation lines indented further (whole ids are never split)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and _columns(f"{line} {word}") > WIDTH:
            lines.append(line)
            line = f"      {word}"
        else:
            line = f"{line} {word}" if line else f"  {word}"
    return [*lines, line]


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
