"""Values at the edge of their JSON type, at the API's door: what a field's type does not
hold is refused naming the field (422 problem+json), never read as some other value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from hub.identity import Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.usecases import HubService

ANSWER = f"/agencies/tobata.houkatsu/inbox/{uuid4()}/answer"


def _client(tmp_path: Path) -> tuple[TestClient, Settings]:
    """The app with no service behind it: a request that reaches the service is a 500."""
    settings = Settings(mode="development", var_dir=tmp_path)
    app = create_app(cast(HubService, None), settings)
    return TestClient(app, raise_server_exceptions=False), settings


def _headers(settings: Settings, role: Role, **scope: Any) -> dict[str, str]:
    claims = dev_issuer.claims_for(settings, subject=f"{role}-試験", role=role, **scope)
    token = dev_issuer.sign(dev_issuer.signing_key(settings), claims)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid4())}


@pytest.mark.parametrize("answered_at", [1796112000, "1796112000", 1796112000.5])
def test_an_answers_time_written_as_a_number_is_refused_naming_it(
    tmp_path: Path, answered_at: object
) -> None:
    """pydantic reads a number as seconds since 1970: an answer dated by a count would be
    recorded at some other time. A command's instants refuse it; the answer's does too."""
    client, settings = _client(tmp_path)
    answered = client.post(
        ANSWER,
        json={"answer": "received", "answered_at": answered_at},
        headers=_headers(settings, Role.member_agency, agency_id="tobata.houkatsu"),
    )
    assert answered.status_code == 422, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answered.json()["errors"]] == ["answered_at"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"answer": "declined", "answer": "received"}', "answer"),
        ('{"answer": "received", "reason": "試験", "reason": "試験2"}', "reason"),
        ('{"answer": "received", "試験 花子": 1, "試験 花子": 2}', "(body)"),
    ],
)
def test_a_key_given_twice_in_an_answer_is_refused_naming_it(
    tmp_path: Path, raw: str, field: str
) -> None:
    """json.loads kept the last of the two, where a proxy or the client's own check may
    have read the first: the hub would record an answer no one in front of it saw. A key
    that is no field's name is not said back."""
    client, settings = _client(tmp_path)
    answered = client.post(
        ANSWER,
        content=raw.encode(),
        headers={
            **_headers(settings, Role.member_agency, agency_id="tobata.houkatsu"),
            "Content-Type": "application/json",
        },
    )
    assert answered.status_code == 422, answered.text
    assert [e["field"] for e in answered.json()["errors"]] == [field]
    assert "花子" not in answered.text


def test_a_key_given_twice_in_a_command_is_refused_naming_it(tmp_path: Path) -> None:
    client, settings = _client(tmp_path)
    raw = '{"occurred_at": "2025-05-01T09:00:00+09:00", "ward": "tobata", "ward": "moji"}'
    sent = client.post(
        "/commands/OpenCase",
        content=raw.encode(),
        headers={**_headers(settings, Role.operator), "Content-Type": "application/json"},
    )
    assert sent.status_code == 422, sent.text
    assert [e["field"] for e in sent.json()["errors"]] == ["ward"]


@pytest.mark.parametrize(
    ("path", "role", "field"),
    [
        ("/cases?ward=tobata&ward=moji", Role.operator, "ward"),
        ("/audit/replay?as_of=2025-05-01&as_of=2025-06-01", Role.auditor, "as_of"),
        (
            "/agencies/tobata.houkatsu/inbox?unanswered=false&unanswered=true",
            Role.operator,
            "unanswered",
        ),
        ("/indicators?fy=R7&fy=R6", Role.analyst, "fy"),
    ],
)
def test_a_query_parameter_given_twice_is_refused_naming_it(
    tmp_path: Path, path: str, role: Role, field: str
) -> None:
    """FastAPI read the last of the two, where a proxy in front (or whoever reads the access
    log) takes the first: which ward or day was asked for could not be known."""
    client, settings = _client(tmp_path)
    asked = client.get(path, headers=_headers(settings, role))
    assert asked.status_code == 422, asked.text
    assert [e["field"] for e in asked.json()["errors"]] == [field]


def test_a_query_parameter_given_twice_without_a_token_is_401(tmp_path: Path) -> None:
    client, _ = _client(tmp_path)
    assert client.get("/cases?ward=tobata&ward=moji").status_code == 401


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_a_command_body_not_sent_as_json_is_refused_naming_the_header(
    tmp_path: Path, content_type: str
) -> None:
    """A JSON text sent as text/plain or as a form was read as JSON all the same."""
    client, settings = _client(tmp_path)
    headers = {**_headers(settings, Role.operator), "Content-Type": content_type}
    raw = b'{"occurred_at": "2025-05-01T09:00:00+09:00", "ward": "tobata"}'
    sent = client.post("/commands/OpenCase", content=raw, headers=headers)
    assert sent.status_code == 422, sent.text
    assert [e["field"] for e in sent.json()["errors"]] == ["Content-Type"]


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "Application/JSON; charset=UTF-8", "application/merge-patch+json"],
)
def test_a_body_sent_as_json_goes_on_to_be_read(tmp_path: Path, content_type: str | None) -> None:
    """Sent with no type at all (a script's bare HTTP client), the body is read as JSON."""
    client, settings = _client(tmp_path)
    headers = _headers(settings, Role.operator)
    if content_type is not None:
        headers["Content-Type"] = content_type
    sent = client.post("/commands/OpenCase", content=b'{"ward": 1}', headers=headers)
    assert sent.status_code == 422, sent.text
    assert "ward" in [e["field"] for e in sent.json()["errors"]]


def test_an_access_log_filter_by_a_blank_actor_is_refused_not_answered_empty(
    tmp_path: Path,
) -> None:
    """?actor= (a form's field left blank) filtered on the subject "" and answered [], which
    an auditor reads as "no one was shown anything"."""
    client, settings = _client(tmp_path)
    for blank in ("", "%20%20"):
        asked = client.get(f"/audit/access?actor={blank}", headers=_headers(settings, Role.auditor))
        assert asked.status_code == 422, asked.text
        assert [e["field"] for e in asked.json()["errors"]] == ["actor"]


def test_a_route_without_parameters_declares_the_422_of_a_repeated_one(tmp_path: Path) -> None:
    client, settings = _client(tmp_path)
    asked = client.get("/audit/verify?x=1&x=2", headers=_headers(settings, Role.auditor))
    assert asked.status_code == 422, asked.text
    document = client.get("/openapi.json").json()
    assert "422" in document["paths"]["/audit/verify"]["get"]["responses"]
