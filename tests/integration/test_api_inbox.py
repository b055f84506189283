"""An agency's inbox over HTTP, on SQLite and PostgreSQL: list, accept, decline with a coded
reason; the answer is the one its reply topic would carry, applied once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from consumers.replies import reply_command_id
from hub.fiscal import JST
from hub.identity import Role
from tests import factories as f
from tests.api_support import Server, post_command, server_on

AGENCY = "tobata.houkatsu"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    var_dir = Path(tmp_path_factory.mktemp(f"api-inbox-{request.param}"))
    with server_on(request.param, var_dir) as running:
        yield running


def _referred(server: Server) -> tuple[UUID, UUID]:
    with server.client(server.token(Role.ward_officer, "officer-試験", ward="tobata")) as client:
        opened = f.open_case(ward="tobata", person=f.person())
        assert post_command(client, opened).status_code == 201
        referral = f.referral(opened.case_id, agency_id=AGENCY)
        assert post_command(client, referral).status_code == 201
    return opened.case_id, referral.referral_id


@pytest.fixture
def agency(server: Server) -> Iterator[httpx.Client]:
    token = server.token(Role.member_agency, "staff-試験", agency_id=AGENCY)
    with server.client(token) as client:
        yield client


def _answer(
    client: httpx.Client, referral_id: UUID, body: dict[str, str], reply_id: UUID | None = None
) -> httpx.Response:
    return client.post(
        f"/agencies/{AGENCY}/inbox/{referral_id}/answer",
        json=body,
        headers={"Idempotency-Key": str(reply_id or uuid4())},
    )


def test_the_inbox_lists_referrals_with_codes_only(server: Server, agency: httpx.Client) -> None:
    _case_id, referral_id = _referred(server)
    rows = agency.get(f"/agencies/{AGENCY}/inbox", params={"unanswered": True}).json()
    row = next(r for r in rows if r["referral_id"] == str(referral_id))
    assert row["status"] == "sent" and row["ward"] == "tobata"
    assert f.SYNTHETIC_NAME not in str(rows)


def test_an_accept_is_applied_once_as_the_reply_topic_would(
    server: Server, agency: httpx.Client
) -> None:
    case_id, referral_id = _referred(server)
    reply_id = uuid4()
    first = _answer(agency, referral_id, {"answer": "accepted"}, reply_id)
    assert first.status_code == 201, first.text
    again = _answer(agency, referral_id, {"answer": "accepted"}, reply_id)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    reused = _answer(agency, referral_id, {"answer": "completed"}, reply_id)
    assert reused.status_code == 409
    assert reused.json()["error"] == "IdempotencyConflictError"
    with server.client(server.token(Role.operator, "operator-試験")) as operator:
        case = operator.get(f"/cases/{case_id}").json()
        assert [r["status"] for r in case["referrals"]] == ["accepted"]
        # The command id is the one a Kafka reply with this reply id gives: it is taken.
        taken = f.answer(
            case_id,
            referral_id,
            AGENCY,
            "completed",
            command_id=reply_command_id(AGENCY, str(reply_id)),
        )
        refused = post_command(operator, taken)
        assert refused.status_code == 409
        assert "AnswerReferral" in refused.json()["detail"]


def _instants(value: object, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [i for k, v in value.items() for i in _instants(v, k)]
    if isinstance(value, list):
        return [i for v in value for i in _instants(v, key)]
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10] == "T":
        return [(key, value)]
    return []


def test_every_instant_an_answer_gives_is_in_jst(server: Server, agency: httpx.Client) -> None:
    """The views keep UTC and a command keeps the zone it was written in; an answer says
    both in JST, as the command line's JSON does, so an integrator never meets two zones."""
    case_id, referral_id = _referred(server)
    assert _answer(agency, referral_id, {"answer": "accepted"}).status_code == 201
    inbox = agency.get(f"/agencies/{AGENCY}/inbox").json()
    with server.client(server.token(Role.operator, "operator-試験")) as operator:
        case = operator.get(f"/cases/{case_id}").json()
    instants = _instants(inbox) + _instants(case)
    keys = {key for key, _ in instants}
    assert {"opened_at", "updated_at", "sent_at", "occurred_at"} <= keys, keys
    assert all(value.endswith("+09:00") for _, value in instants), instants
    row = next(r for r in inbox if r["referral_id"] == str(referral_id))
    assert datetime.fromisoformat(row["sent_at"]) == f.T0


