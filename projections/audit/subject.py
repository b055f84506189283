"""本人開示: what the hub holds about one person, and every use of it, in Japanese.

Built from the same history and disclosures the auditor replays (``History``, the relay's
ledger), so what the person is told is what ``hub audit replay`` and ``verify`` show. The
result is plain sections of text (title, columns, rows); ``ops/privacy/pdf.py`` lays them out
on paper. Times are JST with the zone and the date in 和暦 beside the Gregorian one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.fiscal import JST, wareki_date
from hub.labels import Names, label
from hub.sealing import ERASED  # how a field whose data key was destroyed reads
from projections.audit.history import History, LoggedEvent
from projections.audit.verify import Disclosure

# The person's details, in the order a form lists them (PersonDetails).
FIELD_LABELS = {
    "name": "氏名",
    "kana": "ふりがな",
    "birth_date": "生年月日",
    "address": "住所",
    "phone": "電話番号",
    "health": "健康情報（要配慮個人情報）",
    "disability": "障害情報（要配慮個人情報）",
    "criminal_record": "犯罪歴（要配慮個人情報）",
}
# Narrative fields of the events (the last part of the path), for the disclosure records.
NARRATIVE_LABELS = {
    "note": "記録の本文（メモ）",
    "reason": "理由",
    "summary": "アセスメントの要約",
    "goals": "支援計画の目標",
    "issue": "課題",
    "proxy_relationship": "代理人との関係",
    "sensitive_reason": "要配慮個人情報が必要な理由",
}

# The case's events the person is told of, labelled as every output labels them.
EVENT_LABELS = {
    name: label("event_type", name)
    for name in (
        "DiscoveryReported",
        "DiscoveryLinkedToCase",
        "CaseOpened",
        "ConsultationReceived",
        "PersonDetailsRecorded",
        "PersonDetailsCleared",
        "AssessmentRecorded",
        "ReferralMade",
        "ReferralAnswered",
        "ReferralCancelled",
        "ReferralEscalated",
        "ConsentGiven",
        "ConsentRefused",
        "ConsentWithdrawn",
        "UseStopRequested",
        "TakenUpByMeeting",
        "MovedToSupportMeeting",
        "SupportDecided",
        "PlanAgreed",
        "CaseEvaluated",
        "CaseSuspended",
        "CaseClosed",
        "OutreachVisitMade",
        "SupportActivityRecorded",
        "ParticipationMatched",
        "WatchOverArranged",
        "EmergencyDeclared",
        "EmergencyEnded",
        "BreakGlassReviewed",
        "PersonalDataAccessed",
        "PersonErased",
        "ErasureConfirmed",
    )
}


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "ありません。"
    pairs: bool = False  # rows are (item, value): one line each, "item：value"

    def lines(self, row: tuple[str, ...]) -> list[str]:
        if self.pairs:
            return [f"{row[0]}：{row[1]}"]
        return [f"{c}：{v}" for c, v in zip(self.columns, row, strict=True)]


@dataclass(frozen=True)
class SubjectReport:
    title: str
    preamble: tuple[str, ...]
    sections: tuple[Section, ...]

    def text(self) -> str:
        """The same content as plain text (a test reads the PDF against it)."""
        lines = [self.title, *self.preamble]
        for section in self.sections:
            lines.append(section.title)
            for row in section.rows:
                lines += section.lines(row)
            if not section.rows:
                lines.append(section.empty)
        return "\n".join(lines)


def when(moment: datetime) -> str:
    """'令和7年5月1日 09:00 JST（2025-05-01）'; an instant a log written before the edge's
    rules may hold (year 1, 9999 west of UTC: hub/quarantine.py), with no JST time or 和暦
    day, as written."""
    try:
        local = moment.astimezone(JST)
        return f"{wareki_date(local.date())} {local:%H:%M} JST（{local:%Y-%m-%d}）"
    except (OverflowError, ValueError):
        return moment.isoformat()


def _held(field: str, value: Any) -> str:
    """A detail as held; the birth date in 和暦 and the Gregorian calendar, as every date of
    the report: '昭和25年1月1日（1950-01-01）'."""
    if field == "birth_date":
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
            return f"{wareki_date(day)}（{day.isoformat()}）"
        except ValueError:  # before 明治 (a log written before the edge's rules)
            return str(value)
    return str(value)


def _categories(codes: Sequence[str]) -> str:
    return "、".join(label("data_category", c) for c in codes)


def _fields(paths: Sequence[str]) -> str:
    labels = {**FIELD_LABELS, **NARRATIVE_LABELS}
    return "、".join(dict.fromkeys(labels.get(p.rsplit(".", 1)[-1], p) for p in paths))


def _agencies(ids: Sequence[str], names: Names) -> str:
    return "、".join(names.agency(a) for a in ids)


def build(
    history: History,
    disclosures: Sequence[Disclosure],
    case_id: str,
    person: Mapping[str, Any] | None,
    names: Names,
    generated_at: datetime,
    *,
    erased: Sequence[str] = (),
    erased_all: bool = False,
    ledger_position: int | None = None,
    discoveries: Sequence[str] = (),
    reported_otherwise: Mapping[str, Any] | None = None,
) -> SubjectReport:
    """The report for ``case_id``: ``person`` is the details held now (field → value);
    ``erased`` names fields whose data key was destroyed, ``erased_all`` says the person was
    erased (``hub privacy erase``: nothing personal is left to show); ``discoveries`` the
    discoveries the case was opened from, whose reports are records of the person too;
    ``reported_otherwise`` what those reports hold other than the case does, shown as the
    report's own rows."""
    otherwise = reported_otherwise or {}
    held: list[tuple[str, str]] = []
    if erased_all:
        held.append(("本人情報（氏名・住所・要配慮個人情報など）", ERASED))
    elif person:
        for k, field in FIELD_LABELS.items():
            if k in erased or person.get(k) is not None:
                held.append((field, ERASED if k in erased else _held(k, person[k])))
            if k in otherwise:  # the report's value beside the case's: the hub holds both
                held.append((f"{field}（発見の報告）", _held(k, otherwise[k])))
    own = sorted(
        (d for d in disclosures if d.case_id == case_id), key=lambda d: (d.position, d.agency_id)
    )
    consents = sorted(
        (c for c in history.consents.values() if c.case_id == case_id),
        key=lambda c: c.given_position,
    )
    stops = [s for s in history.use_stops if s.case_id == case_id]
    reports = {history.discovery_reports.get(d) for d in discoveries}
    records = [
        e
        for e in sorted(history.events.values(), key=lambda e: e.position)
        if (e.case_id == case_id or e.position in reports) and e.event_type in EVENT_LABELS
    ]
    sections = (
        Section(
            "1. ハブが保有しているあなたの情報",
            ("項目", "内容"),
            tuple(held),
            "本人を特定する情報は保有していません。",
            pairs=True,
        ),
        Section(
            "2. あなたの情報の提供先（提供の記録）",
            ("提供日時", "提供先", "提供した項目", "根拠"),
            tuple(
                (
                    "不明（提供の記録が不正）" if d.malformed else when(d.occurred_at),
                    names.agency(d.agency_id),
                    _fields(d.fields),
                    _basis(d, history),
                )
                for d in own
            ),
            "あなたを特定できる情報を提供した記録はありません。",
        ),
        Section(
            "3. 同意の記録",
            ("同意した日時", "対象（範囲）", "目的", "情報の種類", "有効期限", "状態"),
            tuple(
                (
                    when(c.given_at),
                    _agencies(c.scope, names),
                    "、".join(label("purpose", p) for p in c.purposes),
                    _categories(c.categories),
                    when(c.valid_until),
                    _consent_state(
                        c.withdrawn_at,
                        c.given_position,
                        stops,
                        (c.valid_from, c.valid_until),
                        generated_at,
                    ),
                )
                for c in consents
            ),
        ),
        Section(
            "4. 会議の記録",
            ("開催日時", "会議", "構成員"),
            tuple(
                (when(m.held_at), label("meeting_kind", m.kind), _agencies(m.members, names))
                for m in sorted(history.meetings.values(), key=lambda m: m.position)
                if m.case_id == case_id
            ),
        ),
        Section(
            "5. 緊急時の宣言（生命・身体の保護）",
            ("宣言日時", "対象機関", "情報の種類", "期限", "終了"),
            tuple(
                (
                    when(e.declared_at),
                    _agencies(e.agencies, names),
                    _emergency_categories(e.categories, e.sensitive_categories),
                    when(e.expires_at),
                    _emergency_end(e.ended_at, e.expires_at, generated_at),
                )
                for e in sorted(history.emergencies.values(), key=lambda e: e.position)
                if e.case_id == case_id
            ),
        ),
        Section(
            "6. 利用停止の申出",
            ("申出日時", "効果"),
            tuple((when(s.requested_at), "以後、それまでの同意による提供を停止") for s in stops),
        ),
        Section(
            "7. 記録の一覧",
            ("日時", "記録"),
            tuple(  # by date (stable: the log's order on one instant), as the person reads it
                (when(e.occurred_at), _record(e, history))
                for e in sorted(records, key=lambda e: e.occurred_at)
            ),
        ),
    )
    as_of = f"（提供の記録はログの位置 {ledger_position} まで）" if ledger_position else ""
    return SubjectReport(
        "保有個人情報の開示（本人開示）",
        (
            "いのちをつなぐネットワーク 情報共有ハブ（北九州市）",
            f"事案番号: {case_id}",
            f"作成日時: {when(generated_at)}{as_of}",
            "個人情報の保護に関する法律第76条に基づく開示請求に対し、ハブが保有する"
            "あなたの情報と、その提供・利用の記録をお知らせします。",
        ),
        sections,
    )


