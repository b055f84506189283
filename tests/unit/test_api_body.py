"""A request body that is JSON but not an object, or that the JSON parser gives up on, is
refused saying so (README: a body that is not a JSON object is 400, MalformedBodyError)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub.identity import Actor, Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.api.commands import json_object
from ops.api.problems import MalformedBodyError
from ops.identity import dev_issuer
from ops.usecases import HubService
from tests import factories as f


class _Body:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.headers = {"content-type": "application/json"}

    async def body(self) -> bytes:
        return self.raw


@pytest.mark.parametrize("raw", [b"[1]", b'"text"', b"3", b"null"])
def test_a_json_body_that_is_no_object_is_refused_as_not_an_object(raw: bytes) -> None:
    with pytest.raises(MalformedBodyError) as refused:
        asyncio.run(json_object(cast(Any, _Body(raw))))
    assert str(refused.value) == "the body is not a JSON object"


def test_a_json_object_is_read() -> None:
    assert asyncio.run(json_object(cast(Any, _Body(b'{"a": 1}')))) == {"a": 1}


ANSWER = f"/agencies/tobata.houkatsu/inbox/{uuid4()}/answer"


def _token(tmp_path: Path, role: Role, agency_id: str | None = None) -> str:
    """A development token of ``role``, signed with the keys under ``tmp_path``."""
    settings = Settings(mode="development", var_dir=tmp_path)
    claims = dev_issuer.claims_for(settings, subject=f"{role}-試験", role=role, agency_id=agency_id)
    return dev_issuer.sign(dev_issuer.signing_key(settings), claims)


def _client(tmp_path: Path) -> TestClient:
    """The app with no service behind it: what reaches the service is a 500."""
    return TestClient(
        create_app(cast(HubService, None), Settings(mode="development", var_dir=tmp_path))
    )


def _answer_client(tmp_path: Path) -> tuple[TestClient, str]:
    return _client(tmp_path), _token(tmp_path, Role.member_agency, "tobata.houkatsu")


def _post_answer(client: TestClient, raw: str, token: str) -> Any:
    return client.post(
        ANSWER,
        content=raw,
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid4()),
            "Authorization": f"Bearer {token}",
        },
    )


@pytest.mark.parametrize("raw", ["[" * 5000 + "]" * 5000, '{"answer": ' + "1" * 5000 + "}"])
def test_an_answer_body_the_json_parser_gives_up_on_is_a_malformed_body(
    raw: str, tmp_path: Path
) -> None:
    """What the JSON parser cannot read (nesting past the recursion limit, a number too
    long) is named as the commands name it."""
    client, token = _answer_client(tmp_path)
    answered = _post_answer(client, raw, token)
    assert answered.status_code == 400, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert answered.json()["error"] == MalformedBodyError.__name__


@pytest.mark.parametrize("raw", ["{not json", '{"answer": "nonsense"}', "[1]", ""])
def test_an_answer_without_a_token_is_refused_before_its_body_is_read(
    raw: str, tmp_path: Path
) -> None:
    """A caller who is not let in learns nothing of what the body should have been."""
    client, _token = _answer_client(tmp_path)
    answered = client.post(
        ANSWER,
        content=raw,
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid4())},
    )
    assert answered.status_code == 401, answered.text
    assert answered.json()["error"] == "AuthenticationError"


def test_an_answer_that_breaks_its_rules_names_the_field(tmp_path: Path) -> None:
    client, token = _answer_client(tmp_path)
    answered = client.post(
        ANSWER,
        json={"answer": "declined"},
        headers={"Idempotency-Key": str(uuid4()), "Authorization": f"Bearer {token}"},
    )
    assert answered.status_code == 422, answered.text
    assert "reason_code" in answered.json()["detail"]


def test_the_answer_body_stays_in_the_openapi_document(tmp_path: Path) -> None:
    client, _token = _answer_client(tmp_path)
    document = client.get("/openapi.json").json()
    route = document["paths"]["/agencies/{agency_id}/inbox/{referral_id}/answer"]["post"]
    reference = route["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert reference == "#/components/schemas/AgencyAnswer"
    schema = document["components"]["schemas"]["AgencyAnswer"]
    assert schema["required"] == ["answer"]
    assert set(schema["properties"]) == {
        "answer",
        "reason_code",
        "reason",
        "outcome",
        "answered_at",
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "name", "says"),
    [
        ("GET", "/nope", 404, "NotFoundError", "/openapi.json"),
        ("GET", "/commands/NoSuchCommand", 404, "NotFoundError", "hub schema commands"),
        ("POST", "/commands/NoSuchCommand", 404, "NotFoundError", "hub schema commands"),
        ("GET", "/cases/", 404, "NotFoundError", "/openapi.json"),
        ("DELETE", "/cases", 405, "MethodNotAllowedError", "method"),
        ("GET", "/commands/ReportDiscovery", 405, "MethodNotAllowedError", "method"),
    ],
)
def test_a_path_or_method_not_served_is_a_problem_with_a_named_error(
    method: str, path: str, status: int, name: str, says: str, tmp_path: Path
) -> None:
    # A mistyped command type was {"title": "Not Found", "status": 404} and nothing more:
    # the README promises every problem a detail.
    client, _token = _answer_client(tmp_path)
    answered = client.request(method, path)
    assert answered.status_code == status, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert answered.json()["error"] == name
    assert says in answered.json()["detail"]
    if status == 405:  # HTTP: a 405 names the methods the address takes
        assert answered.headers["allow"] in ("GET", "POST")


@pytest.mark.parametrize(
    ("role", "agency"),
    [(Role.analyst, None), (Role.partner_reporter, None), (Role.member_agency, "moji.houkatsu")],
)
@pytest.mark.parametrize("raw", ["{not json", '{"answer": "nonsense"}', "{}"])
def test_an_answer_by_a_role_or_agency_that_may_not_is_refused_before_its_body_is_read(
    role: Role, agency: str | None, raw: str, tmp_path: Path
) -> None:
    """As a command type a role never gives: 403, whatever the body holds."""
    answered = _post_answer(_client(tmp_path), raw, _token(tmp_path, role, agency))
    assert answered.status_code == 403, answered.text
    assert answered.json()["error"] == "PermissionDeniedError"


def test_an_answers_remark_with_a_control_character_names_the_field(
    hub: tuple[HubService, TestClient], tmp_path: Path
) -> None:
    """Refused by the command the answer becomes, it was 'failed validation as
    AnswerReferral: (record)', naming no field."""
    service, client = hub
    officer = Actor("officer-試験", Role.ward_officer, ward="tobata")
    case = f.open_case(ward="tobata")
    service.execute(officer, case)
    referral = f.referral(case.case_id, agency_id="tobata.hogo")
    service.execute(officer, referral)
    token = _token(tmp_path, Role.member_agency, "tobata.hogo")  # the fixture's var dir
    answered = client.post(
        f"/agencies/tobata.hogo/inbox/{referral.referral_id}/answer",
        json={"answer": "declined", "reason_code": "capacity", "reason": "架空\x00の補足"},
        headers={"Idempotency-Key": str(uuid4()), "Authorization": f"Bearer {token}"},
    )
    assert answered.status_code == 422, answered.text
    assert answered.json()["errors"][0]["field"] == "reason"


@pytest.mark.parametrize(
    "query",
    ["/audit/replay?as_of=-1", "/audit/replay?as_of=1746057600", "/audit/access?from=20250401"],
)
def test_an_instant_in_a_query_written_as_a_number_is_refused(query: str, tmp_path: Path) -> None:
    """FastAPI read ``as_of=-1`` as 1969-12-31T23:59:59Z and answered a replay of then."""
    token = _token(tmp_path, Role.auditor)
    answered = _client(tmp_path).get(query, headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 422, answered.text
    assert "not as a number" in answered.json()["detail"]
