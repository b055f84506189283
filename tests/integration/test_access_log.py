"""アクセス記録 on both stores: a read of a person's details is recorded before it is shown,
auditors list the reads (`hub audit access`), and an edited access record breaks the chain."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.commands import derived_id
from hub.identity import Actor, Role
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from ops.wiring import open_application
from producers.provision import provision
from tests import factories as f

pytestmark = pytest.mark.integration
runner = CliRunner()

OPERATOR = "試験-operator-0042"
OFFICER = Actor("officer-0001@city.test", Role.ward_officer, ward="kokurakita")
COORDINATOR = Actor("coordinator-0002@city.test", Role.coordinator, ward="kokurakita")
PERSON_FIELDS = [
    "person.address",
    "person.birth_date",
    "person.health",
    "person.kana",
    "person.name",
    "person.phone",
]


@pytest.fixture(params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The settings of a fresh store, as the CLI reads them from the environment."""
    monkeypatch.setenv("HUB_OPERATOR", OPERATOR)
    monkeypatch.setenv("HUB_STORE", request.param)
    if request.param == "sqlite":
        monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    else:
        pg_env = request.getfixturevalue("pg_env")
        monkeypatch.setenv("HUB_POSTGRES_SCHEMA", pg_env["POSTGRES_SCHEMA"])
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def app(store: Settings) -> Iterator[HubApplication]:
    application = open_application(store)
    yield application
    application.close()


def hub(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def new_case(app: HubApplication) -> UUID:
    consultation = f.consultation()
    app.execute(consultation, OFFICER)
    return derived_id(consultation.command_id, "case_id")


def accesses(*args: str) -> list[dict[str, Any]]:
    return json.loads(hub("audit", "access", "--format", "json", *args))


def test_a_read_of_a_persons_details_is_recorded_and_listed_for_auditors(
    app: HubApplication,
) -> None:
    case_id = new_case(app)

    plain = json.loads(hub("case", "show", str(case_id), "--format", "json"))
    assert "person" not in plain
    assert accesses() == []  # no details shown, nothing to record

    shown = json.loads(
        hub("case", "show", str(case_id), "--format", "json", "--person", "--purpose",
            "case_management")
    )  # fmt: skip

    assert shown["person"]["name"] == f.SYNTHETIC_NAME
    (read,) = accesses()
    assert read["case_id"] == str(case_id)
    assert (read["subject"], read["role"]) == (OPERATOR, "operator")
    assert (read["basis"], read["purpose"]) == ("official_duty", "case_management")
    # The consultation's 要旨 is shown with the details (ops.case_notes), in the same record.
    assert read["fields"] == sorted([*PERSON_FIELDS, "consultation.note"])
    assert [n["path"] for n in shown["notes"]] == ["consultation.note"]
    # The case's history names who recorded each event.
    assert {(h["event"], h["by"], h["role"]) for h in shown["history"]} == {
        ("CaseOpened", OFFICER.subject, "ward_officer"),
        ("ConsultationReceived", OFFICER.subject, "ward_officer"),
    }


def test_details_are_never_shown_without_a_purpose(app: HubApplication) -> None:
    case_id = new_case(app)
    result = runner.invoke(cli, ["case", "show", str(case_id), "--person"])
    assert result.exit_code == 2  # invalid input
    assert f.SYNTHETIC_NAME not in result.output
    bad = runner.invoke(cli, ["case", "show", str(case_id), "--person", "--purpose", "curiosity"])
    assert bad.exit_code == 2 and "purpose" in bad.output
    assert f.SYNTHETIC_NAME not in bad.output
    assert accesses() == []


def test_the_access_log_filters_by_case_actor_and_period(app: HubApplication) -> None:
    first, second = new_case(app), new_case(app)
    t = f.T0
    app.record_access(OFFICER, first, ["person.name"], "official_duty", "consultation", at=t)
    app.record_access(
        COORDINATOR,
        first,
        ["person.address"],
        "support_meeting",
        "support_planning",
        at=t + timedelta(days=1),
    )
    app.record_access(
        OFFICER, second, ["person.name"], "consent", "outreach", at=t + timedelta(days=2)
    )

    assert [a["case_id"] for a in accesses("--case", str(first))] == [str(first)] * 2
    by_officer = accesses("--actor", OFFICER.subject)
    assert [a["case_id"] for a in by_officer] == [str(first), str(second)]
    window = accesses(
        "--between", (t + timedelta(hours=1)).isoformat(), (t + timedelta(days=2)).isoformat()
    )
    assert [(a["subject"], a["basis"]) for a in window] == [
        (COORDINATOR.subject, "support_meeting")
    ]
    rows = list(csv.DictReader(io.StringIO(hub("audit", "access", "--format", "csv"))))
    assert [r["subject"] for r in rows] == [OFFICER.subject, COORDINATOR.subject, OFFICER.subject]
    table = hub("audit", "access", "--case", str(second))
    assert "アクセス記録" in table and OFFICER.subject in table and "本人同意" in table


def test_an_edited_access_record_is_named_by_verify_log(
    app: HubApplication, store: Settings, kafka_broker: object
) -> None:
    # verify-log also asks the broker's witness of the chain head, as the tenant's auditor:
    # the broker runs and the tenant is provisioned, as after any relay's first start.
    provision(store, [])
    case_id = new_case(app)
    hub("case", "show", str(case_id), "--person", "--purpose", "case_management")
    (read,) = accesses()
    assert "intact" in hub("audit", "verify-log")

    # Someone with database access hides who read the details.
    position = read["position"]
    _rewrite_state(store, position, OPERATOR.encode(), b"someone-else")

    result = runner.invoke(cli, ["audit", "verify-log"])
    assert result.exit_code == 1
    assert f"BROKEN at notification {position} (edited)" in result.output


def _rewrite_state(settings: Settings, position: int, old: bytes, new: bytes) -> None:
    if settings.store == "sqlite":
        with sqlite3.connect(settings.sqlite_file) as conn:
            (state,) = conn.execute(
                "SELECT state FROM stored_events WHERE rowid = ?", (position,)
            ).fetchone()
            assert old in state
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                (state.replace(old, new), position),
            )
        return
    table = f'"{settings.postgres_schema}".hub_events'
    with psycopg.connect(**settings.postgres_connection(), autocommit=True) as conn:
        row = conn.execute(
            f"SELECT state FROM {table} WHERE notification_id = %s",  # type: ignore[arg-type]
            (position,),
        ).fetchone()
        assert row is not None and old in bytes(row[0])
        conn.execute(
            f"UPDATE {table} SET state = %s WHERE notification_id = %s",  # type: ignore[arg-type]
            (bytes(row[0]).replace(old, new), position),
        )


