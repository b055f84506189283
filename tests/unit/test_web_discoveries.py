"""The ward's discoveries awaiting a case: a partner's report reaches the 窓口's page (and
``GET /discoveries``) until a case is opened from it or it is erased. Codes and times only:
never the report's note, never another ward's."""

from __future__ import annotations

from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hub.errors import PermissionDeniedError, UnknownWardError
from hub.identity import Actor, Role
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import sign_in

WARD, OTHER = "tobata", "moji"
PARTNER = Actor("partner-試験", Role.partner_reporter)
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
ADMINISTRATOR = Actor("admin-試験", Role.administrator)


def reported(service: HubService, ward: str, urgency: str, days: float) -> UUID:
    discovery = f.discovery(ward=ward, urgency=urgency, occurred_at=f.at(days))
    service.execute(PARTNER, discovery)
    return discovery.discovery_id


def test_a_partners_discovery_waits_on_the_wards_page_until_a_case_is_opened(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    soon = reported(service, WARD, "soon", 0)
    urgent = reported(service, WARD, "urgent", 1)  # later, but more urgent: listed first
    elsewhere = reported(service, OTHER, "life_at_risk", 0)
    erased = reported(service, WARD, "routine", 2)
    service.app.erase_discovery(erased, decided_by="試験課", reason="試験", actor=ADMINISTRATOR)

    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    table = page.split('id="awaiting-discoveries"')[1].split("</table>")[0]
    assert table.index(str(urgent)[:8]) < table.index(str(soon)[:8])
    assert str(elsewhere)[:8] not in table and str(erased)[:8] not in table
    assert f'href="/web/officer/discoveries/{urgent}"' in table
    assert "至急" in table  # the urgency's Japanese label, not its code
    assert "urgent" not in table.replace(f"{urgent}", "")
    assert f.SYNTHETIC_NOTE not in page

    opening = client.get(f"/web/officer/discoveries/{urgent}").text
    assert "受付" in opening.split('id="discovery"')[1].split("</p>")[0]

    service.execute(OFFICER, f.open_case(ward=WARD, discovery_id=urgent))
    table = client.get("/web/officer").text.split('id="awaiting-discoveries"')[1]
    assert str(urgent)[:8] not in table.split("</table>")[0]
    assert str(soon)[:8] in table.split("</table>")[0]

    # The coordinator of the ward sees the list; only the window opens cases from it.
    sign_in(client, "coordinator", ward=WARD)
    table = client.get("/web/officer").text.split('id="awaiting-discoveries"')[1]
    assert str(soon)[:8] in table.split("</table>")[0] and "/web/officer/discoveries/" not in table


def test_the_list_follows_the_log_as_it_grows_and_keeps_to_the_callers_ward(
    hub: tuple[HubService, TestClient],
) -> None:
    service, _ = hub
    first = reported(service, WARD, "soon", 0)
    assert [d["discovery_id"] for d in service.awaiting_discoveries(OFFICER)] == [str(first)]
    second = reported(service, WARD, "soon", -1)  # reported later, dated earlier: first
    listed = service.awaiting_discoveries(OFFICER)
    assert [d["discovery_id"] for d in listed] == [str(second), str(first)]
    assert set(listed[0]) == {
        "discovery_id", "ward", "reported_at", "urgency", "reporter_kind", "signs",
    }  # fmt: skip
    assert listed[0]["reported_at"] < listed[1]["reported_at"]
    with pytest.raises(PermissionDeniedError):
        service.awaiting_discoveries(OFFICER, OTHER)
    with pytest.raises(PermissionDeniedError):
        service.awaiting_discoveries(Actor("analyst-試験", Role.analyst))
    with pytest.raises(PermissionDeniedError):
        service.awaiting_discoveries(PARTNER, WARD)  # who reported may not read them back
    with pytest.raises(PermissionDeniedError):
        service.awaiting_discoveries(Actor("auditor-試験", Role.auditor))
    operator = Actor("operator-試験", Role.operator)  # every ward, or one named
    assert {d["ward"] for d in service.awaiting_discoveries(operator)} == {WARD}
    reported(service, OTHER, "soon", 0)
    assert {d["ward"] for d in service.awaiting_discoveries(operator)} == {WARD, OTHER}
    assert {d["ward"] for d in service.awaiting_discoveries(operator, OTHER)} == {OTHER}
    with pytest.raises(UnknownWardError):
        service.awaiting_discoveries(operator, "nowhere")


def test_a_discovery_already_a_case_another_wards_or_none_offers_no_form(
    hub: tuple[HubService, TestClient],
) -> None:
    """A colleague opened the case a minute ago, the list was stale, or the id was typed: the
    page says so (and leads to the case) instead of a form that can only be refused."""
    service, client = hub
    opened = reported(service, WARD, "urgent", 0)
    case = f.open_case(ward=WARD, discovery_id=opened)
    service.execute(OFFICER, case)
    elsewhere = reported(service, OTHER, "urgent", 0)
    erased = reported(service, WARD, "routine", 1)
    service.app.erase_discovery(erased, decided_by="試験課", reason="試験", actor=ADMINISTRATOR)

    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/officer/discoveries/{opened}")
    assert page.status_code == 200
    assert 'id="open-case"' not in page.text
    said = page.text.split('id="discovery"')[1].split("</p>")[0]
    assert "すでにケース" in said and f'href="/web/cases/{case.case_id}"' in said
    page = client.get(f"/web/officer/discoveries/{erased}")
    assert 'id="open-case"' not in page.text and "消去" in page.text
    for refused in (elsewhere, UUID(int=7)):
        page = client.get(f"/web/officer/discoveries/{refused}")
        assert page.status_code == 403 and 'id="open-case"' not in page.text
        assert "<title>権限がありません" in page.text


def test_the_form_says_the_reports_person_carries_over_only_when_it_names_one(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    named = f.discovery(ward=WARD, person=f.person())
    service.execute(PARTNER, named)
    unnamed = reported(service, WARD, "soon", 0)

    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/officer/discoveries/{named.discovery_id}").text
    assert 'id="carried-over"' in page and "引き継がれます" in page
    # The officer does not see the report here: the page says what a field typed does.
    assert "置き換わり" in page and "空欄の項目は報告のまま" in page
    assert f.SYNTHETIC_NAME not in page  # that it names someone, never who
    assert 'id="carried-over"' not in client.get(f"/web/officer/discoveries/{unnamed}").text


def test_a_report_whose_person_states_no_field_names_no_one_on_the_form(
    hub: tuple[HubService, TestClient],
) -> None:
    """An integration may send ``"person": {}``: nothing carries over, and the form says
    nothing does."""
    service, client = hub
    empty = f.discovery(ward=WARD, person={})
    service.execute(PARTNER, empty)

    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/officer/discoveries/{empty.discovery_id}").text
    assert 'id="open-case"' in page and 'id="carried-over"' not in page
