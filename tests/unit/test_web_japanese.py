"""What the auditor's page shows is said in Japanese: the person's details a read showed are
named as the case page names them, never by their field paths. Without a browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from hub.commands import PersonInput
from hub.fiscal import JST
from hub.identity import Actor, Role
from hub.labels import VOCABULARY
from ops.case_notes import NOTE_FIELDS
from ops.usecases import HubService
from tests import factories as f
from tests.web_support import csrf_of, sign_in

WARD = "tobata"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)


def test_every_detail_of_a_person_has_a_japanese_name() -> None:
    named = VOCABULARY["person_field"]
    # and the reporter's note and the case's own notes, shown beside them in the same read
    # (the case page)
    details = {f"person.{field}" for field in PersonInput.model_fields}
    notes = {path for fields in NOTE_FIELDS.values() for _, path in fields}
    assert details | notes == set(named)


def test_the_access_log_names_the_details_shown_in_japanese(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case = f.open_case(ward=WARD, person={"name": "試験 花子", "address": "北九州市架空区1"})
    service.execute(OFFICER, case)
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case.case_id}").text
    shown = client.post(
        f"/web/cases/{case.case_id}/person",
        data={"csrf_token": csrf_of(page), "read_purpose": "consultation"},
    )
    assert "<dt>氏名</dt>" in shown.text and "<dt>住所</dt>" in shown.text

    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    row = re.findall(r"<td>([^<]*)</td>", access)
    assert "住所、氏名" in row or "氏名、住所" in row, row
    assert "person." not in access


def test_the_replay_as_of_a_day_is_a_japanese_table_not_json(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    service.execute(OFFICER, f.consent(case.case_id, scope=[f"{WARD}.houkatsu"]))
    sign_in(client, "auditor")
    day = f.at(10).astimezone(JST).date().isoformat()
    page = client.get(f"/web/audit?as_of={day}")
    assert page.status_code == 200
    replay = page.text.split('id="replay-h"')[1].split("</section>")[0]
    consents = replay.split('id="replay-consents"')[1].split("</table>")[0]
    assert str(case.case_id)[:8] in consents
    assert "相談" in consents and "本人特定情報" in consents  # purposes, categories labelled
    assert "JST" in consents  # the period in JST, not ISO
    for english in ("consents_in_force", "given_by", "consultation", "identity", "{"):
        assert english not in replay, english
    assert "会議に取り上げられたケースはありません" in replay


def test_a_page_that_fails_unexpectedly_is_a_japanese_error_page_not_json(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault no handler answers (a bug, a template that cannot be drawn): on a page, the
    pages' own error page in Japanese with the signed-in person's header, status 500 (the
    API's paths keep their problem+json)."""
    _, client = hub
    sign_in(client, "ward_officer", ward=WARD)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a fault of the hub (試験)")

    monkeypatch.setattr(HubService, "awaiting_discoveries", broken)
    page = client.get("/web/officer")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text and "内部エラー" in page.text
    assert 'id="signed-in"' in page.text and "試験）" not in page.text.split("<main")[1]
    assert "internal error" not in page.text

    monkeypatch.setattr(
        "ops.web.pages.Pages.refused", lambda *_: (_ for _ in ()).throw(RuntimeError())
    )
    bare = client.get("/web/officer")  # even the error page cannot be drawn
    assert bare.status_code == 500 and "エラーが発生しました" in bare.text


def test_the_counts_of_the_case_lists_say_what_they_count(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    service.execute(OFFICER, f.referral(case.case_id, f"{WARD}.hogo"))
    for role, page in (("ward_officer", "/web/officer"), ("coordinator", "/web/coordinator")):
        sign_in(client, role, ward=WARD)
        row = client.get(page).text.split(f'href="/web/cases/{case.case_id}"')[-1]
        cell = re.search(r'<td class="[^"]*num">([^<]*)</td>', row.split("</tr>")[0])
        assert cell and cell.group(1) == "1件", (page, cell)


def test_the_access_log_names_the_details_in_the_order_the_pages_show_them(
    hub: tuple[HubService, TestClient],
) -> None:
    """The 項目 of a read were in the alphabet of their paths (住所、生年月日、カナ、氏名、
    電話番号): the auditor reads them as the case page and the inbox list them."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get(f"/web/cases/{case.case_id}").text
    client.post(
        f"/web/cases/{case.case_id}/person",
        data={"csrf_token": csrf_of(page), "read_purpose": "consultation"},
    )

    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert "<td>氏名、カナ、生年月日、住所、電話番号、健康</td>" in access, access
