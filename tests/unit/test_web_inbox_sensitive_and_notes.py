"""A browser-only agency sees on /web/inbox what its Kafka client would hold: the sensitive
details (要配慮個人情報) the relay's ledger lists as released to it, marked as such with the
disclosure's basis and date, and the narratives of the case's events released to it, each
with its label, its event's kind and time; never a narrative released to another agency;
each path shown recorded in the access log with its basis (synthetic data only)."""

from __future__ import annotations

from uuid import UUID

from fastapi.testclient import TestClient

from hub import commands as c
from hub.identity import Actor, Role
from ops.usecases import HubService
from projections.audit.access import access_log
from tests import factories as f
from tests.unit.test_web_inbox_values import (
    ADMIN,
    AGENCY,
    ALL,
    OFFICER,
    OTHER,
    WARD,
    bearer,
    referred,
    relay_passes,
    released,
    stamped,
)

OTHER_STAFF = Actor("other-試験", Role.member_agency, agency_id=OTHER)
SENSITIVE = [*ALL, "health"]
ACTIVITY_NOTE = "架空の同行支援の記録（試験）"


def recorded(service: HubService, case_id: UUID) -> dict[str, set[str]]:
    """The paths the access log records as read of ``case_id``, by basis."""
    found: dict[str, set[str]] = {}
    for read in access_log(service.app):
        if read.case_id == str(case_id):
            found.setdefault(read.basis, set()).update(read.fields)
    return found


def test_a_sensitive_detail_released_on_consent_is_shown_marked_and_recorded(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=SENSITIVE)
    relay_passes(service)

    page = released(client)

    shown = page.split('class="summary stacks released"')[1].split("</dl>")[0]
    assert f.SYNTHETIC_HEALTH in shown
    assert '<dt>健康<br><strong class="sensitive">要配慮個人情報</strong></dt>' in shown
    why = shown.split('id="sensitive-')[1].split("</small>")[0]
    assert "本人同意に基づいて" in why and "台帳" in why and "令和7年" in why
    assert "person.health" in recorded(service, case_id)["consent"]


def test_a_sensitive_detail_the_ledger_does_not_list_is_not_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    """The consent covers no health: the relay withheld it, so the page neither shows it
    nor says 要配慮個人情報, and no read of it is recorded."""
    service, client = hub
    case_id = referred(service, categories=ALL)
    relay_passes(service)

    page = released(client)

    assert f.SYNTHETIC_NAME in page
    assert f.SYNTHETIC_HEALTH not in page and "要配慮個人情報です" not in page
    assert "person.health" not in recorded(service, case_id)["consent"]


def test_a_narrative_released_to_the_agency_is_shown_with_its_label_and_time(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=ALL)
    service.execute(
        OFFICER, f.activity(case_id, agency_id=AGENCY, note=ACTIVITY_NOTE, occurred_at=f.at(2))
    )
    relay_passes(service)

    page = released(client)

    notes = page.split('class="released-notes"')[1].split("</ol>")[0]
    assert ACTIVITY_NOTE in notes
    assert "<strong>支援の内容</strong>（支援活動・" in notes
    assert "本人同意に基づく開示" in notes
    assert "support_activity.note" in recorded(service, case_id)["consent"]


