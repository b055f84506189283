"""The notes officers write on a case (相談内容の要旨, 見立ての要旨, 申し送り, and those of
見守りの手配, 支援の記録 and 評価) were saved sealed and shown to no one, not even their
writer. They are shown with the person's details, in the same recorded read, oldest first;
never before that read, never on an erased case, never to another ward's officer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hub import commands as c
from hub.errors import PermissionDeniedError
from hub.identity import Actor, Role
from hub.labels import label
from ops import case_notes
from ops.usecases import HubService
from tests import case_narratives as narratives
from tests import factories as f
from tests.web_support import csrf_of, sign_in

WARD = "tobata"
OFFICER = Actor("officer-試験", Role.ward_officer, ward=WARD)
AUDITOR = Actor("auditor-試験", Role.auditor)
COORDINATOR = Actor("kakaricho-試験", Role.coordinator, ward=WARD)

# Each note, in the order written, as the page labels it.
WRITTEN = [
    ("相談内容の要旨", "架空の相談\n二行目"),
    ("見立ての要旨", "架空の見立て"),
    ("申し送り", "架空の申し送り"),
    ("見守りの手配の内容", "架空の手配"),
    ("支援の内容", "架空の支援"),
    ("支援計画の課題", "生活：架空の課題"),  # the plan's (tests.factories.plan)
    ("支援計画の目標", "架空の目標"),
    ("評価の要旨", "架空の評価"),
]
PATHS = [
    "consultation.note",
    "assessment.summary",
    "referral.note",
    "watch_over.note",
    "support_activity.note",
    "plan.issue",
    "plan.goal",
    "evaluation.note",
]


def with_notes(service: HubService) -> UUID:
    """A case of the ward with one note of each kind, a day apart, the oldest first."""
    opened = f.open_case(ward=WARD)
    service.execute(OFFICER, opened)
    case_id = opened.case_id
    service.execute(
        OFFICER,
        f.consultation(
            case_id=case_id,
            window_agency=f"{WARD}.houkatsu",
            note=WRITTEN[0][1],
            occurred_at=f.at(1),
        ),
    )
    service.execute(OFFICER, f.assessment(case_id, summary=WRITTEN[1][1], occurred_at=f.at(2)))
    service.execute(
        OFFICER, f.referral(case_id, f"{WARD}.hogo", note=WRITTEN[2][1], occurred_at=f.at(3))
    )
    service.execute(
        OFFICER,
        f.build(
            c.ArrangeWatchOver,
            case_id=case_id,
            watchers=[f"{WARD}.houkatsu"],
            frequency="weekly",
            note=WRITTEN[3][1],
            occurred_at=f.at(4),
        ),
    )
    service.execute(
        OFFICER,
        f.activity(case_id, agency_id=f"{WARD}.hogo", note=WRITTEN[4][1], occurred_at=f.at(5)),
    )
    service.execute(
        COORDINATOR,
        f.plan(
            case_id,
            lead_agency=f"{WARD}.houkatsu",
            roles=[{"agency_id": f"{WARD}.houkatsu", "role": "主担当"}],
            occurred_at=f.at(6),
        ),
    )
    service.execute(
        OFFICER,
        f.build(
            c.EvaluateCase,
            case_id=case_id,
            evaluation="improved",
            note=WRITTEN[-1][1],
            occurred_at=f.at(7),
        ),
    )
    return case_id


def show(client: TestClient, case_id: UUID) -> Any:
    page = client.get(f"/web/cases/{case_id}").text
    return client.post(
        f"/web/cases/{case_id}/person",
        data={"csrf_token": csrf_of(page), "read_purpose": "consultation"},
    )


def test_each_note_written_on_the_case_is_shown_after_the_read_oldest_first(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = with_notes(service)
    sign_in(client, "ward_officer", ward=WARD)
    before = client.get(f"/web/cases/{case_id}").text
    assert all(note.split("\n")[0] not in before for _, note in WRITTEN)  # not before the read
    shown = show(client, case_id)
    assert shown.status_code == 200, shown.text[-300:]
    listed = shown.text.split('id="case-notes"')[1].split("</dl>")[0]
    assert [x.split("</dt>")[0] for x in listed.split("<dt>")[1:]] == [k for k, _ in WRITTEN]
    for _, note in WRITTEN:
        assert f'<span class="note">{note}</span>' in listed  # its lines kept
    assert "JST" in listed and "戸畑区 保護課" in listed  # when, and the referral's agency
    assert shown.text.index('id="person"') < shown.text.index('id="case-notes"')
    assert "アクセス記録に残りました" in shown.text


def test_the_notes_are_in_the_same_access_record_as_the_person(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    case_id = with_notes(service)
    shown = service.person(OFFICER, case_id, "consultation", notes=True)
    assert [n["path"] for n in shown["notes"]] == PATHS
    (record,) = service.access(AUDITOR)
    assert set(PATHS) <= set(record["fields"]) and "person.name" in record["fields"]

    sign_in(client, "auditor")
    access = client.get("/web/audit").text.split('id="access"')[1].split("</table>")[0]
    assert all(k in access for k, _ in WRITTEN)


def test_an_erased_cases_notes_are_neither_shown_nor_read(
    hub: tuple[HubService, TestClient],
) -> None:
    service, _ = hub
    case_id = with_notes(service)
    service.app.erase_person(
        case_id,
        decided_by="試験 保健福祉局",
        reason="保存期間満了",
        actor=Actor("admin-試験", Role.administrator),
    )
    shown = service.person(OFFICER, case_id, "consultation", notes=True)
    assert shown["notes"] == [] and not shown["read_recorded"]


def test_notes_read_just_before_an_erasure_are_not_shown_unrecorded(
    hub: tuple[HubService, TestClient], monkeypatch: Any
) -> None:
    service, _ = hub
    case_id = with_notes(service)
    read_notes = case_notes.held_notes

    def then_erased(app: Any, case: UUID) -> list[dict[str, Any]]:
        found = read_notes(app, case)
        service.app.erase_person(
            case,
            decided_by="試験 保健福祉局",
            reason="保存期間満了",
            actor=Actor("admin-試験", Role.administrator),
        )
        return found

    monkeypatch.setattr(case_notes, "held_notes", then_erased)
    shown = service.person(OFFICER, case_id, "consultation", notes=True)
    assert not shown["read_recorded"] and shown["notes"] == []


def test_another_wards_officer_is_refused_before_anything_is_read(
    hub: tuple[HubService, TestClient], monkeypatch: Any
) -> None:
    service, client = hub
    case_id = with_notes(service)
    read: list[UUID] = []
    monkeypatch.setattr(case_notes, "held_notes", lambda app, case: read.append(case) or [])
    other = Actor("officer-試験", Role.ward_officer, ward="kokurakita")
    with pytest.raises(PermissionDeniedError):
        service.person(other, case_id, "consultation", notes=True)
    sign_in(client, "ward_officer", ward="kokurakita")
    page = client.get("/web/officer").text
    sent = client.post(
        f"/web/cases/{case_id}/person",
        data={"csrf_token": csrf_of(page), "read_purpose": "consultation"},
    )
    assert sent.status_code == 403
    assert all(note not in sent.text for _, note in WRITTEN)
    assert read == []
    assert service.access(AUDITOR) == []


def test_the_reasons_and_visit_notes_are_shown_in_the_same_read(
    hub: tuple[HubService, TestClient],
) -> None:
    """The reasons of a cancellation, a 中断, a 終結 and an emergency, and the outreach
    visits' notes, were sealed and shown nowhere: shown now with the others, recorded."""
    service, client = hub
    case_id = narratives.with_narratives(service.app)
    sign_in(client, "ward_officer", ward=narratives.WARD)
    before = client.get(f"/web/cases/{case_id}").text
    assert all(text not in before for _, text in narratives.WRITTEN)
    shown = show(client, case_id)
    listed = shown.text.split('id="case-notes"')[1].split("</dl>")[0]
    labels = [x.split("</dt>")[0] for x in listed.split("<dt>")[1:]]
    assert labels == [label("person_field", path) for path, _ in narratives.WRITTEN]
    for _, text in narratives.WRITTEN:
        assert f'<span class="note">{text}</span>' in listed
    assert "〔他機関へつないだ〕" in listed and "〔手紙を投函〕" in listed
    (record,) = service.access(AUDITOR)
    assert {path for path, _ in narratives.WRITTEN} <= set(record["fields"])