def _basis(d: Disclosure, history: History) -> str:
    text = label("basis", d.basis)
    if d.basis == "support_meeting":
        held = history.meetings_held.get(d.basis_ref or "")
        if held:
            text += f"（{when(held[1])}の会議）"
    elif d.basis == "statute" and d.basis_ref:
        text += f"（{d.basis_ref}）"
    elif d.basis == "consent":
        consent = history.consents.get(d.basis_ref or "")
        if consent:
            text += f"（{when(consent.given_at)}の同意）"
    return text


def _record(e: LoggedEvent, history: History) -> str:
    """An event of the case by its label; a read with its basis and what it rested on."""
    access = history.accesses.get(e.position)
    if access is None:
        return EVENT_LABELS[e.event_type]
    basis, refs = access
    rested = "、".join(filter(None, (_rested_on(basis, ref, history) for ref in refs)))
    text = label("access_basis", basis) + (f"：{rested}" if rested else "")
    return f"{EVENT_LABELS[e.event_type]}（根拠 {text}）"


def _rested_on(basis: str, ref: str, history: History) -> str | None:
    """根拠の記録 as the person reads it: the consent, meeting or declaration by its time,
    a statute by its name."""
    if basis == "consent" and (consent := history.consents.get(ref)):
        return f"{when(consent.given_at)}の同意"
    if basis == "support_meeting" and (held := history.meetings_held.get(ref)):
        return f"{when(held[1])}の会議"
    if basis == "vital_interest" and (emergency := history.emergencies.get(ref)):
        return f"{when(emergency.declared_at)}の緊急時の宣言"
    return ref if basis == "statute" else None