def test_a_narrative_released_to_another_agency_only_is_not_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    """Both agencies on the case; only the other's consent covers narratives: the ledger
    lists the activity's note for the other agency alone."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    service.execute(OFFICER, f.consent(case.case_id, scope=[AGENCY], data_categories=["identity"]))
    service.execute(OFFICER, f.consent(case.case_id, scope=[OTHER], data_categories=ALL))
    service.execute(OFFICER, f.referral(case.case_id, agency_id=AGENCY))
    service.execute(OFFICER, f.referral(case.case_id, agency_id=OTHER))
    service.execute(OFFICER, f.activity(case.case_id, agency_id=OTHER, note=ACTIVITY_NOTE))
    relay_passes(service)

    assert ACTIVITY_NOTE in released(client, OTHER)
    own = released(client, AGENCY)
    assert f.SYNTHETIC_NAME in own and ACTIVITY_NOTE not in own


def test_the_reason_of_another_agencys_answer_is_not_shown_as_this_agencys(
    hub: tuple[HubService, TestClient],
) -> None:
    """A consent covering both: the relay sends this agency the other's answer too, but its
    reason is about the other agency's referral."""
    service, client = hub
    case = f.open_case(ward=WARD, person=f.person())
    service.execute(OFFICER, case)
    service.execute(OFFICER, f.consent(case.case_id, scope=[AGENCY, OTHER], data_categories=ALL))
    service.execute(OFFICER, f.referral(case.case_id, agency_id=AGENCY))
    service.execute(OFFICER, f.referral(case.case_id, agency_id=OTHER))
    relay_passes(service)
    [theirs] = service.inbox(OTHER_STAFF, OTHER)
    reason = "他機関の受け入れの所見（架空）"
    service.execute(
        OTHER_STAFF,
        f.answer(case.case_id, UUID(theirs["referral_id"]), OTHER, "accepted", reason=reason),
    )
    relay_passes(service)

    assert reason in released(client, OTHER)
    assert reason not in released(client, AGENCY)


def test_after_a_clearing_the_detail_goes_and_the_sensitive_one_stays(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=SENSITIVE)
    relay_passes(service)
    service.execute(OFFICER, stamped(c.ClearPersonDetails, case_id, fields=["address"]))

    page = released(client)

    assert f.SYNTHETIC_ADDRESS not in page
    assert f.SYNTHETIC_HEALTH in page


def test_after_an_erasure_no_sensitive_detail_nor_narrative_is_shown(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=SENSITIVE)
    service.execute(OFFICER, f.activity(case_id, agency_id=AGENCY, note=ACTIVITY_NOTE))
    relay_passes(service)
    assert ACTIVITY_NOTE in released(client)
    reads = len(list(access_log(service.app)))
    service.app.erase_person(case_id, decided_by="試験課", reason="保存期間満了", actor=ADMIN)

    page = released(client)

    assert "本人の情報は消去済みです" in page
    assert f.SYNTHETIC_HEALTH not in page and ACTIVITY_NOTE not in page
    assert len(list(access_log(service.app))) == reads


def test_the_api_carries_the_sensitive_details_and_the_narratives(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = referred(service, categories=SENSITIVE)
    service.execute(OFFICER, f.activity(case_id, agency_id=AGENCY, note=ACTIVITY_NOTE))
    relay_passes(service)
    client.cookies.clear()
    staff = bearer(service, Role.member_agency, agency_id=AGENCY)

    answer = client.get(f"/agencies/{AGENCY}/inbox?details=true", headers=staff)

    assert answer.headers["cache-control"] == "no-store"
    [row] = answer.json()
    health = row["released"]["fields"]["person.health"]
    assert health["value"] == f.SYNTHETIC_HEALTH and health["sensitive"] is True
    assert row["released"]["fields"]["person.name"]["sensitive"] is False
    [note] = row["released"]["narratives"]
    assert note["text"] == ACTIVITY_NOTE and note["label"] == "支援の内容"
    assert note["event_type"] == "SupportActivityRecorded" and note["basis"] == "consent"
    assert note["occurred_at"].endswith("+09:00")
    assert {"person.health", "support_activity.note"} <= recorded(service, case_id)["consent"]


def test_a_sensitive_detail_an_emergency_names_is_shown_on_its_basis(
    hub: tuple[HubService, TestClient],
) -> None:
    """Break-glass: the declaration names health for this agency; the relay's details on the
    emergency release it (vital interest), and the page says so, and records it so."""
    service, client = hub
    case_id = referred(service)  # no basis at the referral
    relay_passes(service)
    assert f.SYNTHETIC_HEALTH not in released(client)
    declared = f.emergency(
        case_id,
        agencies=[AGENCY],
        data_categories=["identity", "contact"],
        sensitive_categories=["health"],
        sensitive_reason="服薬の確認が必要（架空）",
    )
    service.execute(OFFICER, declared)
    relay_passes(service)

    page = released(client)

    why = page.split('id="sensitive-')[1].split("</small>")[0]
    assert f.SYNTHETIC_HEALTH in page and "緊急" in why
    assert "person.health" in recorded(service, case_id)["vital_interest"]
