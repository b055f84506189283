"""Japanese labels for every code the hub shows, and table ④ of the plan: one definition.

The CLI, the HTTP API and the web pages show a code's label beside the code (``label`` beside
``code`` in CSV and JSON). Names of wards and agencies are reference data and come from
``hub.reference`` (see ``names``), not from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from hub.reference import Agency, Network

Kind = Literal["flow", "distinct", "stock"]


@dataclass(frozen=True)
class Indicator:
    """One row of table ④: the plan's function, its label exactly as written, its unit."""

    key: str
    function: str
    label: str
    unit: str
    kind: Kind


# ④ 重層的支援体制整備事業の事業目標・評価指標, labels and units as the plan writes them.
TABLE4_TITLE = "④ 重層的支援体制整備事業の評価指標"
INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "consultations", "包括的相談支援", "包括的相談支援事業における相談受付件数", "件", "flow"
    ),
    Indicator(
        "participants_supported", "参加支援", "参加支援事業の①支援対象者数", "人", "distinct"
    ),
    Indicator("cooperating_businesses", "参加支援", "参加支援事業の②協力事業者数", "者", "stock"),
    Indicator(
        "community_bases", "地域づくりに向けた支援", "地域づくり事業の①拠点数", "か所", "stock"
    ),
    Indicator(
        "gathering_participants",
        "地域づくりに向けた支援",
        "地域づくり事業の②参加者数",
        "人",
        "flow",
    ),
    Indicator(
        "gathering_bodies",
        "地域づくりに向けた支援",
        "地域づくり事業の③参加機関数",
        "機関",
        "distinct",
    ),
    Indicator(
        "outreach_visits", "アウトリーチ等を通じた継続的支援", "伴走型支援の訪問件数", "回", "flow"
    ),
    Indicator("plans_made", "多機関協働", "①支援計画作成件数", "件", "flow"),
    Indicator("support_activities", "多機関協働", "②支援に関する活動件数", "回", "flow"),
)
BY_KEY: dict[str, Indicator] = {i.key: i for i in INDICATORS}

# The network's own measures (not in the plan's table): code → (label, unit).
NETWORK_FUNCTION = "ネットワーク指標"
NETWORK_MEASURES: dict[str, tuple[str, str]] = {
    "sent": ("紹介件数", "件"),
    "answered": ("応答件数", "件"),
    "median": ("初回応答までの時間 中央値", "分"),
    "p90": ("初回応答までの時間 90パーセンタイル", "分"),
    "closed_loop": ("クローズドループ率", "%"),
    "cancelled": ("取消件数", "件"),
    "resolved": ("完了（解決）件数", "件"),
}

