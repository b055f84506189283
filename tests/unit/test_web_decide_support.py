"""The coordinator's 支援の決定 (DecideSupport) form: a meeting that took up the case names
the agency that leads. Without a browser, over a real SQLite store."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from hub import events as ev
from hub.identity import Actor, Role
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import csrf_of, sign_in

WARD, LEAD = "tobata", "tobata.houkatsu"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
COORDINATOR = Actor("kakaricho-試験", Role.coordinator, ward=WARD)


def taken_up(service: HubService) -> tuple[UUID, UUID]:
    """A case of WARD taken up by a つながりづくり会議."""
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    meeting = f.meeting([case.case_id], ward=WARD, members=[f"{WARD}.coordinator", LEAD])
    service.execute(COORDINATOR, meeting)
    return case.case_id, meeting.meeting_id


def decided(service: HubService, case_id: UUID) -> list[ev.SupportDecided]:
    events = service.app.events.get(case_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, ev.SupportDecided)]


def form(page: str, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **fields}


def test_the_coordinator_records_the_support_decided_by_a_meeting_once(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, meeting_id = taken_up(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    assert f'<option value="{case_id} {meeting_id}">ケース {str(case_id)[:8]}（' in page
    sent = form(page, decide_on=f"{case_id} {meeting_id}", decide_lead_agency=LEAD)
    first = client.post("/web/coordinator/decide", data=sent, follow_redirects=False)
    assert first.status_code == 303, first.text
    again = client.post("/web/coordinator/decide", data=sent, follow_redirects=False)
    assert again.status_code == 303  # a second click: recorded once
    [made] = decided(service, case_id)
    assert (made.meeting_id, made.lead_agency) == (meeting_id, LEAD)
    shown = client.get("/web/coordinator").text
    assert (
        f"ケース {str(case_id)[:8]} の支援を決定しました（主担当：戸畑区 地域包括支援センター）"
        in shown
    )


def test_a_decision_sent_empty_says_both_fields_in_japanese_beside_them(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, _ = taken_up(service)
    sign_in(client, "coordinator", ward=WARD)
    refused = client.post("/web/coordinator/decide", data=form(client.get("/web/coordinator").text))
    assert refused.status_code == 422
    assert 'id="decide_on-error">会議で取り上げたケースを選んでください（必須）' in refused.text
    assert 'id="decide_lead_agency-error">主担当機関を選んでください（必須）' in refused.text
    assert 'aria-describedby="decide_on-error"' in refused.text
    assert decided(service, case_id) == []


def test_roles_without_the_command_see_no_form_and_are_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, meeting_id = taken_up(service)
    for role, extra in (("ward_officer", {"ward": WARD}), ("member_agency", {"agency": LEAD})):
        sign_in(client, role, **extra)
        home = client.get("/web/officer" if role == "ward_officer" else "/web/inbox").text
        assert 'id="decide-support"' not in home
        assert client.get("/web/coordinator").status_code == 403
        sent = form(home, decide_on=f"{case_id} {meeting_id}", decide_lead_agency=LEAD)
        assert client.post("/web/coordinator/decide", data=sent).status_code == 403, role
    assert decided(service, case_id) == []
