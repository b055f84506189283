"""What ``hub demo`` prints at the end: table ④ beside the plan's actuals, the agencies,
consent and disclosures, the audit, and where the files are."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from hub.fiscal import wareki_date
from hub.labels import INDICATORS, TABLE4_TITLE, codes, label, names
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
ROLES = codes("role")


def indicator_values(rows: list[Any]) -> dict[str, int | float | None]:
    """The hub's value per generator key, read from the projection's report rows."""
    by_code = {r.code: r.value for r in rows}
    return {key: by_code.get(code) for code, key in GENERATOR_KEYS.items()}


def _checked(value: int | float | None, expected: int | None) -> str:
    if value is None:
        return "-"
    return f"{value}" if value == expected else f"{value} [red]≠ {expected}[/]"


# The relay's counts (producers.relay.RelayCounts), as a coordinator reads them.
RELAY_LABELS: dict[str, str] = {
    "events": "中継: 記録から読んだイベント",
    "agency_records": "中継: 機関への送信",
    "redacted": "中継: うち個人情報を伏せた送信",
    "disclosures": "中継: 個人情報の提供",
    "audit_records": "中継: 監査記録",
    "analytics_records": "中継: 分析用（匿名化）",
    "witnessed": "中継: 記録の連鎖の証人",
    "quarantined": "中継: 隔離",
}
# The agencies' answers and the reply ingester's counts.
ANSWER_LABELS: dict[str, str] = {
    "sent": "送信",
    "not_in_inbox": "受信箱になし",
    "applied": "取り込み",
    "duplicates": "重複",
    "rejected": "拒否",
    "escalated": "タイマーによる未応答の報告",
}
PHASE_LABELS: dict[str, str] = {
    "services": "サービス起動",
    "provision": "準備",
    "generate": "生成",
    "year": "年間の再生",
    "projections": "集計",
    "audit": "監査",
    "report": "報告",
    "commands": "コマンド",
    "relay": "中継",
    "agency clients": "機関の受信",
    "answers": "機関の応答",
    "reply ingestion": "応答の取り込み",
    "timers": "タイマー",
}


def print_outcome(console: Console, outcome: DemoOutcome) -> None:
    """The summary, in Japanese and within the console's width (80 columns when piped)."""
    cut = outcome.cut_day
    if outcome.indicators:
        _indicators(console, outcome)
    _agencies(console, outcome)
    _consent(console, outcome)
    _audit(console, outcome)
    files = Table(title="ファイル", show_header=False, title_justify="left")
    files.add_column(no_wrap=True)
    files.add_column(overflow="fold")
    for name, path in outcome.files.items():
        files.add_row(name, str(path))
    console.print(files)
    for phase, why in outcome.unavailable.items():
        console.print(f"[bold yellow]この段階はまだ動きません: {phase}[/] — {why}")
    first = wareki_date(date(cal.FISCAL_YEAR, 4, 1))
    console.print(f"期間: 令和7年度 {first}〜{wareki_date(cut)}（JST）")
    console.print(f"所要時間: {_seconds(outcome.timings)}")
    console.print(f"年間の内訳: {_seconds(outcome.loop_timings)}")


def _seconds(timings: dict[str, float]) -> str:
    # No space inside an item: a narrow console wraps the line between items only.
    return ", ".join(f"{PHASE_LABELS.get(k, k)}{v:.0f}秒" for k, v in timings.items())