# Coded values (hub/vocabulary.py) → Japanese labels, one mapping per vocabulary.
VOCABULARY: dict[str, dict[str, str]] = {
    "urgency": {
        "routine": "通常",
        "soon": "早めに",
        "urgent": "至急",
        "life_at_risk": "生命の危険",
    },
    "reporter_kind": {
        "partner_company": "見守り部会 協力会員",
        "welfare_commissioner": "民生委員・児童委員",
        "welfare_cooperator": "福祉協力員",
        "npo": "NPO",
        "volunteer": "ボランティア",
        "resident": "住民",
        "agency": "支援機関",
    },
    "sign": {
        "newspapers_piling_up": "新聞がたまっている",
        "unpaid_utilities": "公共料金の滞納",
        "mailbox_full": "郵便受けがいっぱい",
        "not_seen_recently": "最近姿を見ない",
        "lights_always_on": "照明がつけっぱなし",
        "odour": "異臭",
        "hoarding_visible": "ごみの堆積が見える",
        "shouting_or_conflict": "怒鳴り声・トラブル",
        "appears_unwell": "体調が悪そう",
        "asked_for_help": "助けを求められた",
        "other": "その他",
    },
    "channel": {
        "phone": "電話",
        "visit": "訪問",
        "letter": "郵便・手紙",
        "online": "オンライン",
        "unknown": "不明",
    },
    "need": {
        "elderly": "高齢",
        "disability": "障害",
        "child": "子ども",
        "poverty": "生活困窮",
        "mental_health": "精神保健",
        "hikikomori": "ひきこもり",
        "8050": "8050問題",
        "hoarding": "ごみ屋敷",
        "refusal_of_support": "支援拒否",
        "young_carer": "ヤングケアラー",
        "double_care": "ダブルケア",
        "dementia": "認知症",
        "isolation": "孤立",
        "other": "その他",
    },
    "complexity": {"single_agency": "単独機関で対応", "complex": "複雑・複合"},
    "purpose": {
        "consultation": "相談",
        "assessment": "アセスメント",
        "support_planning": "支援計画",
        "service_provision": "サービス提供",
        "outreach": "アウトリーチ",
        "participation": "参加支援",
        "watch_over": "見守り",
        "emergency_response": "緊急対応",
    },
    "data_category": {
        "identity": "本人特定情報",
        "contact": "連絡先",
        "narrative": "相談内容",
        "health": "健康情報",
        "disability": "障害情報",
        "criminal_record": "犯罪歴",
    },
    "referral_status": {
        "sent": "送付済",
        "received": "受信済",
        "accepted": "受諾",
        "declined": "辞退",
        "completed": "完了",
        "cancelled": "取消",
        "in_progress": "対応中",
        "on_hold": "保留",
        "escalated": "督促済",
    },
    "meeting_kind": {"connection": "つながりづくり会議", "support": "重層的支援会議"},
    "visit_outcome": {
        "no_answer": "不在",
        "letter_left": "手紙を投函",
        "met": "面会",
        "refused": "拒否",
    },
    "activity_kind": {
        "accompaniment": "同行支援",
        "phone_call": "電話",
        "home_visit": "家庭訪問",
        "coordination": "連絡調整",
        "case_conference": "ケース会議",
        "benefit_application": "給付申請支援",
        "other": "その他",
    },
    "watch_frequency": {
        "daily": "毎日",
        "several_weekly": "週2〜3回",
        "weekly": "週1回",
        "biweekly": "2週に1回",
        "monthly": "月1回",
        "as_needed": "随時",
    },
    "place_kind": {
        "community_meal": "地域食堂",
        "salon": "サロン",
        "work": "就労",
        "volunteering": "ボランティア",
        "learning": "学び",
        "other": "その他",
    },
    "base_kind": {
        "salon": "サロン",
        "kodomo_shokudo": "子ども食堂",
        "community_cafe": "地域カフェ",
        "activity_centre": "活動センター",
        "other": "その他",
    },
    "evaluation": {"improved": "改善", "unchanged": "変化なし", "worsened": "悪化"},
    "case_status": {
        "open": "受付中",
        "in_support": "支援中",
        "suspended": "中断",
        "closed": "終結",
    },
    "basis": {
        "consent": "本人同意",
        "support_meeting": "つながりづくり会議（社会福祉法第106条の6）",
        "statute": "法令",
        "vital_interest": "生命・身体の保護（緊急）",
        "none": "根拠なし（匿名化通知）",
    },
    "decline_reason": {
        "capacity": "定員超過・対応困難",
        "out_of_area": "対象地域外",
        "not_eligible": "対象外",
        "person_declined": "本人が希望しない",
        "better_elsewhere": "他機関が適切",
        "other": "その他",
    },
    "outcome": {
        "resolved": "解決",
        "partly_resolved": "一部解決",
        "not_resolved": "未解決",
        "person_declined": "本人が支援を辞退",
        "could_not_contact": "連絡がとれない",
    },
    "cancel_reason": {
        "no_longer_needed": "不要になった",
        "referred_elsewhere": "他機関へつないだ",
        "person_withdrew": "本人が取り下げ",
        "entered_in_error": "誤登録",
        "other": "その他",
    },
    "consent_state": {
        "given": "同意",
        "refused": "拒否",
        "withdrawn": "撤回",
        "stopped": "利用停止",  # ended by the person's 利用停止 request (docs/RIGHTS.md)
    },
    "review_verdict": {
        "justified": "正当（必要な提供だった）",
        "not_justified": "不当（不要な提供だった）",
    },
    "reviewer": {"coordinator": "いのちネット担当係長", "auditor": "監査担当"},
    "search_criterion": {"kana": "カナ", "birth_date": "生年月日", "address": "住所"},
    # The person's details, as the access log names what a read showed.
    "person_field": {
        "person.name": "氏名",
        "person.kana": "カナ",
        "person.birth_date": "生年月日",
        "person.address": "住所",
        "person.phone": "電話番号",
        "person.health": "健康",
        "person.disability": "障害",
        "person.criminal_record": "犯罪歴",
        "discovery.note": "通報の補足",
        # The notes officers write on the case, shown with the details in the same read.
        "consultation.note": "相談内容の要旨",
        "assessment.summary": "見立ての要旨",
        "referral.note": "申し送り",
        "watch_over.note": "見守りの手配の内容",
        "support_activity.note": "支援の内容",
        "evaluation.note": "評価の要旨",
        # The other narratives the case's events hold, shown in the same read.
        "referral_answer.reason": "つなぎ先の回答の理由",
        "referral_cancellation.reason": "紹介の取り消しの理由",
        "consent.proxy_relationship": "代理人との関係",
        "consent_refusal.reason": "同意しない理由",
        "use_stop.reason": "利用停止の請求の内容",
        "plan.issue": "支援計画の課題",
        "plan.goal": "支援計画の目標",
        "suspension.reason": "中断の理由",
        "closure.reason": "終結の理由",
        "outreach_visit.note": "アウトリーチ訪問の記録",
        "emergency.reason": "緊急時の対応の理由",
        "emergency.sensitive_reason": "要配慮個人情報が必要な理由",
        "break_glass_review.note": "緊急時提供の審査の所見",
    },
    "origin": {"discovery": "発見（見守り）", "consultation": "相談"},
    "role": {
        "partner_reporter": "見守り協力者",
        "ward_officer": "区役所 窓口職員",
        "coordinator": "いのちネット担当係長",
        "contractor": "受託事業者",
        "member_agency": "支援機関",
        "auditor": "監査担当",
        "analyst": "分析担当",
        "administrator": "ネットワーク管理者",
        "operator": "運用担当",
        "system": "システム",
    },
    "agency_kind": {
        "ward_window": "区の相談窓口",
        "coordinator": "いのちネット担当係長",
        "disability_centre": "障害者基幹相談支援センター",
        "contractor": "伴走型支援・参加支援事業者",
        "council_member": "孤独・孤立対策等連携協議会 構成団体",
    },
}


