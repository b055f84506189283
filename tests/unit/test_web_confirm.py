"""A step that cannot be undone asks for a ticked box on its page (ops.web.confirm): each such
form draws the box just above its button; sent without it, nothing is recorded and the form
comes back with the message beside the box and what was typed kept; with it, the step is
recorded. The API takes the same commands without any box (integrators). Over SQLite."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub.fiscal import now
from hub.identity import Actor, Role
from ops.usecases import HubService
from ops.web.confirm import CONFIRM_LABEL, UNCONFIRMED
from tests import factories as f
from tests.web_support import csrf_of, focused, officer_case, sign_in, ticked

WARD, AGENCY = "tobata", "tobata.houkatsu"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)


@dataclass
class Form:
    path: str  # where the form posts
    page: str  # the page it is on, as drawn
    box: str  # its confirmation box
    fields: dict[str, Any]  # what the user chose and typed
    kept: str  # a value typed or chosen that the page drawn again still shows
    button: str  # the id of its button


def close(service: HubService, client: TestClient) -> Form:
    case_id, page = officer_case(service, client, WARD)
    reason = "試験の終結（架空）"
    fields = {"close_reason": reason}
    return Form(f"/web/cases/{case_id}/close", page, "close_confirm", fields, reason, "close-case")


def use_stop(service: HubService, client: TestClient) -> Form:
    case_id, _ = officer_case(service, client, WARD)
    service.execute(OFFICER, f.consent(case_id, scope=[AGENCY]))
    page = client.get(f"/web/cases/{case_id}").text
    reason = "本人から利用停止の申出（試験）"
    fields = {"use_stop_reason": reason}
    path = f"/web/cases/{case_id}/use-stop"
    return Form(path, page, "use_stop_confirm", fields, reason, "request-use-stop")


def withdraw(service: HubService, client: TestClient) -> Form:
    case_id, _ = officer_case(service, client, WARD)
    consent = f.consent(case_id, scope=[AGENCY])
    service.execute(OFFICER, consent)
    page = client.get(f"/web/cases/{case_id}").text
    chosen = str(consent.consent_id)
    fields = {"consent_id": chosen}
    path = f"/web/cases/{case_id}/withdraw"
    return Form(path, page, "withdraw_confirm", fields, chosen, "withdraw-consent")


def cancel(service: HubService, client: TestClient) -> Form:
    case_id, _ = officer_case(service, client, WARD)
    referral = f.referral(case_id, f"{WARD}.hogo")
    service.execute(OFFICER, referral)
    page = client.get(f"/web/cases/{case_id}").text
    note = "試験の補足（架空）"
    fields = {
        "cancel_referral": str(referral.referral_id),
        "cancel_reason_code": "other",
        "cancel_reason": note,
    }
    path = f"/web/cases/{case_id}/cancel"
    return Form(path, page, "cancel_confirm", fields, note, "cancel-referral-1")


def end_emergency(service: HubService, client: TestClient) -> Form:
    case_id, _ = officer_case(service, client, WARD)
    at = now()
    declared = f.emergency(
        case_id, agencies=[AGENCY], occurred_at=at, expires_at=at + timedelta(days=3)
    )
    service.execute(OFFICER, declared)
    page = client.get(f"/web/cases/{case_id}").text
    chosen = str(declared.declaration_id)
    fields = {"end_declaration_id": chosen}
    path = f"/web/cases/{case_id}/end-emergency"
    return Form(path, page, "end_emergency_confirm", fields, chosen, "end-emergency")


def declare(service: HubService, client: TestClient) -> Form:
    case_id, page = officer_case(service, client, WARD)
    reason = "試験：安否不明（架空）"
    fields = {
        "emergency_agencies": [AGENCY],
        "emergency_categories": ["identity"],
        "emergency_reason": reason,
        "emergency_until": (now().date() + timedelta(days=3)).isoformat(),
    }
    path = f"/web/cases/{case_id}/emergency"
    return Form(path, page, "emergency_confirm", fields, reason, "declare-emergency")


def clear(service: HubService, client: TestClient) -> Form:
    case_id, _ = officer_case(service, client, WARD)
    person = {"name": "試験 太郎", "phone": "093-000-0000"}
    service.execute(
        OFFICER, f.build(c.RecordPersonDetails, case_id=case_id, person=person, occurred_at=now())
    )
    page = client.get(f"/web/cases/{case_id}").text
    fields = {"clear_fields": "phone"}
    path = f"/web/cases/{case_id}/clear"
    return Form(path, page, "clear_confirm", fields, 'value="phone" checked', "clear-person")


def business(service: HubService, client: TestClient) -> Form:
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    name = "試験商店（架空）"
    fields = {"business_name": name, "business_kind": "飲食", "business_ward": WARD}
    button = "register-business-send"
    return Form("/web/network/business", page, "business_confirm", fields, name, button)


def base(service: HubService, client: TestClient) -> Form:
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    name = "試験サロン（架空）"
    fields = {"base_name": name, "base_kind": "kodomo_shokudo", "base_ward": "moji"}
    return Form("/web/network/base", page, "base_confirm", fields, name, "register-base-send")


def review(service: HubService, client: TestClient) -> Form:
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    sensitive = {"sensitive_categories": ["health"], "sensitive_reason": "試験の理由"}
    declared = f.emergency(case.case_id, agencies=[AGENCY], **sensitive)
    service.execute(OFFICER, declared)
    sign_in(client, "auditor")
    page = client.get("/web/reviews").text
    did = declared.declaration_id
    note = "試験の所見（架空）"
    fields = {"verdict": "justified", "note": note}
    return Form(f"/web/reviews/{did}", page, f"confirm-{did}", fields, note, f"review-{did}")


FORMS: dict[str, Callable[[HubService, TestClient], Form]] = {
    "終結": close,
    "利用停止の請求": use_stop,
    "同意の撤回": withdraw,
    "紹介の取り消し": cancel,
    "緊急時の宣言": declare,
    "緊急時の宣言の終了": end_emergency,
    "本人の情報の項目を消す": clear,
    "協力事業者の登録": business,
    "地域の拠点の登録": base,
    "緊急時提供の審査": review,
}


def events_in(service: HubService) -> int:
    return int(service.app.recorder.max_notification_id() or 0)


def send(client: TestClient, form: Form, **extra: str) -> Any:
    data = {"csrf_token": csrf_of(form.page), "command_id": str(uuid4()), **form.fields, **extra}
    return client.post(form.path, data=data, follow_redirects=False)


def form_html(page: str, form: Form) -> str:
    start = page.index(f'action="{form.path}"')
    return page[start : page.index("</form>", start)]


@pytest.mark.parametrize("name", FORMS)
def test_each_step_that_cannot_be_undone_draws_its_box_just_above_its_button(
    hub: tuple[HubService, TestClient], name: str
) -> None:
    service, client = hub
    form = FORMS[name](service, client)
    drawn = form_html(form.page, form)
    box = drawn.index(f'name="{form.box}" value="yes" required')
    rest = drawn[box:]
    assert CONFIRM_LABEL in rest[: rest.index("</label>")]
    between = rest[rest.index("</label>") : rest.index("<button")]
    assert "<input" not in between and "<select" not in between and "<textarea" not in between
    button = rest[rest.index("<button") :]
    assert f'id="{form.button}"' in button[: button.index(">")]


@pytest.mark.parametrize("name", FORMS)
def test_a_step_sent_without_its_box_records_nothing_and_says_so_beside_the_box(
    hub: tuple[HubService, TestClient], name: str
) -> None:
    service, client = hub
    form = FORMS[name](service, client)
    before = events_in(service)
    refused = send(client, form)
    assert refused.status_code == 422, refused.text
    said = re.search(
        rf'<p class="error" id="{re.escape(form.box)}-error">([^<]*)</p>', refused.text
    )
    assert said and said.group(1) == UNCONFIRMED
    assert form.kept in refused.text  # what was typed or chosen is drawn again
    assert f'aria-describedby="{form.box}-error" aria-invalid="true"' in refused.text
    # The page comes back at its top, the form far below in its reopened <details>: the box
    # takes the focus as the page loads (no script), and it alone.
    assert focused(refused.text).startswith('<input type="checkbox"')
    assert f'name="{form.box}"' in focused(refused.text)
    assert events_in(service) == before
    # A box sent with another value than a browser's is no tick either.
    assert send(client, form, **{form.box: "no"}).status_code == 422
    assert events_in(service) == before


@pytest.mark.parametrize("name", FORMS)
def test_a_step_sent_with_its_box_ticked_is_recorded(
    hub: tuple[HubService, TestClient], name: str
) -> None:
    service, client = hub
    form = FORMS[name](service, client)
    before = events_in(service)
    sent = send(client, form, **ticked(form.box))
    assert sent.status_code == 303, sent.text
    assert events_in(service) > before


def test_the_box_is_said_with_the_forms_other_errors_at_once(
    hub: tuple[HubService, TestClient],
) -> None:
    """One round trip tells everything left to do: the missing reason and the box."""
    service, client = hub
    form = cancel(service, client)
    refused = send(client, form, cancel_reason_code="")
    assert refused.status_code == 422
    assert 'id="cancel_reason_code-error"' in refused.text
    assert f'id="cancel_confirm-error">{UNCONFIRMED}' in refused.text
    assert re.search(r'<details class="cancel-referral" id="cancel-[^"]+" open>', refused.text)


def test_a_role_that_may_not_take_the_step_is_refused_before_the_box_is_asked_for(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    form = close(service, client)
    sign_in(client, "coordinator", ward="moji")  # another ward's coordinator
    page = client.get("/web/coordinator").text
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **form.fields}
    refused = client.post(form.path, data=data, follow_redirects=False)
    assert refused.status_code == 403 and UNCONFIRMED not in refused.text


def test_the_command_itself_takes_no_box(hub: tuple[HubService, TestClient]) -> None:
    """The API, the CLI and the Python API give the command alone: integrators are unchanged."""
    service, _ = hub
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    service.execute(OFFICER, f.build(c.CloseCase, case_id=case.case_id, reason="試験"))
    events = service.app.events.get(case.case_id)  # type: ignore[attr-defined]
    assert type(list(events)[-1].payload).__name__ == "CaseClosed"


# An answer that ends a referral (辞退, 完了) cannot be taken back; the progress answers of
# the same form (受付, 受諾, 対応中, 保留) need no box.


def referred(service: HubService) -> tuple[str, str]:
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    referral = f.referral(case.case_id, f"{WARD}.hogo")
    service.execute(OFFICER, referral)
    return str(case.case_id), str(referral.referral_id)


def test_an_agencys_decline_asks_for_its_box_a_progress_answer_does_not(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    _, rid = referred(service)
    sign_in(client, "member_agency", agency=f"{WARD}.hogo")
    page = client.get("/web/inbox").text
    form = page[page.index(f'action="/web/inbox/{rid}/answer"') :]
    form = form[: form.index("</form>")]
    assert f'name="confirm-{rid}" value="yes"' in form and "辞退・完了は取り消せない" in form
    path = f"/web/inbox/{rid}/answer"
    decline = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "answer": "declined",
        "reason_code": "capacity",
        "reason": "試験の補足（架空）",
    }
    before = events_in(service)
    refused = client.post(path, data=decline)
    assert refused.status_code == 422
    assert f'id="confirm-{rid}-error">{UNCONFIRMED}' in refused.text
    # It quotes words of this box's own label (辞退・完了は…), not another form's.
    label = refused.text.split(f'<label for="confirm-{rid}">')[1].split("</label>")[0]
    (quoted,) = re.findall("「([^」]+)」", UNCONFIRMED)
    assert quoted in label
    assert (
        'value="試験の補足（架空）"' in refused.text and 'value="capacity" selected' in refused.text
    )
    assert events_in(service) == before
    # Without its reason too: both said at once.
    both = client.post(path, data={**decline, "reason_code": ""})
    assert f'id="reason_code-{rid}-error"' in both.text
    assert f'id="confirm-{rid}-error"' in both.text
    assert events_in(service) == before
    received = {**decline, "command_id": str(uuid4()), "answer": "received", "reason_code": ""}
    assert client.post(path, data=received, follow_redirects=False).status_code == 303
    after_received = events_in(service)
    assert after_received > before
    ticked_decline = {**decline, **ticked(f"confirm-{rid}")}
    assert client.post(path, data=ticked_decline, follow_redirects=False).status_code == 303
    assert events_in(service) > after_received


def test_a_decline_taken_by_phone_asks_for_its_box(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    case_id, rid = referred(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    assert f'name="phone_confirm-{rid}" value="yes"' in page
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "case_id": case_id,
        "referral_id": rid,
        "answer": "declined",
        "reason_code": "capacity",
    }
    before = events_in(service)
    refused = client.post("/web/coordinator/answer", data=data)
    assert refused.status_code == 422
    assert f'id="phone_confirm-{rid}-error">{UNCONFIRMED}' in refused.text
    assert re.search(rf'<details open>\s*<summary id="phone-open-{rid}"', refused.text)
    assert events_in(service) == before
    sent = client.post(
        "/web/coordinator/answer",
        data={**data, **ticked(f"phone_confirm-{rid}")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert events_in(service) > before


def test_an_ending_answer_padded_or_given_twice_still_asks_for_its_box(
    hub: tuple[HubService, TestClient],
) -> None:
    # The answer the command takes is the form's text trimmed (its first value when given
    # twice); the box was asked only of the exact "declined", so " declined" (a crafted form)
    # ended the referral unticked, and the answer given twice was a 500.
    service, client = hub
    case_id, rid = referred(service)
    sign_in(client, "member_agency", agency=f"{WARD}.hogo")
    page = client.get("/web/inbox").text
    path = f"/web/inbox/{rid}/answer"
    decline = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "answer": " declined ",
        "reason_code": "capacity",
    }
    before = events_in(service)
    refused = client.post(path, data=decline)
    assert refused.status_code == 422
    assert f'id="confirm-{rid}-error">{UNCONFIRMED}' in refused.text
    twice = client.post(path, data={**decline, "answer": ["completed", "declined"]})
    assert twice.status_code == 422, twice.status_code
    assert events_in(service) == before
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "case_id": case_id,
        "referral_id": rid,
        "answer": "declined\t",
        "reason_code": "capacity",
    }
    refused = client.post("/web/coordinator/answer", data=data)
    assert refused.status_code == 422
    assert f'id="phone_confirm-{rid}-error">{UNCONFIRMED}' in refused.text
    assert events_in(service) == before
