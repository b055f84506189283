"""Commands over HTTP at the real server: the same models and errors as the CLI, the
Idempotency-Key as the command id, and refusals as problem+json that never echo a value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from hub import commands as c
from hub.identity import Role
from tests import factories as f
from tests.api_support import Server, key, post_command, server_on

WARD = "tobata"
SECRET_NAME = "試験 秘匿太郎"
SECRET_PHONE = "not-a-phone-秘匿"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    var_dir = Path(tmp_path_factory.mktemp(f"api-commands-{request.param}"))
    with server_on(request.param, var_dir) as running:
        yield running


@pytest.fixture
def officer(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.token(Role.ward_officer, "officer-試験", ward=WARD)) as client:
        yield client


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def test_a_command_is_written_once_per_idempotency_key(officer: httpx.Client) -> None:
    command = f.open_case(ward=WARD, person=f.person())
    first = post_command(officer, command)
    assert first.status_code == 201, first.text
    assert first.json()["events"] == ["CaseOpened"]
    again = post_command(officer, command)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert officer.get(f"/cases/{command.case_id}").json()["status"] == "open"


def test_a_key_reused_for_another_command_is_409(officer: httpx.Client) -> None:
    command = f.open_case(ward=WARD)
    assert post_command(officer, command).status_code == 201
    other = f.open_case(ward=WARD, command_id=command.command_id)
    problem = _problem(post_command(officer, other), 409)
    assert problem["error"] == "IdempotencyConflictError"


def test_a_command_id_in_the_body_must_equal_the_key(officer: httpx.Client) -> None:
    body = {"command_id": str(uuid4()), "occurred_at": f.T0.isoformat(), "ward": WARD}
    response = officer.post("/commands/OpenCase", json=body, headers=key())
    assert "Idempotency-Key" in str(_problem(response, 422)["detail"])


def test_a_missing_or_malformed_key_is_refused(officer: httpx.Client) -> None:
    body = {"occurred_at": f.T0.isoformat(), "ward": WARD}
    _problem(officer.post("/commands/OpenCase", json=body), 422)
    _problem(officer.post("/commands/OpenCase", json=body, headers={"Idempotency-Key": "x"}), 422)


def test_a_body_that_is_not_a_json_object_is_400(officer: httpx.Client) -> None:
    for raw in (b"{not json", b"\xff\xfe", b"[1, 2]", b"1" * 5000, b"[" * 5000 + b"]" * 5000):
        response = officer.post(
            "/commands/OpenCase",
            content=raw,
            headers={**key(), "content-type": "application/json"},
        )
        assert response.status_code == 400, (raw[:20], response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error"] == "MalformedBodyError"


def test_wrong_types_name_the_field_and_rule_never_the_value(officer: httpx.Client) -> None:
    body = {
        "occurred_at": f.T0.isoformat(),
        "ward": WARD,
        "person": {"name": SECRET_NAME, "phone": SECRET_PHONE, "birth_date": 12},
    }
    response = officer.post("/commands/OpenCase", json=body, headers=key())
    problem = _problem(response, 422)
    fields = {e["field"]: e["rule"] for e in problem["errors"]}  # type: ignore[union-attr]
    assert problem["error"] == "InvalidCommandError"
    assert fields["person.phone"] == "string_pattern_mismatch"
    assert "person.birth_date" in fields
    assert SECRET_PHONE not in response.text and SECRET_NAME not in response.text


def test_unknown_fields_are_refused(officer: httpx.Client) -> None:
    body = {"occurred_at": f.T0.isoformat(), "ward": WARD, "password": "secret-試験"}
    problem = _problem(officer.post("/commands/OpenCase", json=body, headers=key()), 422)
    assert problem["error"] == "InvalidCommandError"
    assert problem["errors"] == [
        {
            "field": "password",
            "rule": "extra_forbidden",
            "message": "Extra inputs are not permitted",
        }
    ]


def test_a_type_other_than_the_route_is_refused(officer: httpx.Client) -> None:
    body = {"type": "CloseCase", "occurred_at": f.T0.isoformat(), "ward": WARD}
    _problem(officer.post("/commands/OpenCase", json=body, headers=key()), 422)


def test_an_oversized_body_is_413(officer: httpx.Client) -> None:
    body = {"occurred_at": f.T0.isoformat(), "ward": WARD, "note": "あ" * 100_000}
    problem = _problem(officer.post("/commands/ReportDiscovery", json=body, headers=key()), 413)
    assert problem["error"] == "BodyTooLargeError"


def test_an_oversized_chunked_body_is_413(officer: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    response = officer.post(
        "/commands/OpenCase",
        content=chunks(),
        headers={**key(), "content-type": "application/json"},
    )
    assert _problem(response, 413)["error"] == "BodyTooLargeError"


def test_domain_errors_are_the_hubs_named_errors(server: Server, officer: httpx.Client) -> None:
    # Only a role that acts on every ward learns that a case is missing (a ward officer is
    # refused alike for a missing case and another ward's: test_api_roles).
    with server.client(server.token(Role.operator, "operator-試験")) as operator:
        missing = post_command(operator, f.assessment(uuid4()))
    assert _problem(missing, 404)["error"] == "CaseNotFoundError"
    assert _problem(post_command(officer, f.assessment(uuid4())), 403)
    opened = f.open_case(ward=WARD)
    post_command(officer, opened)
    closed = f.build(c.CloseCase, case_id=opened.case_id, reason="試験")
    assert post_command(officer, closed).status_code == 201
    after = post_command(officer, f.assessment(opened.case_id))
    assert _problem(after, 409)["error"] == "CaseClosedError"


def test_an_unknown_route_is_a_problem_too(officer: httpx.Client) -> None:
    _problem(officer.post("/commands/DropDatabase", json={}, headers=key()), 404)


# Every command type with each field broken: 4xx problem+json, never 500, never the value.

MARKER = "試験値-秘匿"
BREAKS: list[object] = [
    None,
    10**30,
    -1,
    [MARKER],
    {"x": MARKER},
    MARKER + "\u0000",
    MARKER * 200,
    "2025-13-45T99:00:00",
]


def test_every_field_of_every_command_broken_is_refused_cleanly(server: Server) -> None:
    from tests.faults.templates import templates

    wrong: list[str] = []
    with server.client(server.token(Role.operator, "operator-試験")) as client:
        for template in templates():
            name = str(template["type"])
            fields = [k for k in template if k not in ("type", "command_id")]
            for field in [*fields, "unknown_field"]:
                for value in BREAKS:
                    body = {k: v for k, v in template.items() if k not in ("type", "command_id")}
                    body[field] = value
                    response = client.post(f"/commands/{name}", json=body, headers=key())
                    if response.status_code == 201:
                        continue  # a value the field accepts (e.g. None where optional)
                    if not 400 <= response.status_code < 500:
                        wrong.append(f"{name}.{field}={value!r:.30}: {response.status_code}")
                    elif response.headers["content-type"] != "application/problem+json":
                        wrong.append(f"{name}.{field}: not problem+json")
                    elif MARKER in response.text:
                        wrong.append(f"{name}.{field}: the value was echoed")
    assert not wrong, "; ".join(wrong[:10])


@pytest.mark.parametrize("fy", ["9999", "0000", "R99"])
def test_a_fiscal_year_at_the_edge_of_its_type_is_a_4xx(server: Server, fy: str) -> None:
    with server.client(server.token(Role.analyst, "analyst-試験")) as client:
        response = client.get("/indicators", params={"fy": fy})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_indicator_rows_name_their_month_as_the_cli_does(server: Server) -> None:
    # README (Views and reports): json rows carry month/month_label 令和7年4月 (and
    # ward/ward_label 戸畑区, the same code); the API's rows had the codes only.
    with server.client(server.token(Role.analyst, "analyst-試験")) as client:
        response = client.get("/indicators", params={"fy": "R7", "by": "month"})
    assert response.status_code == 200, response.text
    labels = {row["month"]: row["month_label"] for row in response.json()}
    assert labels["2025-04"] == "令和7年4月" and labels["2026-03"] == "令和8年3月"
