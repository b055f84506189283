"""The role policy's refusals said in Japanese on the pages (the API keeps English)."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub.errors import PermissionDeniedError
from hub.identity import Actor, Role
from hub.labels import names
from hub.policy import ALL_COMMANDS, Read, authorize, authorize_command_type, outside_scope
from ops.usecases import HubService
from ops.web.refusals import COMMANDS, READS, in_japanese
from tests.web_support import csrf_of, officer_case, sign_in


def _refused(call: object, *args: object, **kwargs: object) -> PermissionDeniedError:
    with pytest.raises(PermissionDeniedError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value


def test_every_read_a_role_can_be_refused_has_a_japanese_name() -> None:
    assert set(READS) == {read.value for read in Read}


def test_every_command_a_role_can_be_refused_has_a_japanese_name() -> None:
    """The 403 page names a refused command in Japanese (「事案の開始」), never by its type."""
    assert set(COMMANDS) == set(ALL_COMMANDS)
    assert all(name[:1] and not name[:1].isascii() for name in COMMANDS.values())


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
    assert in_japanese(command, names()) == "分析担当には支援機関へのつなぎの権限がありません。"


def test_a_missing_case_and_another_wards_are_refused_with_the_same_refusal() -> None:
    officer = Actor("試験-officer", Role.ward_officer, ward="tobata")
    other_ward = _refused(authorize, officer, Read.case, ward="moji")
    assert other_ward.refusal == outside_scope(officer, Read.case).refusal  # the use cases'
    assert other_ward.refusal is not None and other_ward.refusal.ward == "tobata"


def test_the_403_page_names_a_refused_command_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    """Another ward's officer sending a referral on a case (a form kept open, an address
    typed): the page says which work was refused in Japanese, not the command's type."""
    service, client = hub
    case_id, _ = officer_case(service, client, ward="tobata")
    sign_in(client, "ward_officer", ward="moji")
    page = client.get("/web/officer").text
    form = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "agency_id": "tobata.houkatsu",
        "purpose": "consultation",
        "urgency": "routine",
    }
    refused = client.post(f"/web/cases/{case_id}/refer", data=form)
    assert refused.status_code == 403
    said = re.search(r'<p class="error" role="alert" id="refusal">([^<]+)</p>', refused.text)
    assert said is not None, refused.text
    assert said.group(1) == (
        "門司区の区役所 窓口職員は、門司区以外の事案を扱えません（支援機関へのつなぎ）。"
    )
    assert "ReferCase" not in refused.text
