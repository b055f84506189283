"""協力事業者・地域の拠点: the city's administrator registers the network's partners the plan
counts (参加支援事業の②協力事業者数, 地域づくり事業の①拠点数) from a page, not only the API
or the CLI; every other role is refused the page and sees no menu entry for it."""

from __future__ import annotations

import re
from uuid import uuid4

from fastapi.testclient import TestClient

from hub.identity import Actor, Role
from ops.usecases import HubService
from tests.web_support import csrf_of, sign_in, ticked

ADMIN = Actor("administrator-試験", Role.administrator)


def business_form(page: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "business_name": "試験商店（架空）",
        "business_kind": "飲食",
        "business_ward": "tobata",
        **ticked("business_confirm"),
        **fields,
    }


def base_form(page: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_of(page),
        "command_id": str(uuid4()),
        "base_name": "試験サロン（架空）",
        "base_kind": "kodomo_shokudo",
        "base_ward": "moji",
        **ticked("base_confirm"),
        **fields,
    }


def end_form(page: str, tick: bool = True, **fields: str) -> dict[str, str]:
    """A row's 退会 or 閉鎖 form, its own box ticked unless ``tick`` is False."""
    (partner_id,) = fields.values()
    box = ticked(f"end-confirm-{partner_id}") if tick else {}
    return {"csrf_token": csrf_of(page), "command_id": str(uuid4()), **box, **fields}


