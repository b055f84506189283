"""The role policy's refusals said in Japanese on the pages (the API keeps English)."""

from __future__ import annotations

import pytest

from hub.errors import PermissionDeniedError
from hub.identity import Actor, Role
from hub.labels import names
from hub.policy import Read, authorize, authorize_command_type, outside_scope
from ops.web.refusals import READS, in_japanese


def _refused(call: object, *args: object, **kwargs: object) -> PermissionDeniedError:
    with pytest.raises(PermissionDeniedError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value


def test_every_read_a_role_can_be_refused_has_a_japanese_name() -> None:
    assert set(READS) == {read.value for read in Read}


def test_each_shape_of_refusal_reads_as_one_japanese_sentence() -> None:
    officer = Actor("試験-officer", Role.ward_officer, ward="tobata")
    outside = _refused(authorize, officer, Read.person, ward="moji")
    assert outside.refusal is not None
    assert in_japanese(outside.refusal, names()) == (
        "戸畑区の区役所 窓口職員は、戸畑区以外の事案を扱えません"
        "（本人情報（氏名・住所など）の閲覧）。"
    )
    agency = Actor("試験-agency", Role.member_agency, agency_id="moji.houkatsu")
    not_its_own = outside_scope(agency, Read.case).refusal
    assert not_its_own is not None
    said = in_japanese(not_its_own, names())
    assert (
        said.startswith("支援機関（")
        and "自機関につながれていない事案を扱えません（事案の閲覧）" in said
    )
    analyst = Actor("試験-analyst", Role.analyst)
    role = _refused(authorize, analyst, Read.audit).refusal
    assert (
        role is not None
        and in_japanese(role, names()) == "分析担当には監査記録の閲覧の権限がありません。"
    )
    command = _refused(authorize_command_type, analyst, "ReferCase").refusal
    assert command is not None
    assert in_japanese(command, names()) == "分析担当にはこの操作（ReferCase）の権限がありません。"


def test_a_missing_case_and_another_wards_are_refused_with_the_same_refusal() -> None:
    officer = Actor("試験-officer", Role.ward_officer, ward="tobata")
    other_ward = _refused(authorize, officer, Read.case, ward="moji")
    assert other_ward.refusal == outside_scope(officer, Read.case).refusal  # the use cases'
    assert other_ward.refusal is not None and other_ward.refusal.ward == "tobata"
