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
}


def in_japanese(refusal: Refusal, names: Names) -> str:
    """The refusal as one sentence: who may not do what, and where its scope ends. Only the
    actor's own ward or agency is named, so a missing case reads as another ward's."""
    role = label("role", refusal.role)
    what = READS.get(refusal.what) or f"この操作（{refusal.what}）"
    if refusal.ward is not None:
        ward = names.ward(refusal.ward)
        return f"{ward}の{role}は、{ward}以外の事案を扱えません（{what}）。"
    if refusal.agency_id is not None:
        agency = names.agency(refusal.agency_id)
        return f"{role}（{agency}）は、自機関につながれていない事案を扱えません（{what}）。"
    return f"{role}には{what}の権限がありません。"
