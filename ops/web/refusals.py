"""A refusal of the role policy said in Japanese, for the pages. The API and the CLI keep
the policy's English line, which integrators read and match."""

from __future__ import annotations

from hub.errors import Refusal
from hub.labels import Names, label

# What each refused read is called on a page (hub.policy.Read's codes).
READS = {
    "case": "事案の閲覧",
    "person": "本人情報（氏名・住所など）の閲覧",
    "inbox": "受信箱の閲覧",
    "answer": "つなぎへの回答",
    "coordination": "回答待ちのつなぎと会議の閲覧",
    "audit": "監査記録の閲覧",
    "indicators": "表④の閲覧",
    "review": "緊急時の開示の審査",
    "erasures": "消去の確認状況の閲覧",
    "network": "協力事業者と地域の拠点の閲覧",
}
# What each refused command is called on a page (its type, as hub.policy names it): an
# officer reads 「事案の開始」, not the command's English name.
COMMANDS = {
    "AgreePlan": "支援計画の記録",
    "AnswerReferral": "つなぎへの回答",
    "ArrangeWatchOver": "見守りの手配",
    "CancelReferral": "つなぎの取消",
    "ClearPersonDetails": "本人情報の一部削除",
    "CloseCase": "事案の終結",
    "CloseCommunityBase": "拠点の閉鎖",
    "DecideSupport": "支援の決定",
    "DeclareEmergency": "緊急時の宣言",
    "EndEmergency": "緊急時の終了",
    "EscalateReferral": "未回答のつなぎの報告",
    "EvaluateCase": "事案の評価",
    "GiveConsent": "同意の記録",
    "HoldGathering": "地域の集いの記録",
    "HoldMeeting": "会議の記録",
    "MatchParticipation": "参加支援のマッチング",
    "MoveToSupportMeeting": "重層的支援会議への移行",
    "OpenCase": "事案の開始",
    "ReceiveConsultation": "相談受付",
    "RecordAssessment": "アセスメントの記録",
    "RecordOutreachVisit": "訪問（伴走型支援）の記録",
    "RecordPersonDetails": "本人情報の記録",
    "RecordSupportActivity": "支援活動の記録",
    "ReferCase": "支援機関へのつなぎ",
    "RefuseConsent": "同意の拒否の記録",
    "RegisterCommunityBase": "拠点の登録",
    "RegisterCooperatingBusiness": "協力事業者の登録",
    "ReportDiscovery": "発見の通報",
    "RequestUseStop": "利用停止の申出",
    "ReviewBreakGlass": "緊急時の提供の審査",
    "SetTarget": "目標値の設定",
    "SuspendCase": "事案の中断",
    "WithdrawConsent": "同意の撤回",
    "WithdrawCooperatingBusiness": "協力事業者の退会",
}


def in_japanese(refusal: Refusal, names: Names) -> str:
    """The refusal as one sentence: who may not do what, and where its scope ends. Only the
    actor's own ward or agency is named, so a missing case reads as another ward's."""
    role = label("role", refusal.role)
    what = READS.get(refusal.what) or COMMANDS.get(refusal.what) or f"この操作（{refusal.what}）"
    if refusal.ward is not None:
        ward = names.ward(refusal.ward)
        return f"{ward}の{role}は、{ward}以外の事案を扱えません（{what}）。"
    if refusal.agency_id is not None:
        agency = names.agency(refusal.agency_id)
        return f"{role}（{agency}）は、自機関につながれていない事案を扱えません（{what}）。"
    return f"{role}には{what}の権限がありません。"