def test_the_administrator_records_a_business_leaving_and_a_base_closing(
    hub: tuple[HubService, TestClient],
) -> None:
    """From that day neither is counted nor offered to the contractor; the list says when."""
    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    client.post("/web/network/business", data=business_form(page))
    client.post("/web/network/base", data=base_form(page))
    (business,) = service.partners(ADMIN).businesses
    (base,) = service.partners(ADMIN).bases
    page = client.get("/web/network").text
    assert "退会を記録する" in page and "閉鎖を記録する" in page
    # An end cannot be undone: unticked, nothing is recorded, and the row's box says why.
    form = end_form(page, tick=False, business_id=business.partner_id)
    sent = client.post("/web/network/business/withdraw", data=form)
    assert sent.status_code == 422
    said = sent.text.split(f'id="end-confirm-{business.partner_id}-error">')[1].split("</p>")[0]
    assert "取り消せないことを確認しました" in said
    assert service.partners(ADMIN).businesses[0].ended_at is None
    form = end_form(page, business_id=business.partner_id)
    sent = client.post("/web/network/business/withdraw", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/web/network"
    sent = client.post("/web/network/base/close", data=end_form(page, base_id=base.partner_id))
    assert sent.status_code == 200
    assert "地域の拠点「試験サロン（架空）」の閉鎖を記録しました" in sent.text
    row = sent.text.split(f'id="business-{business.partner_id}"')[1].split("</tr>")[0]
    assert "に退会" in row and "退会を記録する" not in row
    row = sent.text.split(f'id="base-{base.partner_id}"')[1].split("</tr>")[0]
    assert "に閉鎖" in row
    assert "協力事業者（0者）" in sent.text and "地域の拠点（0か所）" in sent.text
    (business,) = service.partners(ADMIN).businesses
    assert business.ended_at is not None

    # A second withdrawal (a page left open, a new form) is said above the list.
    again = client.post(
        "/web/network/business/withdraw", data=end_form(page, business_id=business.partner_id)
    )
    assert again.status_code == 422
    said = again.text.split('id="business_end-error">')[1].split("</p>")[0]
    assert said.startswith("この協力事業者は退会しています")

    sign_in(client, "contractor", agency="hoboku-shakyo")
    offered = client.get("/web/contractor").text
    assert business.partner_id not in offered and base.partner_id not in offered


def test_the_administrator_registers_a_business_and_a_base_and_sees_them_listed(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network")
    assert page.status_code == 200
    assert "登録された協力事業者はありません。" in page.text
    nav = page.text.split("<nav")[1].split("</nav>")[0]
    assert 'href="/web/network"' in nav
    # The ward is chosen by its Japanese name, the base's kind by its label.
    assert '<option value="tobata">戸畑区</option>' in page.text
    assert '<option value="kodomo_shokudo">子ども食堂</option>' in page.text

    form = business_form(page.text)
    sent = client.post("/web/network/business", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/web/network"
    sent = client.post("/web/network/base", data=base_form(page.text), follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/web/network"

    (business,) = service.partners(ADMIN).businesses
    assert (business.name, business.kind, business.ward) == ("試験商店（架空）", "飲食", "tobata")
    (base,) = service.partners(ADMIN).bases
    assert (base.name, base.kind, base.ward) == ("試験サロン（架空）", "kodomo_shokudo", "moji")

    listed = client.get("/web/network").text
    assert "地域の拠点「試験サロン（架空）」を登録しました" in listed  # the last form's line
    row = listed.split(f'id="business-{business.partner_id}"')[1].split("</tr>")[0]
    assert "試験商店（架空）" in row and "飲食" in row and "戸畑区" in row
    assert "令和" in row  # registered when, in JST (wareki)
    row = listed.split(f'id="base-{base.partner_id}"')[1].split("</tr>")[0]
    assert "試験サロン（架空）" in row and "子ども食堂" in row and "門司区" in row
    # The id the contractor's forms ask for (a match, a gathering), to be told it by the city.
    assert f"<code>{base.partner_id}</code>" in row
    business_row = listed.split(f'id="business-{business.partner_id}"')[1].split("</tr>")[0]
    assert f"<code>{business.partner_id}</code>" in business_row
    assert "協力事業者（1者）" in listed and "地域の拠点（1か所）" in listed


def test_a_business_may_serve_the_whole_city(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    form = business_form(page, business_ward="")
    sent = client.post("/web/network/business", data=form)
    assert sent.status_code == 200
    assert "協力事業者「試験商店（架空）」を登録しました" in sent.text
    (business,) = service.partners(ADMIN).businesses
    assert business.ward is None
    assert "市内全域（区の指定なし）</td>" in sent.text


def test_refusals_are_said_by_their_fields_in_japanese_and_nothing_is_recorded(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    empty = business_form(page, business_name="", business_kind="")
    sent = client.post("/web/network/business", data=empty)
    assert sent.status_code == 422
    for field in ("business_name", "business_kind"):
        assert f'id="{field}-error">必須です' in sent.text, field
    assert '<details id="register-business" open>' in sent.text
    unknown = client.post(
        "/web/network/business", data=business_form(page, business_ward="atlantis")
    )
    assert unknown.status_code == 422
    assert 'id="business_ward-error">一覧にある区を選んでください' in unknown.text
    assert "試験商店（架空）" in unknown.text  # what was typed is kept

    crafted = base_form(page, base_kind="castle", base_ward="", base_name="x" * 201)
    sent = client.post("/web/network/base", data=crafted)
    assert sent.status_code == 422
    assert 'id="base_kind-error">選択肢から選んでください' in sent.text
    assert 'id="base_ward-error">必須です' in sent.text
    assert 'id="base_name-error">長すぎます（200文字まで）' in sent.text
    assert '<details id="register-base" open>' in sent.text
    unknown = client.post("/web/network/base", data=base_form(page, base_ward="atlantis"))
    assert 'id="base_ward-error">一覧にある区を選んでください' in unknown.text
    assert "may not" not in unknown.text and "unknown ward" not in unknown.text
    partners = service.partners(ADMIN)
    assert partners.businesses == [] and partners.bases == []


def test_a_form_sent_twice_registers_once(hub: tuple[HubService, TestClient]) -> None:
    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    for path, form in (
        ("/web/network/business", business_form(page)),
        ("/web/network/base", base_form(page)),
    ):
        for _ in range(2):  # a second click, the same command id
            sent = client.post(path, data=form, follow_redirects=False)
            assert sent.status_code == 303, sent.text
    partners = service.partners(ADMIN)
    assert len(partners.businesses) == 1 and len(partners.bases) == 1
    # The same command id with other values is said atop the form, nothing recorded.
    changed = base_form(page, base_name="別の試験サロン（架空）")
    changed["command_id"] = form["command_id"]
    sent = client.post("/web/network/base", data=changed)
    assert sent.status_code == 422 and 'id="base-error"' in sent.text
    assert len(service.partners(ADMIN).bases) == 1


def test_the_page_and_its_forms_are_the_administrators_only(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    for role, ward, agency, home in (
        ("partner_reporter", "", "", "/web/report"),
        ("ward_officer", "tobata", "", "/web/officer"),
        ("coordinator", "tobata", "", "/web/coordinator"),
        ("member_agency", "", "tobata.houkatsu", "/web/inbox"),
        ("auditor", "", "", "/web/audit"),
        ("analyst", "", "", "/web/analysis"),
        ("contractor", "", "hoboku-shakyo", "/web/contractor"),  # reads the list: not here
    ):
        sign_in(client, role, ward, agency)
        own = client.get(home).text
        assert 'href="/web/network"' not in own.split("<nav")[1].split("</nav>")[0], role
        refused = client.get("/web/network")
        assert refused.status_code == 403, role
        assert "<title>権限がありません" in refused.text
        assert "協力事業者と地域の拠点の閲覧の権限がありません。" in refused.text, role
        for path, form in (
            ("/web/network/business", business_form(own)),
            ("/web/network/base", base_form(own)),
            ("/web/network/business/withdraw", end_form(own, business_id=str(uuid4()))),
            ("/web/network/base/close", end_form(own, base_id=str(uuid4()))),
        ):
            assert client.post(path, data=form).status_code == 403, (role, path)
    partners = service.partners(ADMIN)
    assert partners.businesses == [] and partners.bases == []
    client.cookies.clear()
    signed_out = client.get("/web/network", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/web/signin"


def test_the_development_sign_in_offers_an_administrator(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    assert '<option value="administrator"' in client.get("/web/signin").text


def test_the_same_name_from_a_new_form_is_registered_again_as_the_api_does(
    hub: tuple[HubService, TestClient],
) -> None:
    """The domain refuses an id used already (a resend is done once), not a name: a second
    registration of one name is another partner, counted again; the page says so up front."""
    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    assert "同じ名前でも別の登録として数える" in page
    for _ in range(2):
        form = business_form(client.get("/web/network").text)
        assert client.post("/web/network/business", data=form).status_code == 200
    assert [b.name for b in service.partners(ADMIN).businesses] == ["試験商店（架空）"] * 2


def test_a_rows_id_sent_as_markup_or_another_aggregates_id_ends_nothing_and_is_not_drawn(
    hub: tuple[HubService, TestClient],
) -> None:
    """The box of a row's form is named by the id the form sends (``end-confirm-<id>``): an id
    typed as markup, ticked or not, is refused beside the list and never drawn into the
    page; a case's id sent as a business's ends nothing."""
    from tests import factories as f

    service, client = hub
    sign_in(client, "administrator")
    page = client.get("/web/network").text
    markup = '"><script>alert(1)</script>'
    for tick in (True, False):
        sent = client.post(
            "/web/network/business/withdraw", data=end_form(page, tick, business_id=markup)
        )
        assert sent.status_code == 422, sent.status_code
        assert "<script>alert(1)" not in sent.text and "alert(1)" not in sent.text
    case = f.open_case(ward="tobata")
    service.execute(Actor("officer-試験", Role.ward_officer, ward="tobata"), case)
    before = service.partners(ADMIN)
    sent = client.post(
        "/web/network/business/withdraw", data=end_form(page, business_id=str(case.case_id))
    )
    assert sent.status_code == 404, sent.status_code  # not registered: as the API says
    assert service.partners(ADMIN) == before


def test_a_rows_unticked_box_is_told_in_words_its_own_label_holds(
    hub: tuple[HubService, TestClient],
) -> None:
    """The row's box reads 「退会は取り消せないことを確認しました」: the message under it
    quotes words of that label, not of another form's box the page does not show."""
    service, client = hub
    sign_in(client, "administrator")
    client.post("/web/network/business", data=business_form(client.get("/web/network").text))
    (business,) = service.partners(ADMIN).businesses
    form = end_form(client.get("/web/network").text, tick=False, business_id=business.partner_id)
    sent = client.post("/web/network/business/withdraw", data=form)
    box = f"end-confirm-{business.partner_id}"
    label = sent.text.split(f'<label for="{box}">')[1].split("</label>")[0]
    said = sent.text.split(f'id="{box}-error">')[1].split("</p>")[0]
    (quoted,) = re.findall("「([^」]+)」", said)
    assert quoted in label
