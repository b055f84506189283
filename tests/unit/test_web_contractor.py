"""受託事業の記録: the city's contractor (アウトリーチ等を通じた継続的支援事業・参加支援事業)
records visits, support, participation matches and gatherings from a page, in its own name,
reading no case: the case is given by the id the ward told it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub import events as ev
from hub.identity import Actor, Role
from ops.identity import dev_issuer
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import csrf_of, sign_in

CONTRACTOR = "hoboku-shakyo"  # the shipped network's outreach and participation contractor
OFFICER = Actor("officer-試験", Role.ward_officer, ward="tobata")
ADMINISTRATOR = Actor("admin-試験", Role.administrator)
NOT_REGISTERED = "この協力事業者・拠点は登録されていません。一覧から選んでください"


def a_case(service: HubService) -> UUID:
    case = f.open_case(ward="tobata")
    service.execute(OFFICER, case)
    return case.case_id


def a_base(service: HubService, name: str = "試験の居場所（架空）", ward: str = "tobata") -> UUID:
    base = c.RegisterCommunityBase.model_validate(
        {
            "command_id": uuid4(),
            "occurred_at": f.T0,
            "base_id": uuid4(),
            "name": name,
            "kind": "salon",
            "ward": ward,
        }
    )
    service.execute(ADMINISTRATOR, base)
    return base.base_id


def a_business(
    service: HubService, name: str = "試験商店（架空）", ward: str | None = "tobata"
) -> UUID:
    business = c.RegisterCooperatingBusiness.model_validate(
        {
            "command_id": uuid4(),
            "occurred_at": f.T0,
            "business_id": uuid4(),
            "name": name,
            "kind": "小売",
            "ward": ward,
        }
    )
    service.execute(ADMINISTRATOR, business)
    return business.business_id


def payloads(service: HubService, aggregate_id: UUID, kind: type) -> list[Any]:
    events = service.app.events.get(aggregate_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, kind)]


def error_of(page: str, field: str) -> str:
    found = re.search(rf'<p class="error"[^>]*? id="{field}-error">([^<]*)</p>', page)
    assert found, f"nothing said beside {field}"
    return found.group(1)


def flash(sent: Any) -> str:
    cookie = next(v for k, v in sent.cookies.items() if k.endswith("flash"))
    return unquote(cookie)


def contractor_page(client: TestClient) -> str:
    sign_in(client, "contractor", agency=CONTRACTOR)
    page = client.get("/web/contractor")
    assert page.status_code == 200, page.text[:300]
    return page.text


def send(client: TestClient, page: str, form: str, **fields: str) -> Any:
    data = {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **fields}
    return client.post(f"/web/contractor/{form}", data=data, follow_redirects=False)


def test_a_contractor_lands_on_its_page_with_each_form(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    sign_in(client, "contractor", agency=CONTRACTOR)
    page = client.get("/web/", follow_redirects=True)
    assert page.url.path == "/web/contractor"
    menu = page.text.split("<nav")[1].split("</nav>")[0]
    assert 'href="/web/contractor"' in menu
    for heading in (
        "アウトリーチ訪問の記録",
        "支援の記録",
        "参加支援のマッチング",
        "居場所・集いの開催",
    ):
        assert heading in page.text
    for note in ("visit_note", "activity_note"):
        assert f'<textarea id="{note}" name="{note}"' in page.text
    assert "心身のことは書かないでください" in page.text
    assert "抱樸・社協共同企業体" in page.text  # in whose name it records


def test_the_development_sign_in_offers_a_contractor_of_a_contractor_agency(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    page = client.get("/web/signin").text
    assert '<option value="contractor"' in page
    form = {"subject": "contractor-試験", "role": "contractor", "ward": "", "agency": ""}
    refused = client.post(
        "/web/signin/dev", data={**form, "csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert refused.status_code == 422
    assert error_of(refused.text, "agency") == "支援機関・受託事業者の職員は機関を選んでください"
    page = client.get("/web/signin").text
    not_one = {**form, "agency": "tobata.hogo", "csrf_token": csrf_of(page)}
    refused = client.post("/web/signin/dev", data=not_one, follow_redirects=False)
    assert error_of(refused.text, "agency") == "受託事業者は委託事業者の機関を選んでください"


def test_a_visit_and_a_support_are_recorded_in_the_contractors_own_name(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    page = contractor_page(client)
    fields = {"visit_case": str(case_id), "visit_outcome": "met", "visit_note": "架空の\r\nメモ"}
    sent = send(client, page, "visit", **fields)
    assert sent.status_code == 303 and sent.headers["location"] == "/web/contractor"
    assert flash(sent) == f"アウトリーチ訪問（面会）を記録しました（ケースID {case_id}）"
    (visit,) = payloads(service, case_id, ev.OutreachVisitMade)
    assert visit.agency_id == CONTRACTOR and visit.outcome == "met"

    fields = {"activity_case": str(case_id), "activity_kind": "accompaniment"}
    sent = send(client, page, "activity", **fields)
    assert sent.status_code == 303
    assert flash(sent) == f"支援（同行支援）を記録しました（ケースID {case_id}）"
    (activity,) = payloads(service, case_id, ev.SupportActivityRecorded)
    assert activity.agency_id == CONTRACTOR and activity.kind == "accompaniment"


def test_a_match_and_a_gathering_are_recorded(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    case_id, base_id, business_id = a_case(service), a_base(service), a_business(service)
    page = contractor_page(client)
    fields = {
        "match_case": str(case_id),
        "match_place_kind": "work",
        "match_business": str(business_id),
    }
    sent = send(client, page, "match", **fields)
    assert sent.status_code == 303, sent.text[:500]
    assert flash(sent) == f"参加支援のマッチング（就労）を記録しました（ケースID {case_id}）"
    (match,) = payloads(service, case_id, ev.ParticipationMatched)
    assert match.business_id == business_id and match.base_id is None
    assert match.place_kind == "work"

    fields = {
        "gathering_base": str(base_id),
        "gathering_participants": "１２",  # typed with the IME on
        "gathering_bodies": "試験自治会\r\n\r\n架空ボランティア会",
    }
    sent = send(client, page, "gathering", **fields)
    assert sent.status_code == 303, sent.text[:500]
    assert flash(sent) == "居場所・集いの開催（参加 12人）を記録しました"
    (held,) = payloads(service, base_id, ev.GatheringHeld)
    assert held.participants == 12 and held.bodies == ["試験自治会", "架空ボランティア会"]


def options_of(page: str, field: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The <optgroup>s of a <select>: (label, [(value, text), ...])."""
    select = page.split(f'<select id="{field}"')[1].split("</select>")[0]
    return [
        (group, re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', options))
        for group, options in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select)
    ]


