"""An agency's inbox, as its integrator's client reads it: every row as the committed OpenAPI
document declares it (fields, codes, instants in JST). The document said only "an array of
objects", so a client generated from it had no field to read (README, The HTTP API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from hub.identity import Role
from hub.settings import Settings
from ops import wiring
from ops.api.app import create_app
from ops.identity import dev_issuer

DOCUMENT = Path(__file__).parents[2] / "schemas" / "openapi.json"
AGENCY = "tobata.houkatsu"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(mode="development", var_dir=tmp_path)
    service = wiring.open_service(settings)
    try:
        yield TestClient(create_app(service, settings)), settings
    finally:
        service.close()


def _bearer(settings: Settings, role: Role, **scope: Any) -> dict[str, str]:
    claims = dev_issuer.claims_for(settings, subject=f"{role.value}-試験", role=role, **scope)
    return {"Authorization": f"Bearer {dev_issuer.sign(dev_issuer.signing_key(settings), claims)}"}


def _row_schema(path: str = "/agencies/{agency_id}/inbox") -> dict[str, Any]:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    get = document["paths"][path]["get"]
    schema = get["responses"]["200"]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_every_inbox_row_is_as_the_document_declares(
    client: tuple[TestClient, Settings],
) -> None:
    api, settings = client
    officer = _bearer(settings, Role.ward_officer, ward="tobata")
    agency = _bearer(settings, Role.member_agency, agency_id=AGENCY)
    case_id, referrals = str(uuid4()), [str(uuid4()), str(uuid4())]
    at = "2025-05-02T11:00:00+09:00"
    opened = api.post(
        "/commands/OpenCase",
        json={"occurred_at": at, "case_id": case_id, "ward": "tobata"},
        headers={**officer, "Idempotency-Key": str(uuid4())},
    )
    assert opened.status_code == 201, opened.text
    for referral_id in referrals:
        referred = api.post(
            "/commands/ReferCase",
            json={
                "occurred_at": at,
                "case_id": case_id,
                "referral_id": referral_id,
                "agency_id": AGENCY,
                "purpose": "consultation",
                "urgency": "soon",
            },
            headers={**officer, "Idempotency-Key": str(uuid4())},
        )
        assert referred.status_code == 201, referred.text
    answered = api.post(
        f"/agencies/{AGENCY}/inbox/{referrals[0]}/answer",
        json={"answer": "declined", "reason_code": "capacity"},
        headers={**agency, "Idempotency-Key": str(uuid4())},
    )
    assert answered.status_code == 201, answered.text

    inbox = api.get(f"/agencies/{AGENCY}/inbox", headers=agency)

    assert inbox.status_code == 200
    rows = inbox.json()
    assert {row["referral_id"] for row in rows} == set(referrals)
    validator = jsonschema_rs.validator_for(_row_schema(), validate_formats=True)
    assert [e.message for e in validator.iter_errors(rows)] == []
    items = _row_schema()["components"]["schemas"]["InboxRow"]
    assert set(items["required"]) == set(rows[0]), "every field a row has is declared, and required"
    declined = next(row for row in rows if row["referral_id"] == referrals[0])
    assert declined["status"] == "declined"
    assert declined["sent_at"] == at and declined["first_answer_at"].endswith("+09:00")


def test_the_answer_routes_outcome_names_the_answers_codes() -> None:
    """AnswerOutcome.answer was any string, where the request's answer is one of six codes."""
    schemas = json.loads(DOCUMENT.read_text(encoding="utf-8"))["components"]["schemas"]
    said = schemas["AnswerOutcome"]["properties"]["answer"]
    asked = schemas["AgencyAnswer"]["properties"]["answer"]
    assert said.get("enum") == asked["enum"]


def test_a_cancelled_referral_waits_for_no_answer(client: tuple[TestClient, Settings]) -> None:
    """A referral the referrer cancelled before any answer was listed as unanswered in the
    agency's inbox (``?unanswered=true``) and the coordinator's unanswered referrals, though an
    answer to it is refused (409): the agency and the coordinator chased a closed request."""
    api, settings = client
    officer = _bearer(settings, Role.ward_officer, ward="tobata")
    agency = _bearer(settings, Role.member_agency, agency_id=AGENCY)
    coordinator = _bearer(settings, Role.coordinator, ward="tobata")
    case_id, kept, cancelled = str(uuid4()), str(uuid4()), str(uuid4())
    at = "2025-05-02T11:00:00+09:00"

    def command(kind: str, body: dict[str, Any]) -> None:
        sent = api.post(
            f"/commands/{kind}",
            json={"occurred_at": at, "case_id": case_id, **body},
            headers={**officer, "Idempotency-Key": str(uuid4())},
        )
        assert sent.status_code == 201, sent.text

    command("OpenCase", {"ward": "tobata"})
    for referral_id in (kept, cancelled):
        referral = {"agency_id": AGENCY, "purpose": "consultation", "urgency": "soon"}
        command("ReferCase", {"referral_id": referral_id, **referral})
    command("CancelReferral", {"referral_id": cancelled, "reason_code": "referred_elsewhere"})

    waiting = api.get(f"/agencies/{AGENCY}/inbox", params={"unanswered": True}, headers=agency)
    unanswered = api.get("/coordination/referrals/unanswered", headers=coordinator)
    every = api.get(f"/agencies/{AGENCY}/inbox", headers=agency)

    assert [row["referral_id"] for row in waiting.json()] == [kept]
    assert [row["referral_id"] for row in unanswered.json()] == [kept]
    # the coordinator's lists are rows of the same view, declared as such
    coordinators = _row_schema("/coordination/referrals/unanswered")
    validator = jsonschema_rs.validator_for(coordinators, validate_formats=True)
    assert [e.message for e in validator.iter_errors(unanswered.json())] == []
    assert coordinators["items"] == {"$ref": "#/components/schemas/InboxRow"}
    statuses = {row["referral_id"]: row["status"] for row in every.json()}
    assert statuses == {kept: "sent", cancelled: "cancelled"}
