"""The coordinator's forms beside each referral awaiting an answer: 督促 (EscalateReferral)
and an answer the agency gave by phone, recorded on its behalf (AnswerReferral with
``recorded_by``). Without a browser, over a real SQLite store."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from consumers.config import get_consumer_settings
from hub import events as ev
from hub.fiscal import now
from hub.identity import Actor, Role
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import csrf_of, focused, sign_in, ticked

WARD, AGENCY = "tobata", "tobata.hoken"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)


def referred(service: HubService) -> tuple[UUID, UUID]:
    """A case of WARD referred to AGENCY, awaiting its answer."""
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    referral = f.referral(case.case_id, AGENCY)
    service.execute(OFFICER, referral)
    return case.case_id, referral.referral_id


def send(client: TestClient, case_id: UUID, referral_id: UUID, act: str, **fields: str) -> Any:
    page = client.get("/web/coordinator").text
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **fields}
    data = ids(case_id, referral_id, data)
    return client.post(f"/web/coordinator/{act}", data=data, follow_redirects=False)


def ids(case_id: UUID, referral_id: UUID, data: dict[str, str]) -> dict[str, str]:
    return {**data, "case_id": str(case_id), "referral_id": str(referral_id)}


def payloads(service: HubService, case_id: UUID, kind: type) -> list[Any]:
    events = service.app.events.get(case_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, kind)]


def test_the_coordinator_escalates_a_referral_awaiting_an_answer_once(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    assert f'href="#act-{referral_id}"' in page
    assert f'id="escalate-{referral_id}"' in page
    data = ids(case_id, referral_id, {"csrf_token": csrf_of(page), "command_id": str(uuid4())})
    path = "/web/coordinator/escalate"
    sent = client.post(path, data=data, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    again = client.post(path, data=data, follow_redirects=False)  # a second click
    assert again.status_code == 303, again.text
    escalated = payloads(service, case_id, ev.ReferralEscalated)
    assert len(escalated) == 1
    assert escalated[0].agency_id == AGENCY
    assert escalated[0].coordinator == f"{WARD}.coordinator"
    # Minutes past the timer's deadline, as the timer counts them (the CLI's 超過).
    referral = service.case(OFFICER, case_id)["referrals"][0]
    made_at = datetime.fromisoformat(referral["made_at"])
    deadline = get_consumer_settings().ack_deadline("soon", made_at)
    late = int((escalated[0].occurred_at - deadline).total_seconds() // 60)
    assert late > 0 and escalated[0].overdue_minutes == late
    shown = client.get("/web/coordinator").text
    assert f"紹介 {str(referral_id)[:8]}（戸畑区 地域保健" in shown  # the flash names it
    assert "を督促しました" in shown
    assert f'id="escalate-{referral_id}"' not in shown  # escalated once: no form again
    assert f'id="escalated-{referral_id}"' in shown


def test_a_referral_escalated_before_its_deadline_is_overdue_by_no_minute(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    referral = f.referral(case.case_id, AGENCY, occurred_at=now())
    service.execute(OFFICER, referral)
    sign_in(client, "coordinator", ward=WARD)
    assert send(client, case.case_id, referral.referral_id, "escalate").status_code == 303
    [escalated] = payloads(service, case.case_id, ev.ReferralEscalated)
    assert escalated.overdue_minutes == 0


def test_an_escalation_already_made_is_refused_atop_the_page_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    assert send(client, case_id, referral_id, "escalate").status_code == 303
    refused = send(client, case_id, referral_id, "escalate")  # another form, drawn before
    assert refused.status_code == 422
    error = re.search(r'<p class="error" role="alert" id="form-error">([^<]+)</p>', refused.text)
    assert error and re.search(r"[ぁ-んァ-ン一-龥]", error.group(1)[:10]), refused.text
    assert len(payloads(service, case_id, ev.ReferralEscalated)) == 1


def test_the_coordinator_records_an_answer_given_by_phone_on_the_agencys_behalf(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    assert f'id="phone-{referral_id}"' in page
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "answer": "declined",
        "reason_code": "capacity",
        "reason": "架空の補足",
        **ticked(f"phone_confirm-{referral_id}"),  # a decline cannot be taken back
    }
    data = ids(case_id, referral_id, data)
    path = "/web/coordinator/answer"
    sent = client.post(path, data=data, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    again = client.post(path, data=data, follow_redirects=False)  # a second click
    assert again.status_code == 303, again.text
    answered = payloads(service, case_id, ev.ReferralAnswered)
    assert len(answered) == 1
    assert (answered[0].agency_id, answered[0].answer) == (AGENCY, "declined")
    assert (answered[0].reason_code, answered[0].reason) == ("capacity", "架空の補足")
    assert answered[0].recorded_by == f"{WARD}.coordinator"
    shown = client.get("/web/coordinator").text
    assert "への回答（辞退）を、電話で受けた回答として代理で記録しました" in shown
    assert f'id="phone-{referral_id}"' not in shown  # answered: no longer awaiting


def test_a_decline_by_phone_without_its_reason_is_said_beside_the_reason_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    refused = send(client, case_id, referral_id, "answer", answer="declined")
    assert refused.status_code == 422
    key = f"phone_reason_code-{referral_id}"
    assert (
        f'<p class="error" id="{key}-error">辞退するときは、辞退の理由を選んでください</p>'
        in refused.text
    )
    assert f'aria-describedby="{key}-error"' in refused.text
    assert re.search(rf'<details open>\s*<summary id="phone-open-{referral_id}"', refused.text)
    assert focused(refused.text).startswith(f'<select id="{key}"')  # its field, drawn by hand
    nothing = send(client, case_id, referral_id, "answer")
    assert f'id="phone_answer-{referral_id}-error">必須です' in nothing.text
    assert focused(nothing.text).startswith(f'<select id="phone_answer-{referral_id}"')
    assert payloads(service, case_id, ev.ReferralAnswered) == []


def test_roles_without_the_commands_see_no_form_and_are_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    token = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), "answer": "accepted"}
    for role, extra in (("ward_officer", {"ward": WARD}), ("member_agency", {"agency": AGENCY})):
        sign_in(client, role, **extra)
        home = client.get("/web/officer" if role == "ward_officer" else "/web/inbox").text
        assert f'id="escalate-{referral_id}"' not in home
        assert f'id="phone-{referral_id}"' not in home
        data = ids(case_id, referral_id, {**token, "csrf_token": csrf_of(home)})
        for act in ("escalate", "answer"):
            path = f"/web/coordinator/{act}"
            assert client.post(path, data=data).status_code == 403, (role, act)
    sign_in(client, "coordinator", ward="kokurakita")  # another ward's coordinator
    other = client.get("/web/coordinator").text
    assert str(referral_id) not in other
    data = ids(case_id, referral_id, {**token, "csrf_token": csrf_of(other)})
    assert client.post("/web/coordinator/answer", data=data).status_code == 403
    assert payloads(service, case_id, ev.ReferralAnswered) == []
    assert payloads(service, case_id, ev.ReferralEscalated) == []


def test_a_referral_not_of_the_case_named_is_the_404_page_and_the_address_leads_to_the_page(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, _ = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    for act in ("escalate", "answer"):
        refused = send(client, case_id, uuid4(), act, answer="accepted")
        assert refused.status_code == 404
        assert "このケースにこの紹介はありません" in refused.text
        opened = client.get(f"/web/coordinator/{act}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/web/coordinator"