CASE_OPTIONS = [
    ["audit", "access"],
    ["audit", "disclosures"],
    ["audit", "replay", "--as-of", "2030-01-01T00:00:00+09:00"],
    ["privacy", "subject-report"],
    ["privacy", "erase", "--decided-by", "試験課", "--reason", "保存期間満了"],
]


def test_every_case_option_takes_back_the_short_id_a_table_prints(
    app: HubApplication, tmp_path: Path
) -> None:
    first, second = new_case(app), new_case(app)
    app.record_access(OFFICER, first, ["person.name"], "official_duty", "consultation")
    app.record_access(OFFICER, second, ["person.name"], "official_duty", "consultation")
    short = str(first)[:8]
    (read,) = accesses("--case", short)
    assert read["case_id"] == str(first) and accesses("--case", str(first)) == [read]
    # No disclosures of the case yet: an empty answer, not a refusal of the prefix.
    assert json.loads(hub("audit", "disclosures", "--case", short, "--json")) == []
    replay = hub("audit", "replay", "--as-of", "2030-01-01T00:00:00+09:00", "--case", short)
    assert "有効な同意" in replay
    pdf = tmp_path / "report.pdf"
    shown = hub("privacy", "subject-report", "--case", short, "--out", str(pdf))
    assert str(first) in shown and pdf.exists()
    erased = hub("privacy", "erase", "--case", short, "--decided-by", "試験課", "--reason", "満了")
    assert f"erased {first}" in erased  # the whole id of what was erased


@pytest.mark.parametrize("command", CASE_OPTIONS, ids=lambda c: " ".join(c[:2]))
def test_a_case_option_that_names_no_case_is_refused_in_one_line(
    app: HubApplication, command: list[str], tmp_path: Path
) -> None:
    case_id = new_case(app)
    app.record_access(OFFICER, case_id, ["person.name"], "official_duty", "consultation")
    # A filter (audit) refuses what names nothing as invalid input; a case to act on (the
    # privacy commands) that does not exist is not found, a whole id or a prefix alike.
    acts = command[0] == "privacy"
    for unknown, code in (("zzzzzzzz", 2), ("0000000", 3 if acts else 2)):
        result = runner.invoke(cli, [*command, "--case", unknown], env={"COLUMNS": "300"})
        assert result.exit_code == code, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith("Error: --case") and unknown in line
        assert "0 reads" not in result.output
