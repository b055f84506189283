"""What ``hub demo`` prints at the end: table ④ beside the plan's actuals, the agencies,
consent and disclosures, the audit, and where the files are."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from hub.fiscal import wareki_date
from hub.labels import INDICATORS, TABLE4_TITLE
from ops.demo import calibration as cal
from ops.demo.pipeline import DemoOutcome
from projections.report import value_text

# The generator's key per indicator of table ④ (labels and units are hub.labels', the
# plan's actuals ops.demo.calibration's).
GENERATOR_KEYS: dict[str, str] = {
    "consultations": "consultations",
    "participants_supported": "participants",
    "cooperating_businesses": "businesses",
    "community_bases": "bases",
    "gathering_participants": "gathering_participants",
    "gathering_bodies": "bodies",
    "outreach_visits": "visits",
    "plans_made": "plans",
    "support_activities": "activities",
}
PENDING = "集計中"


def indicator_values(rows: list[Any]) -> dict[str, int | float | None]:
    """The hub's value per generator key, read from the projection's report rows."""
    by_code = {r.code: r.value for r in rows}
    return {key: by_code.get(code) for code, key in GENERATOR_KEYS.items()}


def _checked(value: int | float | None, expected: int | None) -> str:
    if value is None:
        return "-"
    return f"{value}" if value == expected else f"{value} [red]≠ {expected}[/]"


def print_outcome(console: Console, outcome: DemoOutcome) -> None:
    cut = outcome.cut_day
    if outcome.indicators:
        _indicators(console, outcome)
    _agencies(console, outcome)
    _consent(console, outcome)
    _audit(console, outcome)
    files = Table(title="ファイル / files", show_header=False)
    for name, path in outcome.files.items():
        files.add_row(name, str(path))
    console.print(files)
    for phase, why in outcome.unavailable.items():
        console.print(f"[bold yellow]phase not available yet: {phase}[/] — {why}")
    console.print(f"cut: 令和7年度 2025-04-01 .. {cut.isoformat()} (JST)")
    timings = ", ".join(f"{phase} {seconds:.0f}s" for phase, seconds in outcome.timings.items())
    loop = ", ".join(f"{step} {seconds:.0f}s" for step, seconds in outcome.loop_timings.items())
    console.print(f"timings: {timings}; the year: {loop}")


def _indicators(console: Console, outcome: DemoOutcome) -> None:
    """Table ④ at the cut, checked against the generator; the plan's actuals beside the
    hub's figures at the end of December (the plan's own cut) whenever the run got there."""
    cut = outcome.cut_day
    december = cal.ACTUALS_CUT
    table = Table(title=f"{TABLE4_TITLE} 令和7年度（{wareki_date(cut)}まで）")
    table.add_column("事業")
    table.add_column("評価指標")
    table.add_column(f"ハブ {cut.isoformat()} まで", justify="right")
    table.add_column("生成データ", justify="right")
    at_actuals = outcome.indicators if cut == december else outcome.indicators_at_actuals
    expected_at_actuals = outcome.expected if cut == december else outcome.expected_at_actuals
    if at_actuals and cut != december:
        table.add_column(f"ハブ {december.isoformat()} まで", justify="right")
    table.add_column("R7実績 ※R7.12月末時点", justify="right")
    values = indicator_values(outcome.indicators)
    december_values = indicator_values(at_actuals) if at_actuals else {}
    for indicator in INDICATORS:
        key = GENERATOR_KEYS[indicator.key]
        plan_actual = cal.SEED_ACTUALS[key]
        actual = None if plan_actual is None else f"{plan_actual}{indicator.unit}"
        cells = [
            indicator.function,
            indicator.label,
            _checked(values[key], outcome.expected.get(key)),
            str(outcome.expected.get(key, "-")),
        ]
        if at_actuals and cut != december:
            cells.append(_checked(december_values[key], expected_at_actuals.get(key)))
        cells.append(actual or PENDING)
        table.add_row(*cells)
    console.print(table)
    if not at_actuals:
        console.print(
            f"The plan's actuals are counted to {december.isoformat()}; this run stops "
            "earlier, so they are shown for reference only."
        )
    network = Table(title="ネットワーク指標 (referrals in the cut)")
    network.add_column("指標")
    network.add_column("値", justify="right")
    for row in outcome.indicators:
        if row.function == "ネットワーク指標":
            network.add_row(row.indicator, value_text(row))
    console.print(network)


def _agencies(console: Console, outcome: DemoOutcome) -> None:
    table = Table(title="機関ごとの受信箱と応答 / agency inboxes and the closed loop")
    for column in ("agency", "inbox records", "referrals", "answered", "closed", "escalated"):
        table.add_column(column, justify="left" if column == "agency" else "right")
    table.add_column("median minutes to answer", justify="right")
    shown = [a for a in outcome.agencies if a.referrals or a.inbox_records]
    for a in sorted(shown, key=lambda a: (-a.referrals, a.agency_id)):
        table.add_row(
            a.agency_id,
            str(a.inbox_records),
            str(a.referrals),
            str(a.answered),
            str(a.closed),
            str(a.escalated),
            "-" if a.median_minutes is None else str(a.median_minutes),
        )
    quiet = len(outcome.agencies) - len(shown)
    table.caption = f"{len(outcome.agencies)} agency clients ran; {quiet} received nothing"
    console.print(table)
    if outcome.replies:
        console.print(
            "answers: " + ", ".join(f"{name} {value}" for name, value in outcome.replies.items())
        )


def _consent(console: Console, outcome: DemoOutcome) -> None:
    table = Table(title="同意と情報提供 / consent and disclosures")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in sorted(outcome.consent.items()):
        table.add_row(name, str(value))
    if outcome.audit is not None:
        for basis, value in outcome.audit.disclosures_by_basis.items():
            table.add_row(f"disclosures on basis {basis}", str(value))
    for name, value in outcome.relay.items():
        table.add_row(f"relay: {name}", str(value))
    console.print(table)


def _audit(console: Console, outcome: DemoOutcome) -> None:
    audit = outcome.audit
    if audit is None:
        return
    verdict = "[bold green]VALID[/]" if audit.valid else "[bold red]INVALID[/]"
    console.print(
        f"audit verify: {verdict} — log chain "
        f"{'intact' if audit.log_intact else 'BROKEN'} over {audit.log_events} events; "
        f"{audit.disclosures_checked} disclosures checked, {len(audit.refuted)} refuted, "
        f"{audit.unchecked} unchecked"
    )
    if audit.acted_by_role:
        roles = ", ".join(f"{role} {n}" for role, n in audit.acted_by_role.items())
        console.print(
            f"記録者 who acted: {audit.subjects} subjects; events by role: {roles} "
            "(`hub audit report` names each subject)",
            markup=False,
        )
    if audit.log_first_finding:
        console.print(f"  first finding: {audit.log_first_finding}")
    for line in audit.refuted:
        console.print(f"  refuted: {line}")