VOCABULARY["indicator"] = {i.key: i.label for i in INDICATORS}
# What a read showed (the access log): the person's details, and a referral's 申し送り, which
# an agency's staff read on its inbox page when the relay released it.
VOCABULARY["read_field"] = {**VOCABULARY["person_field"], "note": "申し送り"}
# What each event of the log records (a case's history, the 本人開示 report, the access log).
VOCABULARY["event_type"] = {
    "DiscoveryReported": "発見の通報",
    "DiscoveryLinkedToCase": "発見と事案の関連付け",
    "DiscoveryErased": "発見の通報の消去",
    "CaseOpened": "事案の開始",
    "ConsultationReceived": "相談受付",
    "PersonDetailsRecorded": "本人情報の記録",
    "PersonDetailsCleared": "本人情報の一部削除",
    "AssessmentRecorded": "アセスメント",
    "ReferralMade": "支援機関へのつなぎ",
    "ReferralAnswered": "つなぎ先からの回答",
    "ReferralCancelled": "つなぎの取消",
    "ReferralEscalated": "未回答のつなぎの報告",
    "ConsentGiven": "同意",
    "ConsentRefused": "同意の拒否",
    "ConsentWithdrawn": "同意の撤回",
    "UseStopRequested": "利用停止の申出",
    "MeetingHeld": "会議の開催",
    "TakenUpByMeeting": "会議での検討",
    "MovedToSupportMeeting": "重層的支援会議への移行",
    "SupportDecided": "支援の決定",
    "PlanAgreed": "支援計画",
    "CaseEvaluated": "評価",
    "CaseSuspended": "中断",
    "CaseClosed": "終結",
    "OutreachVisitMade": "訪問（伴走型支援）",
    "SupportActivityRecorded": "支援活動",
    "ParticipationMatched": "参加支援のマッチング",
    "WatchOverArranged": "見守りの手配",
    "EmergencyDeclared": "緊急時の宣言",
    "EmergencyEnded": "緊急時の終了",
    "BreakGlassReviewed": "緊急時の提供の確認",
    "PersonalDataAccessed": "本人情報の閲覧",
    "PeopleSearched": "名寄せの検索",
    "PersonErased": "本人情報の消去",
    "ErasureConfirmed": "機関による消去の確認",
    "CooperatingBusinessRegistered": "協力事業者の登録",
    "CommunityBaseRegistered": "拠点の登録",
    "CooperatingBusinessWithdrawn": "協力事業者の退会",
    "CommunityBaseClosed": "拠点の閉鎖",
    "GatheringHeld": "地域の集いの開催",
    "TargetSet": "目標値の設定",
    "NetworkEstablished": "ネットワークの設定",
    "NetworkDescriptionRevised": "ネットワークの説明の改訂",
    "WardRegistered": "区の登録",
    "PartnerGroupAdded": "協力団体の種別の追加",
    "PartnerGroupRevised": "協力団体の種別の改訂",
    "AgencyRegistered": "機関の登録",
    "AgencyRenamed": "機関の名称変更",
    "AgencyRetired": "機関の退会",
    "CouncilMemberJoined": "協議会構成団体の加入",
    "CouncilMemberLeft": "協議会構成団体の退会",
    "CommandAccepted": "コマンドの受付",
}
# アクセス記録: on which basis and why someone was shown a person's details.
VOCABULARY["access_basis"] = {
    "official_duty": "所掌事務（個人情報保護法第61条・第69条第1項）",
    "consent": "本人同意",
    "support_meeting": "つながりづくり会議（社会福祉法第106条の6）",
    "vital_interest": "生命・身体の保護（緊急）",
    "statute": "法令",
    "person_request": "本人開示（個人情報保護法第76条）",
}
VOCABULARY["access_purpose"] = {
    **VOCABULARY["purpose"],
    "case_management": "ケースの管理",
    "audit": "監査",
    "person_request": "本人開示",
}


