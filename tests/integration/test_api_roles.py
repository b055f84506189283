"""Every role × every endpoint of the real server: allowed, or 403; scopes hold.

The expected table is written out here, from the README's list of roles, not imported from
hub/policy.py: a change to the policy that the README does not say fails this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from hub import commands as c
from hub.identity import Role
from hub.policy import ALL_COMMANDS
from ops.identity import dev_issuer
from tests import factories as f
from tests.api_support import Server, key, post_command, running_server

CASE_WORK = {
    "ReportDiscovery",
    "ReceiveConsultation",
    "OpenCase",
    "RecordPersonDetails",
    "ClearPersonDetails",
    "RecordAssessment",
    "ReferCase",
    "CancelReferral",
    "GiveConsent",
    "RefuseConsent",
    "WithdrawConsent",
    "EvaluateCase",
    "SuspendCase",
    "CloseCase",
    "RecordSupportActivity",
    "ArrangeWatchOver",
    "DeclareEmergency",
    "EndEmergency",
    "RequestUseStop",
}
CASE_READS = {"cases", "case", "person", "discoveries"}
COORDINATION_READS = {"unanswered", "escalated", "meetings"}
AUDIT_READS = {"replay", "disclosures", "verify", "access"}

ALLOWED: dict[Role, set[str]] = {
    Role.partner_reporter: {"ReportDiscovery"},
    Role.ward_officer: CASE_WORK | CASE_READS,
    Role.coordinator: {
        "HoldMeeting",
        "MoveToSupportMeeting",
        "DecideSupport",
        "AgreePlan",
        "EvaluateCase",
        "EscalateReferral",
        "AnswerReferral",
        "ReviewBreakGlass",
    }
    | CASE_READS
    | COORDINATION_READS
    | {"indicators"},
    Role.contractor: {
        "RecordOutreachVisit",
        "RecordSupportActivity",
        "MatchParticipation",
        "HoldGathering",
        "partners",  # the businesses and bases it names, chosen by name
    },
    Role.member_agency: {"AnswerReferral", "inbox", "answer"},
    Role.auditor: AUDIT_READS | {"ReviewBreakGlass"},
    Role.analyst: {"indicators"},
    Role.administrator: {
        "RegisterCooperatingBusiness",
        "RegisterCommunityBase",
        "WithdrawCooperatingBusiness",
        "CloseCommunityBase",
        "indicators",
        "partners",
    },
    Role.operator: set(ALL_COMMANDS) | CASE_READS | COORDINATION_READS | {"inbox", "indicators"},
    Role.system: {"AnswerReferral", "EscalateReferral"},
}

WARD = "tobata"
AGENCY = "tobata.houkatsu"
CONTRACTOR = "hoboku-shakyo"
SCOPES: dict[Role, dict[str, str]] = {
    Role.ward_officer: {"ward": WARD},
    Role.coordinator: {"ward": WARD},
    Role.member_agency: {"agency_id": AGENCY},
    Role.contractor: {"agency_id": CONTRACTOR},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(Path(tmp_path_factory.mktemp("api-roles"))) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(server: Server) -> dict[str, UUID]:
    """A tobata case referred to tobata.houkatsu, and a kokurakita case, by the operator."""
    with server.client(server.token(Role.operator, "operator-試験")) as client:
        opened = f.open_case(ward=WARD, person=f.person())
        assert post_command(client, opened).status_code == 201
        referral = f.referral(opened.case_id, agency_id=AGENCY)
        assert post_command(client, referral).status_code == 201
        other = f.open_case(ward="kokurakita", person=f.person())
        assert post_command(client, other).status_code == 201
    return {
        "case": opened.case_id,
        "referral": referral.referral_id,
        "other_case": other.case_id,
    }


def _call(client: httpx.Client, endpoint: str, ids: dict[str, UUID]) -> httpx.Response:
    case, referral = ids["case"], ids["referral"]
    if endpoint in ALL_COMMANDS:
        return client.post(f"/commands/{endpoint}", json={}, headers=key())
    reads: dict[str, tuple[str, str, dict[str, Any]]] = {
        "cases": ("GET", "/cases", {}),
        "case": ("GET", f"/cases/{case}", {}),
        "person": ("GET", f"/cases/{case}/person", {"params": {"purpose": "consultation"}}),
        "discoveries": ("GET", "/discoveries", {}),
        "inbox": ("GET", f"/agencies/{AGENCY}/inbox", {}),
        "answer": (
            "POST",
            f"/agencies/{AGENCY}/inbox/{referral}/answer",
            {"json": {"answer": "received"}, "headers": key()},
        ),
        "unanswered": ("GET", "/coordination/referrals/unanswered", {}),
        "escalated": ("GET", "/coordination/referrals/escalated", {}),
        "meetings": ("GET", "/coordination/meetings", {}),
        "replay": ("GET", "/audit/replay", {"params": {"as_of": "2025-06-01T00:00:00+09:00"}}),
        "disclosures": ("GET", "/audit/disclosures", {}),
        "verify": ("GET", "/audit/verify", {}),
        "access": ("GET", "/audit/access", {}),
        "indicators": ("GET", "/indicators", {"params": {"fy": "R7"}}),
        "partners": ("GET", "/partners", {}),
    }
    method, path, options = reads[endpoint]
    return client.request(method, path, **options)


ENDPOINTS = [
    *sorted(ALL_COMMANDS),
    "cases",
    "case",
    "person",
    "discoveries",
    "inbox",
    "answer",
    "unanswered",
    "escalated",
    "meetings",
    "replay",
    "disclosures",
    "verify",
    "access",
    "indicators",
    "partners",
]


def test_the_matrix_lists_every_route_of_the_api(server: Server) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    operations = sum(len(methods) for path, methods in paths.items() if path != "/health")
    assert operations == len(ENDPOINTS)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reaches_exactly_its_endpoints(
    server: Server, seeded: dict[str, UUID], role: Role
) -> None:
    token = server.token(role, f"{role.value}-試験", **SCOPES.get(role, {}))
    wrong: list[str] = []
    with server.client(token) as client:
        for endpoint in ENDPOINTS:
            response = _call(client, endpoint, seeded)
            allowed = endpoint in ALLOWED[role]
            if response.status_code >= 500:
                wrong.append(f"{endpoint}: {response.status_code} {response.text[:200]}")
            elif allowed and response.status_code in (401, 403):
                wrong.append(f"{endpoint}: refused ({response.status_code}) but allowed")
            elif not allowed and response.status_code != 403:
                wrong.append(f"{endpoint}: {response.status_code}, expected 403")
    assert not wrong, f"{role}: " + "; ".join(wrong)


def test_no_token_is_401_on_every_endpoint(server: Server, seeded: dict[str, UUID]) -> None:
    with server.client() as client:
        statuses = {e: _call(client, e, seeded).status_code for e in ENDPOINTS}
    assert set(statuses.values()) == {401}, statuses


# Scopes -----------------------------------------------------------------------------------


def test_a_ward_officer_may_not_read_or_change_another_wards_case(
    server: Server, seeded: dict[str, UUID]
) -> None:
    other = seeded["other_case"]
    with server.client(server.token(Role.ward_officer, "officer-試験", ward=WARD)) as client:
        assert client.get(f"/cases/{other}").status_code == 403
        person = client.get(f"/cases/{other}/person", params={"purpose": "consultation"})
        assert person.status_code == 403
        assert f.SYNTHETIC_NAME not in person.text
        refused = post_command(client, f.assessment(other))
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert client.get("/cases", params={"ward": "kokurakita"}).status_code == 403
        own = client.get(f"/cases/{seeded['case']}")
        assert own.status_code == 200 and own.json()["ward"] == WARD
        listed = client.get("/cases").json()
        assert {row["ward"] for row in listed} == {WARD}


def test_a_ward_officer_may_not_open_a_case_in_another_ward(server: Server) -> None:
    with server.client(server.token(Role.ward_officer, "officer-試験", ward=WARD)) as client:
        assert post_command(client, f.open_case(ward="kokurakita")).status_code == 403
        assert post_command(client, f.open_case(ward=WARD)).status_code == 201


def test_a_coordinator_may_not_hold_a_meeting_on_another_wards_case(
    server: Server, seeded: dict[str, UUID]
) -> None:
    token = server.token(Role.coordinator, "coordinator-試験", ward=WARD)
    with server.client(token) as client:
        mixed = f.meeting([seeded["case"], seeded["other_case"]], ward=WARD, members=[AGENCY])
        assert post_command(client, mixed).status_code == 403
        assert (
            client.get("/coordination/meetings", params={"ward": "kokurakita"}).status_code == 403
        )


def test_an_agency_may_not_read_or_answer_another_agencys_inbox(
    server: Server, seeded: dict[str, UUID]
) -> None:
    token = server.token(Role.member_agency, "agency-試験", agency_id="moji.houkatsu")
    with server.client(token) as client:
        assert client.get(f"/agencies/{AGENCY}/inbox").status_code == 403
        answer = client.post(
            f"/agencies/{AGENCY}/inbox/{seeded['referral']}/answer",
            json={"answer": "accepted"},
            headers=key(),
        )
        assert answer.status_code == 403
        command = f.answer(seeded["case"], seeded["referral"], AGENCY, "accepted")
        assert post_command(client, command).status_code == 403
        assert client.get("/agencies/moji.houkatsu/inbox").status_code == 200


def test_an_agency_token_without_an_agency_reaches_no_inbox(server: Server) -> None:
    with server.client(server.token(Role.member_agency, "agency-試験")) as client:
        assert client.get(f"/agencies/{AGENCY}/inbox").status_code == 403


def test_a_contractor_records_visits_only_in_its_own_name(
    server: Server, seeded: dict[str, UUID]
) -> None:
    token = server.token(Role.contractor, "contractor-試験", agency_id=CONTRACTOR)
    with server.client(token) as client:
        theirs = f.visit(seeded["case"], agency_id="moji.houkatsu")
        assert post_command(client, theirs).status_code == 403
        own = f.visit(seeded["case"], agency_id=CONTRACTOR)
        assert post_command(client, own).status_code == 201


def test_a_role_the_hub_does_not_know_is_401(server: Server) -> None:
    claims = dev_issuer.claims_for(server.settings, subject="someone-試験", role=Role.auditor)
    token = dev_issuer.sign(dev_issuer.signing_key(server.settings), {**claims, "role": "root"})
    with server.client(token) as client:
        assert client.get("/audit/verify").status_code == 401


def test_an_unknown_case_is_404_only_for_a_role_that_may_read_every_case(server: Server) -> None:
    with server.client(server.token(Role.operator, "operator-試験")) as client:
        assert client.get(f"/cases/{uuid4()}").status_code == 404


def test_a_ward_role_cannot_tell_a_missing_case_from_another_wards(
    server: Server, seeded: dict[str, UUID]
) -> None:
    """The attacker, a ward officer of WARD, probes ids: an existing case of another ward and
    an id nobody used answer with the same status and the same body, byte for byte, on
    every door that takes a case id (a read, a person's details, a command)."""
    other, missing = seeded["other_case"], uuid4()
    with server.client(server.token(Role.ward_officer, "officer-試験", ward=WARD)) as client:
        for probe in (
            lambda case: client.get(f"/cases/{case}"),
            lambda case: client.get(f"/cases/{case}/person", params={"purpose": "consultation"}),
            lambda case: post_command(client, f.assessment(case)),
        ):
            there, absent = probe(other), probe(missing)
            assert there.status_code == absent.status_code == 403, (there.text, absent.text)
            assert there.json() == absent.json()
            assert str(other) not in there.text and "kokurakita" not in there.text
    # A role that reads no case at all is refused before the case is looked up.
    with server.client(server.token(Role.analyst, "analyst-試験")) as client:
        there, absent = client.get(f"/cases/{other}"), client.get(f"/cases/{missing}")
        assert there.status_code == absent.status_code == 403
        assert there.json() == absent.json()


def test_a_ward_role_cannot_tell_a_missing_case_by_a_command_refused_for_another_reason(
    server: Server, seeded: dict[str, UUID]
) -> None:
    """The attacker names an agency, window or watcher the hub does not know, so that a case
    the hub looked up first would answer 403 and one it did not would answer 422: another
    ward's case and an id nobody used still answer alike (and so do discoveries)."""
    other, missing = seeded["other_case"], uuid4()
    with server.client(server.token(Role.operator, "operator-試験")) as client:
        their_discovery = f.discovery(ward="kokurakita")
        assert post_command(client, their_discovery).status_code == 201
    nobody = "no-such-agency"
    officer = server.token(Role.ward_officer, "officer-試験", ward=WARD)
    coordinator = server.token(Role.coordinator, "coordinator-試験", ward=WARD)
    probes = [
        (officer, lambda case: f.consultation(case_id=case, window_agency=nobody)),
        (officer, lambda case: f.emergency(case, agencies=[nobody])),
        (
            officer,
            lambda case: f.build(
                c.ArrangeWatchOver, case_id=case, watchers=[nobody], frequency="weekly"
            ),
        ),
        (officer, lambda case: f.referral(case, agency_id=nobody)),
        (coordinator, lambda case: f.meeting([case], ward=WARD, members=[nobody])),
    ]
    for token, probe in probes:
        with server.client(token) as client:
            there, absent = post_command(client, probe(other)), post_command(client, probe(missing))
        assert there.status_code == absent.status_code == 403, (there.text, absent.text)
        assert there.json() == absent.json()
    with server.client(officer) as client:
        there = post_command(client, f.open_case(discovery_id=their_discovery.discovery_id))
        absent = post_command(client, f.open_case(discovery_id=uuid4()))
    assert there.status_code == absent.status_code == 403, (there.text, absent.text)
    assert there.json() == absent.json()


def test_an_agency_cannot_tell_a_missing_case_from_a_case_not_its_own(
    server: Server, seeded: dict[str, UUID]
) -> None:
    """A member agency answering in its own name probes case and referral ids: a missing
    case, a case's referral sent to another agency and a referral the case does not have all
    answer with the same 403, naming neither the case nor the other agency; a contractor
    recording on a missing case is refused the same way, not told 404."""
    case = seeded["case"]
    with server.client(server.token(Role.operator, "operator-試験")) as client:
        elsewhere = f.referral(case, agency_id="kokurakita.hogo")
        assert post_command(client, elsewhere).status_code == 201
    token = server.token(Role.member_agency, "agency-試験", agency_id=AGENCY)
    with server.client(token) as client:
        answers = [
            post_command(client, f.answer(case_id, referral_id, AGENCY, "received"))
            for case_id, referral_id in [
                (uuid4(), uuid4()),
                (case, elsewhere.referral_id),
                (case, uuid4()),
            ]
        ]
    assert [a.status_code for a in answers] == [403, 403, 403], [a.text for a in answers]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert "kokurakita" not in answers[1].text and str(case) not in answers[1].text
    token = server.token(Role.contractor, "contractor-試験", agency_id=CONTRACTOR)
    with server.client(token) as client:
        refused = post_command(client, f.activity(uuid4(), agency_id=CONTRACTOR))
    assert refused.status_code == 403, refused.text


def test_the_referral_form_cannot_tell_a_missing_case_from_another_wards(
    server: Server, seeded: dict[str, UUID]
) -> None:
    """The same probe through the pages: the referral form of another ward's case and of an
    id nobody used, with an agency the hub does not know, give the same 403 page."""
    token = server.token(Role.ward_officer, "officer-試験", ward=WARD)
    with httpx.Client(base_url=server.url, cookies={"hub_session": token}) as client:
        page = client.get("/web/officer")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None, page.text

        def refer(case: UUID) -> httpx.Response:
            form = {
                "csrf_token": csrf.group(1),
                "command_id": str(uuid4()),
                "agency_id": "no-such-agency",
                "purpose": "consultation",
                "urgency": "soon",
            }
            return client.post(f"/web/cases/{case}/refer", data=form)

        there, absent = refer(seeded["other_case"]), refer(uuid4())
    assert there.status_code == absent.status_code == 403
    assert _main(there.text) == _main(absent.text)


def _main(page: str) -> str:
    """A page without its per-request parts (the CSRF token, the trace id)."""
    found = re.search(r"<main.*?</main>", page, re.S)
    assert found is not None, page
    return found.group(0)


def test_a_host_header_is_never_reflected_in_a_redirect(server: Server) -> None:
    """The attacker sends a stray trailing slash under its own Host header: no redirect to
    its site (Starlette's slash redirect built an absolute URL from Host), a 404 instead."""
    token = server.token(Role.ward_officer, "officer-試験", ward=WARD)
    with server.client(token) as client:
        for path in ("/cases/", "/health/", "/coordination/meetings/", "/web/officer/"):
            answer = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
            assert answer.status_code == 404, (path, answer.status_code, answer.headers)
            assert "evil.example" not in answer.headers.get("location", "")
            if path.startswith("/web/"):  # a page of the site says it in Japanese
                assert answer.headers["content-type"].startswith("text/html")
            else:
                assert answer.headers["content-type"] == "application/problem+json"
        home = client.get("/", headers={"Host": "evil.example"}, follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/web"
