"""GET /partners: the registered 協力事業者 and 地域の拠点 for the roles that read them (the
administrator, and the contractor who names one in a match or a gathering), by type, ward
and name, times in JST; every other role a problem+json 403."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub.identity import Actor, Role
from ops.identity import dev_issuer
from ops.usecases import HubService
from tests.web_support import hub

__all__ = ["hub"]  # the fixture

ADMIN = Actor("administrator-試験", Role.administrator)
AT = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)  # 09:30 JST


def bearer(service: HubService, role: Role, **scope: str) -> dict[str, str]:
    token = dev_issuer.issue(service.settings, subject=f"{role.value}-試験", role=role, **scope)
    return {"Authorization": f"Bearer {token}"}


def test_the_contractor_reads_the_list_with_labels_beside_the_codes(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    business = c.RegisterCooperatingBusiness(
        command_id=uuid4(), occurred_at=AT, name="試験商店（架空）", kind="飲食", ward="tobata"
    )
    base_id = uuid4()
    base = c.RegisterCommunityBase(
        command_id=uuid4(),
        occurred_at=AT,
        base_id=base_id,
        name="試験サロン（架空）",
        kind="salon",
        ward="moji",
    )
    city = c.RegisterCooperatingBusiness(
        command_id=uuid4(), occurred_at=AT, name="架空運送", kind="運送"
    )
    for command in (base, business, city):
        service.execute(ADMIN, command)
    headers = bearer(service, Role.contractor, agency_id="hoboku-shakyo")
    answer = client.get("/partners", headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    rows = answer.json()
    assert [(r["partner_type"], r["name"], r["ward_label"]) for r in rows] == [
        ("business", "架空運送", "市内全域"),
        ("business", "試験商店（架空）", "戸畑区"),
        ("base", "試験サロン（架空）", "門司区"),
    ]
    last = rows[-1]
    assert last["partner_id"] == str(base_id)
    assert (last["kind"], last["kind_label"], last["partner_type_label"]) == (
        "salon",
        "サロン",
        "地域の拠点",
    )
    assert last["registered_at"] == "2026-04-01T09:30:00+09:00"
    assert rows[0]["ward"] is None
    admin = client.get("/partners", headers=bearer(service, Role.administrator))
    assert admin.json() == rows


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.partner_reporter, {}),
        (Role.member_agency, {"agency_id": "tobata.houkatsu"}),
        (Role.ward_officer, {"ward": "tobata"}),
        (Role.analyst, {}),
    ],
)
def test_any_other_role_is_refused_as_a_problem(
    hub: tuple[HubService, TestClient], role: Role, scope: dict[str, str]
) -> None:
    service, client = hub
    answer = client.get("/partners", headers=bearer(service, role, **scope))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert "may not read the cooperating businesses and community bases" in answer.json()["detail"]