def label(vocabulary: str, code: str | None) -> str:
    """The Japanese label of ``code`` in ``vocabulary``; the code itself when it has none."""
    if code is None:
        return ""
    if vocabulary == "basis" and "," in code:  # an agency record's header: every basis used
        return "、".join(label(vocabulary, part) for part in code.split(","))
    return VOCABULARY.get(vocabulary, {}).get(code, code)


# The field (named as its vocabulary) of the coded reason a referral ended with, by the
# status it ended in (case-state rows).
_END_REASONS = {"declined": "decline_reason", "completed": "outcome", "cancelled": "cancel_reason"}


def referral_status_text(referral: Mapping[str, Any]) -> str:
    """A referral's status with the coded reason it ended with: 辞退（定員超過・対応困難）,
    完了（解決）, 取消（不要になった）."""
    status = label("referral_status", referral.get("status"))
    field = _END_REASONS.get(str(referral.get("status")))
    reason = referral.get(field) if field else None
    return f"{status}（{label(field, reason)}）" if field and reason else status


def labelled(vocabulary: str, code: str | None) -> dict[str, str | None]:
    """``{"code": …, "label": …}``, the shape every JSON output uses for a coded value."""
    return {"code": code, "label": label(vocabulary, code) if code is not None else None}


def codes(vocabulary: str) -> Mapping[str, str]:
    return VOCABULARY[vocabulary]


# The groups of agencies a consent's scope may name (network.json ``groups``).
AGENCY_GROUPS = {
    "ward_windows": "各区の相談窓口",
    "coordinators": "各区のいのちネット担当",
    "city_wide": "全市域の支援機関",
    "contractor": "委託事業者",
    "council": "孤独・孤立対策等連携協議会 構成団体",
}


@dataclass(frozen=True)
class Names:
    """Japanese names of wards and agencies (機関名, 区名), from the network's reference data."""

    wards: Mapping[str, str]
    agencies: Mapping[str, str]

    def ward(self, code: str | None) -> str:
        if code is None:
            return ""
        return self.wards.get(code, "不明" if code == "" else code)

    def agency(self, agency_id: str | None) -> str:
        """An agency's name; a group of agencies a consent's scope names (``ward_windows``,
        ``ward:tobata``) by what it covers; anything else as it is."""
        if agency_id is None:
            return ""
        found = self.agencies.get(agency_id)
        if found is not None:
            return found
        ward = agency_id.removeprefix("ward:")
        if ward != agency_id and ward in self.wards:
            return f"{self.wards[ward]}の支援機関"
        return AGENCY_GROUPS.get(agency_id, agency_id)


def names(network: Network | None = None, retired: Iterable[Agency] = ()) -> Names:
    """The names in force: those of ``network`` (the network as the log records it, agencies
    registered since the import among them) over the shipped reference file's and those of
    the ``retired`` agencies (the directory's), so an agency the log has retired keeps its
    name, one registered after the import too; the shipped names alone without ``network``."""
    from hub.reference import load_network

    known = [load_network()] + ([network] if network is not None else [])
    agencies = {a.id: a.name for a in retired}
    agencies.update({a.id: a.name for n in known for a in n.agencies})
    return Names(wards={w.code: w.name for n in known for w in n.wards}, agencies=agencies)
