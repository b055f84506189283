"""The one-page audit report: what was shared, on which basis, and whether it all holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

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
        start = self.start.isoformat() if self.start else "the beginning of the log"
        end = self.end.isoformat() if self.end else "its end"
        return f"{start} – {end} (business time, end excluded)"


def render_report(
    history: History,
    disclosures: list[Disclosure],
    verdict: Verdict,
    log: LogVerdict,
    period: Period,
    generated_at: datetime,
) -> list[str]:
    shown = [d for d in disclosures if period.holds(d.occurred_at)]
    by_basis = Counter(d.basis for d in shown)
    by_agency = Counter(d.agency_id for d in shown)
    given = [c for c in history.consents.values() if period.holds(c.given_at)]
    withdrawn = [
        c for c in history.consents.values() if c.withdrawn_at and period.holds(c.withdrawn_at)
    ]
    refused = [r for r in history.refusals if period.holds(r.refused_at)]
    meetings = Counter(kind for kind, at in history.meetings_held.values() if period.holds(at))
    refuted = [r for r in verdict.refuted if period.holds(r.disclosure.occurred_at)]
    lines = [
        "監査報告 Audit report — いのちをつなぐネットワーク information-sharing hub",
        f"period: {period.label()}",
        f"generated: {generated_at.isoformat()}; log of record up to position "
        f"{history.last_position}",
        "",
        f"disclosures: {len(shown)}",
    ]
    lines += [f"  {BASIS_LABELS.get(b, b)}: {n}" for b, n in sorted(by_basis.items())]
    lines.append("  by agency:")
    lines += [f"    {agency}: {n}" for agency, n in sorted(by_agency.items())]
    lines += [
        "",
        f"consents: given {len(given)}, refused {len(refused)}, withdrawn {len(withdrawn)}",
        "meetings held: "
        f"つながりづくり会議 (connection) {meetings.get('connection', 0)}, "
        f"重層的支援会議 (support) {meetings.get('support', 0)}",
        "",
    ]
    if refuted:
        lines.append(f"verify: {len(refuted)} of {len(shown)} disclosures had NO valid basis:")
        lines += [f"  {r.line()}" for r in refuted]
    else:
        lines.append(f"verify: every one of {len(shown)} disclosures had a valid basis")
    if log.intact:
        lines.append(f"verify-log: intact ({log.events} events, {log.links} links)")
    else:
        first = log.first
        assert first is not None
        lines.append(f"verify-log: BROKEN, {len(log.findings)} finding(s); first: {first.line()}")
    if log.head is not None:
        lines.append(
            f"chain head (write it down; `hub audit verify-log --anchor` checks it later): "
            f"{log.head.notification_id}:{log.head.chain_hash}"
        )
    lines += ["", "auditor: ____________________    date: ____________    signature: __________"]
    return lines