def test_the_match_and_gathering_forms_offer_the_registered_places_by_name(
    hub: tuple[HubService, TestClient],
) -> None:
    """The contractor chooses a business or base by its name, grouped by ward in the city's
    order (a business of the whole city first), by name within; the id is the value sent."""
    service, client = hub
    page = contractor_page(client)
    assert "登録された協力事業者はありません" in page and "登録された地域の拠点はありません" in page
    tobata_b = a_business(service, "試験農園（架空）", "tobata")
    moji_b = a_business(service, "架空食堂", "moji")
    city_b = a_business(service, "試験運送（架空）", None)
    tobata_a = a_business(service, "架空商店", "tobata")
    base_t = a_base(service, "試験サロン（架空）", "tobata")
    base_m = a_base(service, "架空の居場所", "moji")
    page = contractor_page(client)
    assert options_of(page, "match_business") == [
        ("市内全域", [(str(city_b), "試験運送（架空）（小売）")]),
        ("門司区", [(str(moji_b), "架空食堂（小売）")]),
        (
            "戸畑区",
            [(str(tobata_a), "架空商店（小売）"), (str(tobata_b), "試験農園（架空）（小売）")],
        ),
    ]
    bases = [
        ("門司区", [(str(base_m), "架空の居場所（サロン）")]),
        ("戸畑区", [(str(base_t), "試験サロン（架空）（サロン）")]),
    ]
    assert options_of(page, "match_base") == bases
    assert options_of(page, "gathering_base") == bases
    assert '<input id="match_business"' not in page  # no id to type any more

    case_id = a_case(service)
    fields = {"match_case": str(case_id), "match_place_kind": "salon", "match_base": str(base_m)}
    assert send(client, page, "match", **fields).status_code == 303
    (match,) = payloads(service, case_id, ev.ParticipationMatched)
    assert match.base_id == base_m and match.business_id is None


