"""The registered 協力事業者 and 地域の拠点, as the administrator and the contractor read
them: a fold of the log, asked of the policy as every read is (organisations only, but the
check is kept)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub.errors import PermissionDeniedError
from hub.identity import Actor, Role
from ops.usecases import HubService
from projections.audit import source
from projections.audit.source import log_entries
from projections.partners import partners_of, partners_view
from tests import factories as f
from tests.web_support import hub

__all__ = ["hub"]  # the fixture

ADMIN = Actor("administrator-試験", Role.administrator)
AT = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)


def test_the_administrator_reads_each_registration_oldest_first(
    hub: tuple[HubService, TestClient],
) -> None:
    service, _ = hub
    first = c.RegisterCooperatingBusiness(
        command_id=uuid4(),
        occurred_at=AT,
        business_id=uuid4(),
        name="試験商店（架空）",
        kind="飲食",
    )
    base = c.RegisterCommunityBase(
        command_id=uuid4(),
        occurred_at=AT,
        base_id=uuid4(),
        name="試験サロン（架空）",
        kind="salon",
        ward="kokurakita",
    )
    second = c.RegisterCooperatingBusiness(
        command_id=uuid4(),
        occurred_at=AT,
        business_id=uuid4(),
        name="試験農園（架空）",
        kind="農業",
        ward="tobata",
    )
    for command in (first, base, second):
        service.execute(ADMIN, command)
    partners = service.partners(ADMIN)
    assert [(p.name, p.ward) for p in partners.businesses] == [
        ("試験商店（架空）", None),
        ("試験農園（架空）", "tobata"),
    ]
    (read,) = partners.bases
    assert (read.partner_id, read.kind, read.registered_at) == (str(base.base_id), "salon", AT)


def test_the_contractor_reads_them_by_type_ward_and_name(
    hub: tuple[HubService, TestClient],
) -> None:
    """The list the contractor chooses from (its page, GET /partners, hub network partners):
    businesses then bases, each by ward in the city's order (the whole city first), by name."""
    service, _ = hub
    for name, ward in (
        ("試験農園（架空）", "tobata"),
        ("架空食堂", "moji"),
        ("試験運送（架空）", None),
    ):
        business = c.RegisterCooperatingBusiness(
            command_id=uuid4(), occurred_at=AT, name=name, kind="飲食", ward=ward
        )
        service.execute(ADMIN, business)
    base = c.RegisterCommunityBase(
        command_id=uuid4(), occurred_at=AT, name="試験サロン（架空）", kind="salon", ward="moji"
    )
    service.execute(ADMIN, base)
    contractor = Actor("contractor-試験", Role.contractor, agency_id="hoboku-shakyo")
    rows = service.partner_list(contractor)
    assert [(r.partner_type_label, r.name, r.ward_label, r.kind_label) for r in rows] == [
        ("協力事業者", "試験運送（架空）", "市内全域", "飲食"),
        ("協力事業者", "架空食堂", "門司区", "飲食"),
        ("協力事業者", "試験農園（架空）", "戸畑区", "飲食"),
        ("地域の拠点", "試験サロン（架空）", "門司区", "サロン"),
    ]


READERS = (Role.administrator, Role.contractor)


@pytest.mark.parametrize("role", [r for r in Role if r not in READERS])
def test_no_other_role_reads_them(
    hub: tuple[HubService, TestClient],
    role: Role,
) -> None:
    service, _ = hub
    with pytest.raises(PermissionDeniedError):
        actor = Actor("試験", role, ward="tobata" if role.value != "operator" else None)
        service.partners(actor)
    with pytest.raises(PermissionDeniedError):
        service.partner_list(actor)


def test_a_view_decodes_the_registrations_alone_not_the_whole_log(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store picks the registrations' rows (and their ends') out by their topic: a
    view's time does not grow with the log's cases (a year's log: ~1 s before, a few ms)."""
    service, _ = hub
    officer = Actor("officer-試験", Role.ward_officer, ward="tobata")
    for _ in range(5):
        service.execute(officer, f.open_case(ward="tobata"))
    business = c.RegisterCooperatingBusiness(
        command_id=uuid4(), occurred_at=AT, name="試験商店（架空）", kind="飲食"
    )
    service.execute(ADMIN, business)
    whole = partners_view(log_entries(service.app))
    decoded: list[int] = []
    real = source._entry

    def counted(app: Any, notification: Any) -> Any:
        decoded.append(notification.id)
        return real(app, notification)

    monkeypatch.setattr(source, "_entry", counted)
    assert partners_of(service.app) == whole
    assert len(decoded) == 1
