"""The break-glass review page and the erasure-confirmation page without a browser, over a real
SQLite store: what a reviewer sees and records, the refusals by name beside the form, the role
policy's 403 page, sign-in and CSRF; the administrator's view of who confirmed an erasure."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hub import events as ev
from hub.errors import IdempotencyConflictError
from hub.fiscal import JST
from hub.identity import Actor, Role, reply_ingester
from hub.labels import label
from ops.usecases import AgencyAnswer, HubService
from ops.wiring import open_ledger
from tests import factories as f
from tests.web_support import csrf_of, sign_in, ticked

WARD, AGENCY = "tobata", "tobata.houkatsu"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
ADMIN = Actor("kanri-試験", Role.administrator)


def declared(service: HubService, sensitive: bool = True) -> tuple[UUID, UUID]:
    """A case of WARD and an emergency declaration on it (naming health, or nothing sensitive)."""
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    extra: dict[str, Any] = {"sensitive_categories": ["health"], "sensitive_reason": "試験の理由"}
    declaration = f.emergency(case.case_id, agencies=[AGENCY], **(extra if sensitive else {}))
    service.execute(OFFICER, declaration)
    return case.case_id, declaration.declaration_id


def disclosed(service: HubService, case_id: UUID, declaration_id: UUID) -> None:
    """What the relay writes to its ledger when it releases health under the declaration."""
    position = int(service.app.recorder.max_notification_id() or 0)
    record = {
        "disclosure_id": str(uuid4()),
        "event_id": str(uuid4()),
        "position": position,
        "case_id": str(case_id),
        "agency_id": AGENCY,
        "fields": ["person.health"],
        "categories": ["health"],
        "basis": "vital_interest",
        "basis_ref": str(declaration_id),
        "confidentiality_duty": True,
        "occurred_at": f.at(1).isoformat(),
    }
    open_ledger(service.settings).record(position, [record])


def review(client: TestClient, declaration_id: UUID | str, **fields: str) -> Any:
    token = csrf_of(client.get("/web/reviews").text)
    box = ticked(f"confirm-{declaration_id}")  # a verdict cannot be taken back
    data = {"csrf_token": token, "command_id": str(uuid4()), **box, **fields}
    return client.post(f"/web/reviews/{declaration_id}", data=data, follow_redirects=False)


def verdicts(service: HubService, case_id: UUID) -> list[ev.BreakGlassReviewed]:
    events = service.app.events.get(case_id)  # type: ignore[attr-defined]
    return [e.payload for e in events if isinstance(e.payload, ev.BreakGlassReviewed)]


def awaiting_section(page: str) -> str:
    return page.split('id="awaiting-h"')[1].split('id="reviewed-h"')[0]


def test_the_auditor_sees_the_declaration_and_what_it_released_then_reviews_it(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, declaration_id = declared(service)
    declared(service, sensitive=False)  # nothing sensitive named: nothing to review
    disclosed(service, case_id, declaration_id)
    sign_in(client, "auditor")
    page = client.get("/web/reviews")
    assert page.status_code == 200
    awaiting = awaiting_section(page.text)
    assert "審査待ち（1件）" in page.text and str(declaration_id) in awaiting
    assert str(case_id) in awaiting and "officer-試験（区役所 窓口職員）" in awaiting  # who
    assert "健康情報" in awaiting and "令和7年4月10日 09:00 JST" in awaiting  # categories, when
    assert "令和7年4月13日 09:00 JST まで" in awaiting  # the period
    assert "要配慮個人情報の提供（1件）" in awaiting and "令和7年4月11日" in awaiting
    assert "戸畑区 地域包括支援センター" in awaiting  # the agency by its name

    done = review(client, declaration_id, verdict="justified", note="試験の所見")
    assert done.status_code == 303 and done.headers["location"] == "/web/reviews"
    (recorded,) = verdicts(service, case_id)
    assert (recorded.reviewer, recorded.verdict) == ("auditor", "justified")
    assert recorded.actor is not None and recorded.actor.subject == "auditor-試験"
    after = client.get("/web/reviews").text
    assert "審査（正当（必要な提供だった））を記録しました" in after
    assert str(declaration_id) not in awaiting_section(after)
    row = after.split(f'id="reviewed-{declaration_id}"')[1].split("</tr>")[0]
    assert "監査担当：正当" in row and "いのちネット担当係長の判定待ち" in row


def test_a_second_verdict_and_an_unknown_declaration_are_refused_by_name(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, declaration_id = declared(service)
    _, plain_id = declared(service, sensitive=False)
    sign_in(client, "auditor")
    missing = review(client, declaration_id, verdict="")
    assert missing.status_code == 422
    assert "必須" in missing.text.split(f'id="verdict-{declaration_id}-error"')[1][:80]
    assert review(client, declaration_id, verdict="not_justified").status_code == 303

    again = review(client, declaration_id, verdict="justified")
    assert again.status_code == 422
    refusal = again.text.split(f'id="declaration-{declaration_id}-error"')[1][:200]
    assert "監査担当の審査が済んでいます" in refusal and "不当" in refusal
    for unknown in (uuid4(), plain_id):
        refused = review(client, unknown, verdict="justified")
        assert refused.status_code == 422
        said = refused.text.split(f'id="declaration-{unknown}-error"')[1]
        assert "審査の対象にありません" in said
    assert [v.verdict for v in verdicts(service, case_id)] == ["not_justified"]

    # A disclosure after the verdict reopens the review for both reviewers.
    disclosed(service, case_id, declaration_id)
    assert str(declaration_id) in awaiting_section(client.get("/web/reviews").text)
    assert review(client, declaration_id, verdict="justified").status_code == 303


def test_a_coordinator_reviews_its_wards_declarations_only(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, declaration_id = declared(service)
    sign_in(client, "coordinator", ward="moji")
    page = client.get("/web/reviews")
    assert page.status_code == 200 and str(declaration_id) not in page.text
    elsewhere = review(client, declaration_id, verdict="justified")
    nowhere = uuid4()
    unknown = review(client, nowhere, verdict="justified")
    # Another ward's declaration answers as one that does not exist: no oracle.
    assert elsewhere.status_code == unknown.status_code == 422
    said = elsewhere.text.split(f'id="declaration-{declaration_id}-error"')[1].split("</p>")[0]
    assert said.replace(str(declaration_id), "X") == unknown.text.split(
        f'id="declaration-{nowhere}-error"'
    )[1].split("</p>")[0].replace(str(nowhere), "X")

    sign_in(client, "coordinator", ward=WARD)
    assert str(declaration_id) in awaiting_section(client.get("/web/reviews").text)
    assert review(client, declaration_id, verdict="justified").status_code == 303
    sign_in(client, "auditor")
    assert review(client, declaration_id, verdict="justified").status_code == 303
    row = client.get("/web/reviews").text.split(f'id="reviewed-{declaration_id}"')[1]
    assert "完了" in row.split("</tr>")[0]
    assert [(v.reviewer, v.verdict) for v in verdicts(service, case_id)] == [
        ("coordinator", "justified"),
        ("auditor", "justified"),
    ]


def test_other_roles_get_the_403_page_no_session_signs_in_and_no_token_is_refused(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id, declaration_id = declared(service)
    # The outside_scope refusal of the role policy, as the pages show it: the reference page.
    sign_in(client, "ward_officer", ward="moji")
    reference = client.get(f"/web/cases/{case_id}")
    assert reference.status_code == 403 and "権限がありません" in reference.text
    said = "門司区の区役所 窓口職員は、門司区以外の事案を扱えません（事案の閲覧）。"
    assert f'id="refusal">{said}</p>' in reference.text and "may not" not in reference.text
    missing = client.get(f"/web/cases/{uuid4()}")  # no such case: refused in the same words
    assert missing.status_code == 403 and _refusal(missing.text) == _refusal(reference.text)
    for role, ward, agency in (
        ("ward_officer", WARD, ""),
        ("member_agency", "", AGENCY),
        ("analyst", "", ""),
        ("administrator", "", ""),
    ):
        sign_in(client, role, ward, agency)
        for page in ("/web/reviews",) + (() if role == "administrator" else ("/web/erasures",)):
            refused = client.get(page)
            assert refused.status_code == 403, (role, page)
            assert "<title>権限がありません" in refused.text and 'id="refusal"' in refused.text
            said = _refusal(refused.text)  # the policy's refusal, said in Japanese
            assert said.startswith(label("role", role)) and said.endswith("の権限がありません。")
            assert "may not" not in refused.text
        token = csrf_of(client.get("/web/analysis" if role != "ward_officer" else "/web").text)
        forged = client.post(
            f"/web/reviews/{declaration_id}",
            data={"csrf_token": token, "command_id": str(uuid4()), "verdict": "justified"},
            follow_redirects=False,
        )
        assert forged.status_code == 403, (role, forged.text)
    sign_in(client, "auditor")
    assert client.get("/web/erasures").status_code == 403
    # A form without its token (another site's page) is refused, nothing recorded.
    for token in ("", "0" * 64):
        forged = client.post(
            f"/web/reviews/{declaration_id}",
            data={"csrf_token": token, "command_id": str(uuid4()), "verdict": "justified"},
            follow_redirects=False,
        )
        assert forged.status_code == 403 and "CSRF" in forged.text
    # No session: the sign-in page, and a POST is refused.
    client.cookies.clear()
    signed_out = client.get("/web/reviews", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/web/signin"
    assert client.get("/web/erasures", follow_redirects=False).status_code == 303
    posted = client.post(
        f"/web/reviews/{declaration_id}",
        data={"csrf_token": "0" * 64, "command_id": str(uuid4()), "verdict": "justified"},
        follow_redirects=False,
    )
    assert posted.status_code == 401
    assert verdicts(service, case_id) == []


def test_the_navigation_links_the_pages_for_the_roles_that_may_use_them_only(
    hub: tuple[HubService, TestClient],
) -> None:
    _, client = hub
    cases = (
        ("auditor", "", "/web/audit", True, False),
        ("coordinator", WARD, "/web/coordinator", True, False),
        ("administrator", "", "/web/analysis", False, True),
        ("analyst", "", "/web/analysis", False, False),
        ("ward_officer", WARD, "/web/officer", False, False),
    )
    for role, ward, home, reviews, administrators in cases:
        sign_in(client, role, ward)
        nav = client.get(home).text.split("<nav")[1].split("</nav>")[0]
        assert ('href="/web/reviews"' in nav) is reviews, role
        assert ('href="/web/erasures"' in nav) is administrators, role
        assert ('href="/web/network"' in nav) is administrators, role
        assert (client.get("/web/network").status_code == 200) is administrators, role


def test_the_administrator_sees_each_erasure_and_who_confirmed_it(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    for agency in (AGENCY, "tobata.kodomo"):
        service.execute(OFFICER, f.referral(case.case_id, agency, occurred_at=f.at(1)))
    service.app.erase_person(
        case.case_id, decided_by="試験 保健福祉局", reason="保存期間満了", actor=ADMIN
    )
    confirmer = reply_ingester(AGENCY)
    service.app.confirm_erasure(case.case_id, AGENCY, f.at(40), actor=confirmer)

    sign_in(client, "administrator")
    page = client.get("/web/erasures")
    assert page.status_code == 200
    assert "消去 1件、未確認 1機関" in page.text
    rows = page.text.split('id="erasures"')[1]
    confirmed = rows.split('class="confirmed"')[1].split("</tr>")[0]
    assert str(case.case_id) in confirmed and "戸畑区 地域包括支援センター" in confirmed
    assert "確認済み（令和7年5月20日 09:00 JST）" in confirmed
    assert "未確認" in rows.split('class="pending"')[1].split("</tr>")[0]
    pending = client.get("/web/erasures?pending=1").text
    assert "確認済み" not in pending.split('id="erasures"')[1]
    assert 'class="pending"' in pending and "未確認 1機関" in pending


def _discovery_form(client: TestClient) -> dict[str, str]:
    """A ward officer's discovery form as drawn (its command id with it), filled in."""
    sign_in(client, "ward_officer", ward=WARD)
    page = client.get("/web/officer").text
    command_id = re.search(r'name="command_id" value="([^"]+)"', page)
    assert command_id
    return {
        "csrf_token": csrf_of(page),
        "command_id": command_id.group(1),
        "reporter_kind": "resident",
        "signs": "odour",
        "urgency": "routine",
    }