def test_a_second_click_records_nothing_new(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    case_id = a_case(service)
    page = contractor_page(client)
    data = {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "visit_case": str(case_id),
        "visit_outcome": "letter_left",
    }
    for _ in range(2):
        sent = client.post("/web/contractor/visit", data=data, follow_redirects=False)
        assert sent.status_code == 303
    assert len(payloads(service, case_id, ev.OutreachVisitMade)) == 1


def test_a_case_id_mistyped_or_unknown_is_said_beside_it_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    """A contractor reads no case: an id that names none is said beside the field, as the
    API's refusal says it (no more: not whether the case exists, nor whose it is)."""
    _, client = hub
    page = contractor_page(client)
    bad = send(client, page, "visit", visit_case="12345", visit_outcome="met")
    assert bad.status_code == 422
    assert error_of(bad.text, "visit_case") == "正しい識別子ではありません"
    empty = send(client, page, "activity", activity_case="", activity_kind="")
    assert error_of(empty.text, "activity_case") == "必須です：入力するか選んでください"
    assert error_of(empty.text, "activity_kind") == "必須です：入力するか選んでください"

    unknown = send(client, page, "visit", visit_case=str(uuid4()), visit_outcome="met")
    assert unknown.status_code == 422
    said = error_of(unknown.text, "visit_case")
    assert said.startswith("このケースIDには記録できません")
    assert 'value="met" selected' in unknown.text  # kept, to be corrected
    case = send(client, page, "match", match_case=str(uuid4()), match_place_kind="work")
    assert (
        error_of(case.text, "match_business") == "協力事業者か地域の拠点のどちらかを選んでください"
    )


def test_a_place_not_registered_is_said_beside_its_field(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = a_case(service)
    page = contractor_page(client)
    fields = {"match_case": str(case_id), "match_place_kind": "salon", "match_base": str(uuid4())}
    sent = send(client, page, "match", **fields)
    assert sent.status_code == 422
    assert error_of(sent.text, "match_base") == NOT_REGISTERED
    fields = {"gathering_base": str(uuid4()), "gathering_participants": "3"}
    sent = send(client, page, "gathering", **fields)
    assert error_of(sent.text, "gathering_base") == NOT_REGISTERED
    base = str(a_base(service))
    for typed in ("三人", "-1", "100001"):  # the last over what the hub takes (English before)
        fields = {"gathering_base": base, "gathering_participants": typed}
        sent = send(client, page, "gathering", **fields)
        said = error_of(sent.text, "gathering_participants")
        assert said == "参加人数は0以上100,000以下の整数で入力してください", typed


@pytest.mark.parametrize(
    ("role", "ward", "agency"),
    [
        ("ward_officer", "tobata", ""),
        ("coordinator", "tobata", ""),
        ("member_agency", "", "tobata.hogo"),
        ("partner_reporter", "", ""),
        ("auditor", "", ""),
        ("analyst", "", ""),
        ("administrator", "", ""),
    ],
)
def test_no_other_role_sees_opens_or_posts_to_the_page(
    hub: tuple[HubService, TestClient], role: str, ward: str, agency: str
) -> None:
    service, client = hub
    case_id = a_case(service)
    sign_in(client, role, ward=ward, agency=agency)
    home = client.get("/web/", follow_redirects=True)
    assert 'href="/web/contractor"' not in home.text
    refused = client.get("/web/contractor")
    assert refused.status_code == 403
    assert "受託事業の記録のページを使えません" in refused.text
    fields = {"visit_case": str(case_id), "visit_outcome": "met"}
    posted = send(client, home.text, "visit", **fields)
    assert posted.status_code == 403
    assert payloads(service, case_id, ev.OutreachVisitMade) == []


def test_the_page_says_of_an_unknown_case_no_more_than_the_api_answers(
    hub: tuple[HubService, TestClient],
) -> None:
    """The API refuses the contractor a case that does not exist as it refuses one not its
    own (403, the same words): the page says it beside the case id, naming nothing else."""
    service, client = hub
    token = dev_issuer.issue(
        service.settings, subject="contractor-試験", role=Role.contractor, agency_id=CONTRACTOR
    )
    missing = str(uuid4())
    body = {"case_id": missing, "outcome": "met", "occurred_at": "2026-12-01T10:00:00+09:00"}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid4())}
    api = client.post("/commands/RecordOutreachVisit", json=body, headers=headers)
    assert api.status_code == 403, api.text[:300]
    assert "on a case not its own" in api.json()["detail"]

    page = contractor_page(client)
    sent = send(client, page, "visit", visit_case=missing, visit_outcome="met")
    assert sent.status_code == 422
    said = error_of(sent.text, "visit_case")
    assert said == "このケースIDには記録できません。区から伝えられたケースIDを確かめてください"
    assert "tobata" not in said and "戸畑" not in said

    business = str(a_business(service))
    fields = {"match_case": missing, "match_place_kind": "work", "match_business": business}
    sent = send(client, page, "match", **fields)
    assert error_of(sent.text, "match_case") == said


def test_a_place_that_left_or_closed_since_the_form_was_drawn_is_said_beside_it(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, base_id, business_id = a_case(service), a_base(service), a_business(service)
    page = contractor_page(client)  # drawn while both were in the network
    for command in (
        c.WithdrawCooperatingBusiness(
            command_id=uuid4(), occurred_at=f.T0, business_id=business_id
        ),
        c.CloseCommunityBase(command_id=uuid4(), occurred_at=f.T0, base_id=base_id),
    ):
        service.execute(ADMINISTRATOR, command)
    fields = {
        "match_case": str(case_id),
        "match_place_kind": "work",
        "match_business": str(business_id),
    }
    sent = send(client, page, "match", **fields)
    # The list drawn again holds it no more, and may be empty: no "一覧から選んでください".
    left = "この協力事業者は退会しています。ほかの協力事業者か地域の拠点を選んでください"
    assert sent.status_code == 422 and error_of(sent.text, "match_business") == left
    sent = send(client, page, "gathering", gathering_base=str(base_id), gathering_participants="3")
    closed = "この拠点は閉鎖しています。ほかの拠点を選んでください"
    assert sent.status_code == 422 and error_of(sent.text, "gathering_base") == closed
    assert str(base_id) not in contractor_page(client)  # no longer offered