def _indicators(console: Console, outcome: DemoOutcome) -> None:
    """Table ④ at the cut, checked against the generator; the plan's actuals beside the
    hub's figures at the end of December (the plan's own cut) whenever the run got there."""
    cut = outcome.cut_day
    december = cal.ACTUALS_CUT
    table = Table(title=f"{TABLE4_TITLE} 令和7年度（{wareki_date(cut)}まで）", title_justify="left")
    table.add_column("事業 / 評価指標", overflow="fold")
    table.add_column("ハブ", justify="right", no_wrap=True)
    table.add_column("生成\nデータ", justify="right", no_wrap=True)
    at_actuals = outcome.indicators if cut == december else outcome.indicators_at_actuals
    expected_at_actuals = outcome.expected if cut == december else outcome.expected_at_actuals
    if at_actuals and cut != december:
        table.add_column("ハブ\n12月末", justify="right", no_wrap=True)
    table.add_column("R7実績\n12月末", justify="right", no_wrap=True)
    values = indicator_values(outcome.indicators)
    december_values = indicator_values(at_actuals) if at_actuals else {}
    function = None
    for indicator in INDICATORS:
        key = GENERATOR_KEYS[indicator.key]
        if indicator.function != function:
            function = indicator.function
            table.add_row(f"[bold]{function}[/]")
        plan_actual = cal.SEED_ACTUALS[key]
        actual = None if plan_actual is None else f"{plan_actual}{indicator.unit}"
        cells = [
            f"  {indicator.label}",
            _checked(values[key], outcome.expected.get(key)),
            str(outcome.expected.get(key, "-")),
        ]
        if at_actuals and cut != december:
            cells.append(_checked(december_values[key], expected_at_actuals.get(key)))
        cells.append(actual or PENDING)
        table.add_row(*cells)
    table.caption = "ハブ: 記録から集計した値　生成データ: 生成した年の件数（一致を確認）"
    console.print(table)
    if not at_actuals:
        console.print(
            f"R7実績は{wareki_date(december)}時点の集計です。この実行はその前で止まるため、"
            "参考として示します。"
        )
    network = Table(title="ネットワーク指標（期間内の紹介）", title_justify="left")
    network.add_column("指標", overflow="fold")
    network.add_column("値", justify="right", no_wrap=True)
    for row in outcome.indicators:
        if row.function == "ネットワーク指標":
            network.add_row(row.indicator, value_text(row))
    console.print(network)


def _agencies(console: Console, outcome: DemoOutcome) -> None:
    agencies = names()
    table = Table(title="機関ごとの受信箱と応答", title_justify="left")
    table.add_column("機関", overflow="fold")
    for header in ("受信\n記録", "紹介", "応答", "終結", "未応答\n報告", "中央値\n(分)"):
        table.add_column(header, justify="right", no_wrap=True)
    shown = [a for a in outcome.agencies if a.referrals or a.inbox_records]
    for a in sorted(shown, key=lambda a: (-a.referrals, a.agency_id)):
        table.add_row(
            agencies.agency(a.agency_id),
            str(a.inbox_records),
            str(a.referrals),
            str(a.answered),
            str(a.closed),
            str(a.escalated),
            "-" if a.median_minutes is None else f"{a.median_minutes:,.0f}",
        )
    quiet = len(outcome.agencies) - len(shown)
    table.caption = (
        f"{len(outcome.agencies)}機関のクライアントが稼働し、うち{quiet}機関は受信なし。"
        "終結: 辞退または完了。中央値: 初回応答までの分"
    )
    console.print(table)
    if outcome.replies:
        console.print(
            "機関の応答: "
            + ", ".join(f"{ANSWER_LABELS.get(k, k)} {v}" for k, v in outcome.replies.items())
        )


def _consent_label(name: str) -> str:
    event, _, kind = name.partition(":")
    text = label("event_type", event)
    return f"{text}（{label('meeting_kind', kind)}）" if kind else text


def _consent(console: Console, outcome: DemoOutcome) -> None:
    table = Table(title="同意と情報提供", title_justify="left")
    table.add_column("項目", overflow="fold")
    table.add_column("件数", justify="right", no_wrap=True)
    for name, value in sorted(outcome.consent.items()):
        table.add_row(_consent_label(name), str(value))
    if outcome.audit is not None:
        for basis, value in outcome.audit.disclosures_by_basis.items():
            table.add_row(f"情報提供（根拠: {label('basis', basis)}）", str(value))
    for name, value in outcome.relay.items():
        table.add_row(RELAY_LABELS.get(name, name), str(value))
    console.print(table)


def _audit(console: Console, outcome: DemoOutcome) -> None:
    audit = outcome.audit
    if audit is None:
        return
    verdict = "[bold green]VALID[/]" if audit.valid else "[bold red]INVALID[/]"
    console.print(
        f"監査 audit verify: {verdict} — 記録の連鎖は"
        f"{'無傷' if audit.log_intact else '[bold red]破損[/]'}（{audit.log_events:,}件）、"
        f"情報提供 {audit.disclosures_checked:,}件を検証: 根拠なし {len(audit.refuted)}件、"
        f"未検証 {audit.unchecked}件"
    )
    if audit.acted_by_role:
        roles = ", ".join(
            f"{label('role', role) if role in ROLES else '（不明）'} {n:,}"
            for role, n in audit.acted_by_role.items()
        )
        console.print(
            f"記録者: {audit.subjects}人（一人ずつは hub audit report --every-subject）。"
            f"役割別の記録: {roles}",
            markup=False,
        )
    if audit.log_first_finding:
        console.print(f"  最初の所見: {audit.log_first_finding}", markup=False)
    for line in audit.refuted:
        console.print(f"  根拠なし: {line}", markup=False)