def test_a_second_click_of_a_form_is_the_same_command_done_once(
    hub: tuple[HubService, TestClient],
) -> None:
    """The form's command_id is sent again (a double click, a reload): the command is stamped
    with the first one's time, so it is a duplicate, done, not an IdempotencyConflictError
    nor a second verdict (any command form; the review's own check gives way to it)."""
    service, client = hub
    case_id, declaration_id = declared(service)
    sign_in(client, "auditor")
    token = csrf_of(client.get("/web/reviews").text)
    form = {"csrf_token": token, "command_id": str(uuid4()), "verdict": "justified"}
    form.update(ticked(f"confirm-{declaration_id}"))
    for _ in range(2):
        sent = client.post(f"/web/reviews/{declaration_id}", data=form, follow_redirects=False)
        assert sent.status_code == 303, sent.text
    assert len(verdicts(service, case_id)) == 1

    report = _discovery_form(client)
    heads = []
    for _ in range(2):
        sent = client.post("/web/officer/discovery", data=report, follow_redirects=False)
        assert sent.status_code == 303, sent.text
        heads.append(service.app.recorder.max_notification_id())
    assert heads[0] == heads[1]  # the second wrote nothing


def _unwritten_once(service: HubService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next look for a command's first time finds none, as while the first is still
    queued or being written on another thread (a second click, a retry at once)."""
    looked = service.app.accepted_at
    calls = 0

    def accepted_at(command_id: UUID) -> Any:
        nonlocal calls
        calls += 1
        return None if calls == 1 else looked(command_id)

    monkeypatch.setattr(service.app, "accepted_at", accepted_at)


def test_a_second_click_while_the_first_is_being_written_is_the_same_command_done_once(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It found no first time, so it was stamped now and differs in its time alone: it
    is built again with the first one's time, and is the duplicate it is."""
    service, client = hub
    report = _discovery_form(client)
    sent = client.post("/web/officer/discovery", data=report, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    head = service.app.recorder.max_notification_id()
    _unwritten_once(service, monkeypatch)
    again = client.post("/web/officer/discovery", data=report, follow_redirects=False)
    assert again.status_code == 303, again.text
    assert service.app.recorder.max_notification_id() == head


def test_an_answer_sent_again_while_the_first_is_being_written_is_the_same_answer(
    hub: tuple[HubService, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = hub
    case = f.open_case(ward=WARD)
    service.execute(OFFICER, case)
    referral = f.referral(case.case_id, AGENCY)
    service.execute(OFFICER, referral)
    agency = Actor("agency-試験", Role.member_agency, agency_id=AGENCY)
    reply_id = uuid4()
    answer = AgencyAnswer(answer="received")
    first = service.answer(agency, AGENCY, referral.referral_id, answer, reply_id)
    assert first.applied
    _unwritten_once(service, monkeypatch)
    again = service.answer(agency, AGENCY, referral.referral_id, answer, reply_id)
    assert not again.applied  # a duplicate, not an IdempotencyConflictError
    with pytest.raises(IdempotencyConflictError):  # other content under the same key
        service.answer(
            agency, AGENCY, referral.referral_id, AgencyAnswer(answer="accepted"), reply_id
        )


def test_the_audit_page_reads_a_case_id_typed_in_capitals_as_the_same_case(
    hub: tuple[HubService, TestClient],
) -> None:
    """Edge of the id's text: ``UUID`` takes capitals and braces; the log writes lower case
    with dashes, so the page replays, lists and counts by that form."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    consent = f.consent(case.case_id, occurred_at=f.at(1))
    service.execute(OFFICER, consent)
    sign_in(client, "auditor")
    day = f.at(2).date().isoformat()
    pages = [
        client.get("/web/audit", params={"case": typed, "as_of": day})
        for typed in (str(case.case_id), str(case.case_id).upper(), "{" + case.case_id.hex + "}")
    ]
    assert all(page.status_code == 200 for page in pages)
    replayed = [page.text.split('id="replay-consents"')[1].split("</table>")[0] for page in pages]
    assert all(str(consent.consent_id)[:8] in table for table in replayed)


def test_the_audit_page_replays_a_day_as_it_stood_at_its_end_not_the_next_day(
    hub: tuple[HubService, TestClient],
) -> None:
    """「この日の終わり時点」: a consent the form took "until 30 April" (held to 1 May
    00:00 JST, exclusive) is still in force at the end of 30 April; a withdrawal at
    1 May 00:00 JST is the next day's and does not show yet."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    next_day = datetime(2025, 5, 1, tzinfo=JST)
    through = f.consent(case.case_id, occurred_at=f.at(1), valid_until=next_day)
    withdrawn = f.consent(case.case_id, occurred_at=f.at(1), valid_until=f.at(300))
    service.execute(OFFICER, through)
    service.execute(OFFICER, withdrawn)
    service.execute(OFFICER, f.withdrawal(case.case_id, withdrawn.consent_id, occurred_at=next_day))
    sign_in(client, "auditor")
    page = client.get("/web/audit", params={"case": str(case.case_id), "as_of": "2025-04-30"})
    assert page.status_code == 200
    replay = page.text.split('id="replay-h"')[1]
    assert str(through.consent_id)[:8] in replay  # in force through the whole of 30 April
    assert str(withdrawn.consent_id)[:8] in replay  # its withdrawal is on 1 May
    after = client.get("/web/audit", params={"case": str(case.case_id), "as_of": "2025-05-01"})
    replayed = after.text.split('id="replay-h"')[1]
    assert str(through.consent_id)[:8] not in replayed
    assert str(withdrawn.consent_id)[:8] not in replayed


def _refusal(page: str) -> str:
    found = re.search(r'id="refusal">([^<]*)</p>', page)
    assert found is not None, page
    return found.group(1)