def _emergency_categories(categories: Sequence[str], sensitive: Sequence[str]) -> str:
    """What a declaration released: the 要配慮個人情報 a break-glass declaration named too
    (they went out under it: section 2 lists them), marked as such."""
    named = [label("data_category", c) for c in categories if c not in sensitive]
    named += [f"{label('data_category', c)}（要配慮個人情報）" for c in sensitive]
    return "、".join(named)


def _emergency_end(ended_at: datetime | None, expires_at: datetime, now: datetime) -> str:
    """When the declaration stopped counting: ended by the coordinator, or at its time
    limit (an empty cell read as still in force)."""
    if ended_at is not None and ended_at <= expires_at:
        return when(ended_at)
    if expires_at <= now:
        return f"期限切れ（{when(expires_at)}）"
    return "継続中"


def _consent_state(
    withdrawn_at: datetime | None,
    given: int,
    stops: Sequence[Any],
    valid: tuple[datetime, datetime],
    now: datetime,
) -> str:
    valid_from, valid_until = valid
    if withdrawn_at is not None:
        return f"撤回（{when(withdrawn_at)}）"
    stop = next((s for s in stops if s.position > given), None)
    if stop is not None:
        return f"利用停止（{when(stop.requested_at)}）"
    if valid_until <= now:  # the person reads when the report was made: not 有効 any more
        return f"期限切れ（{when(valid_until)}）"
    if now < valid_from:  # given for a period that has not begun: nothing is shared on it yet
        return f"未発効（{when(valid_from)}から有効）"
    return "有効（期限まで）"
