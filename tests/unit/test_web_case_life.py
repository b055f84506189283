"""The ward officer finishes a case's life on its page: each form records its command with
what was chosen, says a refusal beside its field in Japanese, is offered only to a role that
may give it (403 otherwise), and sent twice records once. Without a browser, over SQLite."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hub import events as ev
from hub.identity import Actor, Role
from ops.usecases import HubService
from ops.web.wording import japanese
from tests import factories as f
from tests.web_support import csrf_of, officer_case, sign_in, ticked

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


# The confirmation box of each form whose step cannot be undone (ops.web.confirm).
BOXES = {"cancel": "cancel_confirm", "close": "close_confirm", "use-stop": "use_stop_confirm"}


def post(client: TestClient, case_id: UUID, action: str, page: str, **fields: str) -> Any:
    """The form as a browser sends it, its confirmation box (if it has one) ticked."""
    box = ticked(BOXES[action]) if action in BOXES else {}
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **box, **fields}
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
        **ticked("cancel_confirm"),
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


def test_a_cancellation_naming_no_referral_of_the_case_is_said_atop_the_page(
    hub: tuple[HubService, TestClient],
) -> None:
    """The referral is the form's hidden field: one missing, mangled or of no referral of
    the case has no field to be said beside, so it is said atop the page, in Japanese."""
    service, client = hub
    case_id, _, page = referred(service, client)
    for referral in ("", "not-an-id", str(uuid4())):
        sent = post(client, case_id, "cancel", page, cancel_referral=referral, **OTHER)
        assert sent.status_code == 422, referral
        assert japanese(error_of(sent.text, "form")), referral
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


# 見守りの手配・支援の記録・評価・中断・終結 -------------------------------------------------

# Each form: its address, what is chosen, the event it records, that event's values, and the
# line the case page says after it.
RECORDED = [
    (
        "watch",
        {
            "watch_watchers": f"{WARD}.houkatsu",
            "watch_frequency": "weekly",
            "watch_note": "試験の手配\r\n二行目",
        },
        ev.WatchOverArranged,
        {"watchers": [f"{WARD}.houkatsu"], "frequency": "weekly", "note": "試験の手配\n二行目"},
        "見守り（週1回）を手配しました",
    ),
    (
        "activity",
        {
            "activity_agency": f"{WARD}.hogo",
            "activity_kind": "home_visit",
            "activity_note": "架空の支援",
        },
        ev.SupportActivityRecorded,
        {"agency_id": f"{WARD}.hogo", "kind": "home_visit", "note": "架空の支援"},
        "支援（家庭訪問）を記録しました",
    ),
    (
        "evaluation",
        {"evaluation": "improved", "evaluation_note": "架空の評価"},
        ev.CaseEvaluated,
        {"evaluation": "improved", "note": "架空の評価"},
        "評価（改善）を記録しました",
    ),
    (
        "suspend",
        {"suspend_reason": "試験の理由"},
        ev.CaseSuspended,
        {"reason": "試験の理由"},
        "支援の中断を記録しました",
    ),
    (
        "close",
        {"close_reason": "試験の終結", **ticked("close_confirm")},
        ev.CaseClosed,
        {"reason": "試験の終結"},
        "終結を記録しました",
    ),
]


def with_plan(service: HubService, case_id: UUID) -> None:
    coordinator = Actor("kakaricho-試験", Role.coordinator, ward=WARD)
    service.execute(
        coordinator,
        f.plan(
            case_id,
            lead_agency=f"{WARD}.houkatsu",
            roles=[{"agency_id": f"{WARD}.houkatsu", "role": "主担当"}],
        ),
    )


@pytest.mark.parametrize(("action", "form", "kind", "values", "said"), RECORDED)
def test_the_officer_records_each_step_of_the_support_once_however_often_sent(
    hub: tuple[HubService, TestClient],
    action: str,
    form: dict[str, str],
    kind: type,
    values: dict[str, Any],
    said: str,
) -> None:
    service, client = hub
    case_id, _ = officer_case(service, client, WARD)
    with_plan(service, case_id)
    page = client.get(f"/web/cases/{case_id}").text
    assert f'action="/web/cases/{case_id}/{action}"' in page
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **form}
    for _ in range(2):  # a second click sends the same form again
        sent = client.post(f"/web/cases/{case_id}/{action}", data=data, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == f"/web/cases/{case_id}"
    assert flash(sent) == said
    [recorded] = payloads(service, case_id, kind)
    assert {k: getattr(recorded, k) for k in values} == values


REFUSED = [
    ("watch", {"watch_frequency": "weekly"}, "watch_watchers", "必須です：1つ以上選んでください"),
    (
        "watch",
        {"watch_watchers": f"{WARD}.hogo"},
        "watch_frequency",
        "必須です：入力するか選んでください",
    ),
    (
        "activity",
        {"activity_kind": "other"},
        "activity_agency",
        "必須です：入力するか選んでください",
    ),
    (
        "activity",
        {"activity_agency": f"{WARD}.hogo", "activity_kind": "other", "activity_note": "\u200b"},
        "activity_note",
        "目に見える文字がありません",
    ),
    ("evaluation", {"evaluation": "best"}, "evaluation", "選択肢から選んでください"),
    ("suspend", {}, "suspend_reason", "必須です：入力するか選んでください"),
    ("close", {"close_reason": "一行目\n二行目"}, "close_reason", None),
]


@pytest.mark.parametrize(("action", "form", "field", "message"), REFUSED)
def test_a_step_sent_wrong_is_said_beside_its_field_in_japanese_in_the_open_form(
    hub: tuple[HubService, TestClient],
    action: str,
    form: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    service, client = hub
    case_id, _ = officer_case(service, client, WARD)
    with_plan(service, case_id)
    page = client.get(f"/web/cases/{case_id}").text
    sent = post(client, case_id, action, page, **form)
    assert sent.status_code == 422
    said = error_of(sent.text, field)
    assert said == message if message else japanese(said), said
    opened = sent.text.split(f'action="/web/cases/{case_id}/{action}"')[0].rsplit("<details", 1)
    assert opened[1].startswith(" open>"), opened[1][:80]


def test_a_closed_case_offers_no_step_and_a_step_sent_anyway_is_refused_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert f"/web/cases/{case_id}/suspend" in page
    assert "元に戻すことはできません" in page  # the close form says it is for good
    closed = post(client, case_id, "close", page, close_reason="試験の終結")
    assert closed.status_code == 303
    page = client.get(f"/web/cases/{case_id}").text
    assert 'id="support-h"' not in page
    again = post(client, case_id, "suspend", page, suspend_reason="試験")
    assert again.status_code == 422
    assert error_of(again.text, "form").startswith("この事案は終結しているため記録できません")


def test_evaluation_is_offered_only_once_there_is_a_plan_and_suspension_only_once(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, WARD)
    assert "/evaluation" not in page  # no plan yet: nothing to evaluate
    with_plan(service, case_id)
    suspended = post(client, case_id, "suspend", page, suspend_reason="試験")
    assert suspended.status_code == 303
    page = client.get(f"/web/cases/{case_id}").text
    assert "/evaluation" in page and "/suspend" not in page and "/close" in page


@pytest.mark.parametrize("action", [a for a, *_ in RECORDED])
def test_a_role_that_may_not_give_a_step_sees_no_form_and_is_refused(
    hub: tuple[HubService, TestClient], action: str
) -> None:
    """The coordinator reads the case but gives none of these but the evaluation; an agency
    gives none of them on this page."""
    service, client = hub
    case_id, _ = officer_case(service, client, WARD)
    with_plan(service, case_id)
    form = next(form for a, form, *_ in RECORDED if a == action)
    if action == "evaluation":
        sign_in(client, "member_agency", agency=f"{WARD}.hogo")
        page = client.get("/web/inbox").text
    else:
        sign_in(client, "coordinator", ward=WARD)
        page = client.get(f"/web/cases/{case_id}").text
        assert f"/web/cases/{case_id}/{action}" not in page
    sent = post(client, case_id, action, page, **form)
    assert sent.status_code == 403
    kind = next(kind for a, _, kind, *_ in RECORDED if a == action)
    assert payloads(service, case_id, kind) == []


def test_the_coordinator_is_offered_the_evaluation_it_may_give(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, _ = officer_case(service, client, WARD)
    with_plan(service, case_id)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    assert f'action="/web/cases/{case_id}/evaluation"' in page


# 利用停止の請求 -------------------------------------------------------------------------------


def consented(service: HubService, client: TestClient) -> tuple[UUID, str]:
    case_id, _ = officer_case(service, client, WARD)
    service.execute(OFFICER, f.consent(case_id, scope=[f"{WARD}.houkatsu"]))
    return case_id, client.get(f"/web/cases/{case_id}").text


def test_the_officer_records_a_use_stop_beside_the_consents_and_they_show_stopped(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = consented(service, client)
    consents = page.split('id="consents-h"')[1].split('id="person-h"')[0]
    assert f'action="/web/cases/{case_id}/use-stop"' in consents
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "use_stop_reason": "本人から利用停止の申出（試験）",
        **ticked("use_stop_confirm"),
    }
    for _ in range(2):  # a second click sends the same form again
        sent = client.post(f"/web/cases/{case_id}/use-stop", data=data, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == f"/web/cases/{case_id}"
    assert flash(sent).startswith("利用停止の請求を記録しました")
    [requested] = payloads(service, case_id, ev.UseStopRequested)
    assert requested.reason == "本人から利用停止の申出（試験）"
    table = client.get(f"/web/cases/{case_id}").text.split('id="consents"')[1].split("</table>")[0]
    assert "利用停止（" in table and " 請求）" in table and "撤回" not in table


def test_a_use_stop_of_two_lines_is_said_beside_it_and_a_closed_case_still_takes_one(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = consented(service, client)
    refused = post(client, case_id, "use-stop", page, use_stop_reason="一行目\n二行目")
    assert refused.status_code == 422
    assert japanese(error_of(refused.text, "use_stop_reason"))
    assert '<details open>\n<summary id="use-stop-open">' in refused.text
    assert post(client, case_id, "close", page, close_reason="試験の終結").status_code == 303
    page = client.get(f"/web/cases/{case_id}").text
    assert f'action="/web/cases/{case_id}/use-stop"' in page  # the person's right outlives it
    assert post(client, case_id, "use-stop", page).status_code == 303
    assert len(payloads(service, case_id, ev.UseStopRequested)) == 1


def test_a_role_that_may_not_record_a_use_stop_sees_no_form_and_is_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, _ = consented(service, client)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get(f"/web/cases/{case_id}").text
    assert "/use-stop" not in page
    assert post(client, case_id, "use-stop", page).status_code == 403
    assert payloads(service, case_id, ev.UseStopRequested) == []
