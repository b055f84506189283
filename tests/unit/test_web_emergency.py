"""The case page's emergency step: an officer declares an emergency (vital interest: the
person's details to the agencies named, without consent) and ends one in force. Without a
browser, over a real SQLite store."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from hub import events as ev
from hub.fiscal import JST, now
from ops.usecases import HubService
from tests.web_support import csrf_of, officer_case, sign_in, ticked

WARD, AGENCY = "tobata", "tobata.houkatsu"


def declaration(page: str, **fields: Any) -> dict[str, Any]:
    """The declaration form as an officer sends it: for AGENCY, identity and health (with
    why), until three days from today."""
    until = (now().astimezone(JST).date() + timedelta(days=3)).isoformat()
    return {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "emergency_agencies": [AGENCY],
        "emergency_categories": ["identity", "contact"],
        "emergency_reason": "試験：安否不明（架空）",
        "emergency_until": until,
        "emergency_sensitive": ["health"],
        "emergency_sensitive_reason": "試験：持病と服薬の確認（架空）",
        **ticked("emergency_confirm"),  # what is given cannot be taken back
        **fields,
    }


def declared(service: HubService, case_id: UUID) -> list[ev.EmergencyDeclared]:
    events = service.app.events.get(case_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, ev.EmergencyDeclared)]


def ended(service: HubService, case_id: UUID) -> list[ev.EmergencyEnded]:
    events = service.app.events.get(case_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, ev.EmergencyEnded)]


def test_an_officer_declares_an_emergency_which_the_reviewers_then_list(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, ward=WARD)
    assert 'id="emergency-warning"' in page
    assert "本人の同意なしで本人の情報が提供されます" in page
    assert 'id="end-emergency"' not in page  # none in force: nothing to end
    sent = declaration(page)
    first = client.post(f"/web/cases/{case_id}/emergency", data=sent, follow_redirects=False)
    assert first.status_code == 303, first.text
    again = client.post(f"/web/cases/{case_id}/emergency", data=sent, follow_redirects=False)
    assert again.status_code == 303  # a second click: the same declaration, once
    [made] = declared(service, case_id)
    assert made.agencies == [AGENCY]
    assert made.data_categories == ["identity", "contact", "health"]
    assert made.sensitive_categories == ["health"]
    assert made.reason == "試験：安否不明（架空）"
    assert made.sensitive_reason == "試験：持病と服薬の確認（架空）"
    end_day = datetime.fromisoformat(sent["emergency_until"]).date() + timedelta(days=1)
    assert made.expires_at == datetime(end_day.year, end_day.month, end_day.day, tzinfo=JST)
    shown = client.get(f"/web/cases/{case_id}").text
    assert "緊急時の宣言を記録しました" in shown and "審査を受けます" in shown
    did = str(made.declaration_id)
    assert f"緊急時の宣言 {did[:8]} が有効です" in shown
    assert 'id="end-emergency"' in shown
    for role in ("coordinator", "auditor"):
        sign_in(client, role, ward=WARD if role == "coordinator" else "")
        reviews = client.get("/web/reviews").text
        awaiting = reviews.split('id="awaiting-h"')[1].split('id="reviewed-h"')[0]
        assert f'<dd class="declaration-id">{did}</dd>' in awaiting, role
        assert "健康情報" in awaiting


def test_a_declaration_sent_with_mistakes_says_each_beside_its_field_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, ward=WARD)
    empty = declaration(
        page,
        emergency_agencies=[],
        emergency_categories=[],
        emergency_sensitive=[],
        emergency_reason="",
        emergency_sensitive_reason="",
    )
    refused = client.post(f"/web/cases/{case_id}/emergency", data=empty)
    assert refused.status_code == 422
    said = dict(
        re.findall(r'<p class="error" id="(emergency_[a-z_]+)-error">([^<]+)</p>', refused.text)
    )
    assert said["emergency_agencies"] == "必須です：1つ以上選んでください"
    assert said["emergency_categories"] == "必須です：1つ以上選んでください"
    assert said["emergency_reason"].startswith("必須です")
    assert re.search(r'<details open>\s*<summary id="emergency-open"', refused.text)
    no_why = declaration(page, emergency_sensitive_reason="")
    refused = client.post(f"/web/cases/{case_id}/emergency", data=no_why)
    assert 'id="emergency_sensitive_reason-error">' in refused.text
    too_long = (now().astimezone(JST).date() + timedelta(days=40)).isoformat()
    refused = client.post(
        f"/web/cases/{case_id}/emergency", data=declaration(page, emergency_until=too_long)
    )
    assert 'id="emergency_until-error">期間は開始から30日までです</p>' in refused.text
    assert declared(service, case_id) == []


def test_the_officer_ends_the_emergency_in_force_once(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, ward=WARD)
    sent = declaration(page, emergency_sensitive=[], emergency_sensitive_reason="")
    assert client.post(f"/web/cases/{case_id}/emergency", data=sent).status_code == 200
    [made] = declared(service, case_id)
    page = client.get(f"/web/cases/{case_id}").text
    end = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "end_declaration_id": str(made.declaration_id),
        **ticked("end_emergency_confirm"),
    }
    path = f"/web/cases/{case_id}/end-emergency"
    assert client.post(path, data=end, follow_redirects=False).status_code == 303
    assert client.post(path, data=end, follow_redirects=False).status_code == 303  # resent
    assert [e.declaration_id for e in ended(service, case_id)] == [made.declaration_id]
    shown = client.get(f"/web/cases/{case_id}").text
    assert f"緊急時の宣言 {str(made.declaration_id)[:8]} を終了しました" in shown
    assert 'id="end-emergency"' not in shown  # none in force any more
    assert "有効な緊急時の宣言はありません" in shown
    stale = {**end, "command_id": str(uuid4())}  # a form drawn before it was ended
    refused = client.post(path, data=stale)
    assert refused.status_code == 422
    assert 'id="form-error">この宣言は終了しているか' in refused.text  # no list left
    assert len(ended(service, case_id)) == 1


def test_an_end_sent_without_its_declaration_or_with_one_ended_says_so_beside_the_list(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, ward=WARD)
    for _ in range(2):
        sent = declaration(page, emergency_sensitive=[], emergency_sensitive_reason="")
        assert client.post(f"/web/cases/{case_id}/emergency", data=sent).status_code == 200
    first, second = declared(service, case_id)
    page = client.get(f"/web/cases/{case_id}").text
    path = f"/web/cases/{case_id}/end-emergency"
    end = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        **ticked("end_emergency_confirm"),
    }
    nothing = client.post(path, data={**end, "end_declaration_id": ""})
    assert nothing.status_code == 422
    assert 'id="end_declaration_id-error">終了する宣言を選んでください（必須）' in nothing.text
    assert re.search(r'<details open>\s*<summary id="end-emergency-open"', nothing.text)
    chosen = {**end, "end_declaration_id": str(first.declaration_id)}
    assert client.post(path, data=chosen).status_code == 200
    stale = {**chosen, "command_id": str(uuid4())}  # a form drawn before it was ended
    refused = client.post(path, data=stale)
    assert refused.status_code == 422
    assert 'id="end_declaration_id-error">この宣言は終了しているか' in refused.text
    assert str(second.declaration_id) in refused.text  # the one still in force, offered
    assert [e.declaration_id for e in ended(service, case_id)] == [first.declaration_id]


def test_roles_without_the_commands_see_no_emergency_form_and_are_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, page = officer_case(service, client, ward=WARD)
    sent = declaration(page)
    assert client.post(f"/web/cases/{case_id}/emergency", data=sent).status_code == 200
    [made] = declared(service, case_id)
    sign_in(client, "coordinator", ward=WARD)  # reads the case, may not declare or end
    page = client.get(f"/web/cases/{case_id}").text
    assert f"緊急時の宣言 {str(made.declaration_id)[:8]} が有効です" in page
    assert 'id="declare-emergency"' not in page and 'id="end-emergency"' not in page
    token = csrf_of(page)
    again = declaration(page, command_id=str(uuid4()))
    assert client.post(f"/web/cases/{case_id}/emergency", data=again).status_code == 403
    end = {"csrf_token": token, "command_id": str(uuid4())}
    end["end_declaration_id"] = str(made.declaration_id)
    assert client.post(f"/web/cases/{case_id}/end-emergency", data=end).status_code == 403
    sign_in(client, "member_agency", agency=AGENCY)
    token = csrf_of(client.get("/web/inbox").text)
    again["csrf_token"] = end["csrf_token"] = token
    assert client.post(f"/web/cases/{case_id}/emergency", data=again).status_code == 403
    assert client.post(f"/web/cases/{case_id}/end-emergency", data=end).status_code == 403
    assert len(declared(service, case_id)) == 1 and ended(service, case_id) == []
