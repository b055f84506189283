"""The ward officer finishes a case's life on its page: each form records its command with
what was chosen, says a refusal beside its field in Japanese, is offered only to a role that
may give it (403 otherwise), and sent twice records once. Without a browser, over SQLite."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from hub import events as ev
from hub.identity import Actor, Role
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import csrf_of, officer_case, sign_in

WARD = "tobata"
OTHER = {"cancel_reason_code": "other"}
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)


def payloads(service: HubService, case_id: UUID, kind: type) -> list[Any]:
    events = service.app.events.get(case_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, kind)]


def error_of(page: str, field: str) -> str:
    found = re.search(rf'<p class="error"[^>]*? id="{field}-error">([^<]*)</p>', page)
    assert found, f"nothing said beside {field}"
    return found.group(1)


def flash(sent: Any) -> str:
    cookie = next(v for k, v in sent.cookies.items() if k.endswith("flash"))
    return unquote(cookie)


def post(client: TestClient, case_id: UUID, action: str, page: str, **fields: str) -> Any:
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **fields}
    return client.post(f"/web/cases/{case_id}/{action}", data=data, follow_redirects=False)


# 紹介の取り消し -----------------------------------------------------------------------------


def referred(service: HubService, client: TestClient) -> tuple[UUID, UUID, str]:
    case_id, _ = officer_case(service, client, WARD)
    referral = f.referral(case_id, f"{WARD}.hogo")
    service.execute(OFFICER, referral)
    return case_id, referral.referral_id, client.get(f"/web/cases/{case_id}").text


def test_the_officer_cancels_a_referral_beside_it_and_the_resend_records_once(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id, page = referred(service, client)
    assert f'id="cancel-{referral_id}"' in page
    form = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "cancel_referral": str(referral_id),
        "cancel_reason_code": "referred_elsewhere",
        "cancel_reason": "試験の補足",
    }
    for _ in range(2):  # a second click sends the same form again
        sent = client.post(f"/web/cases/{case_id}/cancel", data=form, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == f"/web/cases/{case_id}"
    assert flash(sent) == "戸畑区 保護課への紹介を取り消しました"
    [cancelled] = payloads(service, case_id, ev.ReferralCancelled)
    assert cancelled.referral_id == referral_id
    assert (cancelled.reason_code, cancelled.reason) == ("referred_elsewhere", "試験の補足")
    page = client.get(f"/web/cases/{case_id}").text
    assert f'id="cancel-{referral_id}"' not in page  # ended: no form to cancel it again
    assert "取消（他機関へつないだ）" in page


def test_a_cancellation_without_its_reason_or_of_a_referral_ended_meanwhile_is_said(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id, page = referred(service, client)
    missing = post(client, case_id, "cancel", page, cancel_referral=str(referral_id))
    assert missing.status_code == 422
    assert error_of(missing.text, "cancel_reason_code") == "必須です：入力するか選んでください"
    assert f'<details class="cancel-referral" id="cancel-{referral_id}" open>' in missing.text
    declined = f.answer(case_id, referral_id, f"{WARD}.hogo", "declined", reason_code="other")
    service.execute(Actor("agency-試験", Role.member_agency, agency_id=f"{WARD}.hogo"), declined)
    late = post(client, case_id, "cancel", page, **{"cancel_referral": str(referral_id), **OTHER})
    assert late.status_code == 422
    # Its form is gone with its end: said atop the page, the table showing how it ended.
    assert error_of(late.text, "form").startswith("この紹介はすでに終了している")
    assert "辞退（その他）" in late.text
    assert payloads(service, case_id, ev.ReferralCancelled) == []


def test_a_role_that_may_not_cancel_sees_no_form_and_is_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, referral_id, _ = referred(service, client)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    assert "/cancel" not in page and "cancel-" not in page
    sent = post(client, case_id, "cancel", page, **{"cancel_referral": str(referral_id), **OTHER})
    assert sent.status_code == 403
    assert payloads(service, case_id, ev.ReferralCancelled) == []
