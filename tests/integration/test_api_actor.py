"""Who acted and who read, through the real server: the token's subject and role are on
every event a command makes, and every read of a person's details is in the access log
before the details leave."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.application import HubApplication
from hub.identity import Role
from tests import factories as f
from tests.api_support import Server, post_command, server_on

WARD = "tobata"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    var_dir = Path(tmp_path_factory.mktemp(f"api-actor-{request.param}"))
    with server_on(request.param, var_dir) as running:
        yield running


def test_the_tokens_subject_and_role_are_on_the_events(server: Server) -> None:
    token = server.token(Role.ward_officer, "officer-試験-7", ward=WARD)
    opened = f.open_case(ward=WARD, person=f.person())
    with server.client(token) as client:
        assert post_command(client, opened).status_code == 201
        history = client.get(f"/cases/{opened.case_id}").json()["history"]
    assert [(h["event"], h["by"], h["role"]) for h in history] == [
        ("CaseOpened", "officer-試験-7", "ward_officer")
    ]
    app = HubApplication(env=server.settings.eventsourcing_env())
    try:
        (event,) = app.events.get(opened.case_id)
        assert event.payload.actor.subject == "officer-試験-7"  # type: ignore[attr-defined]
    finally:
        app.close()


def test_a_person_read_is_in_the_access_log_with_who_and_why(server: Server) -> None:
    officer = server.token(Role.ward_officer, "officer-試験-8", ward=WARD)
    opened = f.open_case(ward=WARD, person=f.person())
    with server.client(officer) as client:
        assert post_command(client, opened).status_code == 201
        shown = client.get(f"/cases/{opened.case_id}/person", params={"purpose": "consultation"})
        assert shown.status_code == 200, shown.text
        assert shown.json()["person"]["name"] == f.SYNTHETIC_NAME
        no_purpose = client.get(f"/cases/{opened.case_id}/person")
        assert no_purpose.status_code == 422
    with server.client(server.token(Role.auditor, "auditor-試験")) as auditor:
        reads = auditor.get(
            "/audit/access", params={"case": str(opened.case_id), "actor": "officer-試験-8"}
        ).json()
    assert len(reads) == 1, "one read shown, one read recorded; a refused read records none"
    (read,) = reads
    assert (read["role"], read["basis"], read["purpose"]) == (
        "ward_officer",
        "official_duty",
        "consultation",
    )
    assert "person.name" in read["fields"] and "person.health" in read["fields"]
    assert f.SYNTHETIC_NAME not in str(reads), "the log names fields, never their values"


def test_a_refused_read_records_nothing_and_shows_nothing(server: Server) -> None:
    opened = f.open_case(ward="moji", person=f.person())
    with server.client(server.token(Role.operator, "operator-試験")) as operator:
        assert post_command(operator, opened).status_code == 201
    outsider = server.token(Role.ward_officer, "officer-試験-9", ward=WARD)
    with server.client(outsider) as client:
        refused = client.get(f"/cases/{opened.case_id}/person", params={"purpose": "audit"})
    assert refused.status_code == 403
    with server.client(server.token(Role.auditor, "auditor-試験")) as auditor:
        reads = auditor.get("/audit/access", params={"case": str(opened.case_id)}).json()
    assert reads == []