def test_a_decline_needs_one_of_the_coded_reasons(server: Server, agency: httpx.Client) -> None:
    _case_id, referral_id = _referred(server)
    missing = _answer(agency, referral_id, {"answer": "declined"})
    assert missing.status_code == 422
    free_text = _answer(agency, referral_id, {"answer": "declined", "reason": "忙しい"})
    assert free_text.status_code == 422
    assert "忙しい" not in free_text.text
    not_a_code = _answer(agency, referral_id, {"answer": "declined", "reason_code": "busy-試験"})
    assert not_a_code.status_code == 422 and "busy-試験" not in not_a_code.text
    declined = _answer(
        agency, referral_id, {"answer": "declined", "reason_code": "capacity", "reason": "試験"}
    )
    assert declined.status_code == 201, declined.text
    late = _answer(agency, referral_id, {"answer": "accepted"})
    assert late.status_code == 409
    assert late.json()["error"] == "IllegalTransitionError"
    # It says what the referral can still become, as `hub agency ack` does (nothing, here).
    assert late.json()["detail"].endswith("is declined; it can become nothing more, not accepted")


def test_a_referral_is_worked_through_to_a_completion_with_an_outcome(
    server: Server, agency: httpx.Client
) -> None:
    case_id, referral_id = _referred(server)
    for answer in ("received", "accepted", "in_progress"):
        assert _answer(agency, referral_id, {"answer": answer}).status_code == 201
    stray = _answer(agency, referral_id, {"answer": "on_hold", "outcome": "resolved"})
    assert stray.status_code == 422
    done = _answer(agency, referral_id, {"answer": "completed", "outcome": "resolved"})
    assert done.status_code == 201, done.text
    with server.client(server.token(Role.operator, "operator-試験")) as operator:
        case = operator.get(f"/cases/{case_id}").json()
    assert [r["status"] for r in case["referrals"]] == ["completed"]


def test_an_answer_given_earlier_is_entered_with_its_own_time(
    server: Server, agency: httpx.Client
) -> None:
    """A late entry over HTTP (an answer the agency's system took by phone): the time it
    was given, as `hub agency ack --at` and a reply's answered_at give it."""
    _case_id, referral_id = _referred(server)
    given = (f.at(0) + timedelta(hours=20)).astimezone(JST)
    naive = _answer(agency, referral_id, {"answer": "received", "answered_at": "2025-04-02T09:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "answered_at"
    key = uuid4()
    body = {"answer": "received", "answered_at": given.isoformat()}
    assert _answer(agency, referral_id, body, key).status_code == 201
    assert _answer(agency, referral_id, body, key).status_code == 200  # the same, again
    (row,) = [
        r
        for r in agency.get(f"/agencies/{AGENCY}/inbox").json()
        if r["referral_id"] == str(referral_id)
    ]
    assert datetime.fromisoformat(row["first_answer_at"]) == given
    future = {"answer": "accepted", "answered_at": "2999-01-01T09:00:00+09:00"}
    assert _answer(agency, referral_id, future).status_code == 422


def test_a_malformed_answer_is_400_and_an_unknown_field_422(
    server: Server, agency: httpx.Client
) -> None:
    _case_id, referral_id = _referred(server)
    path = f"/agencies/{AGENCY}/inbox/{referral_id}/answer"
    headers = {"Idempotency-Key": str(uuid4()), "content-type": "application/json"}
    broken = agency.post(path, content=b'{"answer": ', headers=headers)
    assert broken.status_code == 400
    assert broken.headers["content-type"] == "application/problem+json"
    extra = agency.post(path, json={"answer": "received", "note": "試験"}, headers=headers)
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["rule"] == "extra_forbidden"


def test_an_unknown_referral_or_agency_is_404(server: Server, agency: httpx.Client) -> None:
    assert _answer(agency, uuid4(), {"answer": "received"}).status_code == 404
    operator = server.client(server.token(Role.operator, "operator-試験"))
    with operator:
        assert operator.get("/agencies/no.such-agency/inbox").status_code == 404
