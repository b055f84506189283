"""`hub audit access`, `replay` and `disclosures` as README's output conventions say every
command prints: codes with their Japanese labels (`x_label` beside `x`), CSV in UTF-8 with a
BOM, free text that starts like a formula written as text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from hub.commands import derived_id
from hub.identity import Actor, Role
from hub.settings import get_settings
from ops.cli.main import app as cli
from ops.wiring import open_application, open_ledger
from tests import factories as f

runner = CliRunner()
OFFICER = Actor("officer-試験", Role.ward_officer, ward="kokurakita")
TYPED_SUBJECT = Actor("=1+1", Role.ward_officer, ward="kokurakita")


def _two_reads() -> None:
    app = open_application(get_settings())
    try:
        consultation = f.consultation()
        app.execute(consultation, OFFICER)
        case_id = derived_id(consultation.command_id, "case_id")
        # Every field a real read shows (read_person lists each one held): the widest line.
        fields = [f"person.{k}" for k in ("name", "kana", "birth_date", "address", "phone")]
        app.record_access(OFFICER, case_id, fields, "official_duty", "case_management", at=f.T0)
        app.record_access(TYPED_SUBJECT, case_id, fields, "consent", "consultation", at=f.at(1))
    finally:
        app.close()


def test_the_access_log_labels_its_codes_and_writes_csv_as_every_command_does(
    cli_store: Path,
) -> None:
    _two_reads()
    result = runner.invoke(cli, ["audit", "access", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith("\ufeff".encode())
    first, second = csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))
    assert (first["role_label"], first["basis_label"], first["purpose_label"]) == (
        "区役所 窓口職員",
        "所掌事務（個人情報保護法第61条・第69条第1項）",
        "ケースの管理",
    )
    assert "person.name" in first["fields"].split() and first["occurred_at"].endswith("+09:00")
    assert second["subject"] == "'=1+1"  # text in Excel, not a formula

    (read, _) = json.loads(runner.invoke(cli, ["audit", "access", "--format", "json"]).stdout)
    assert read["basis"] == "official_duty" and read["purpose_label"] == "ケースの管理"

    table = runner.invoke(cli, ["audit", "access"], env={"COLUMNS": "80"}).stdout
    assert "根拠 所掌事務" in table and "目的 ケースの管理" in table
    assert "official_duty" not in table and "case_management" not in table
    assert all(cell_len(line) <= 80 for line in table.splitlines()), table


def test_the_replay_labels_its_codes_in_csv_and_json(cli_store: Path) -> None:
    case_id = _consented_case()
    app = open_application(get_settings())
    try:
        app.execute(f.meeting([case_id]), Actor("coord-試験", Role.coordinator, ward="kokurakita"))
    finally:
        app.close()
    as_of = ["audit", "replay", "--as-of", "2025-06-01T00:00:00+09:00"]
    result = runner.invoke(cli, [*as_of, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["section"]: r for r in csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))}
    assert rows["consent"]["purposes_label"] == "相談、支援計画"
    # The scope too (README: every coded field `x` has `x_label` beside it), as in JSON.
    consent_json = json.loads(runner.invoke(cli, [*as_of, "--format", "json"]).stdout)
    scope_labels = consent_json["consents_in_force"][0]["scope_label"]
    assert rows["consent"]["scope_label"] == "、".join(scope_labels) != ""
    assert rows["consent"]["categories_label"] == "本人特定情報、連絡先"
    assert rows["meeting"]["kind_label"] == "つながりづくり会議"
    assert "小倉北区 保護課" in rows["meeting"]["agencies_label"].split("、")

    view = json.loads(runner.invoke(cli, [*as_of, "--format", "json"]).stdout)
    (meeting,) = view["meeting_memberships"]
    assert meeting["kind"] == "connection" and meeting["kind_label"] == "つながりづくり会議"
    (consent,) = view["consents_in_force"]
    assert consent["purposes_label"] == ["相談", "支援計画"]
    # The table names the scope as the JSON's label does (区名, 機関名), never its codes.
    table = runner.invoke(cli, [*as_of, "--wide"], env={"COLUMNS": "200"}).stdout
    assert "、".join(consent["scope_label"]) in table, table
    assert not any(code in table for code in consent["scope"]), table


def test_the_disclosures_label_the_categories_disclosed(cli_store: Path) -> None:
    record = {
        "disclosure_id": "5f1c0c1e-0000-4000-8000-0000000000a1",
        "event_id": "5f1c0c1e-0000-4000-8000-0000000000e1",
        "position": 1,
        "case_id": "5f1c0c1e-0000-4000-8000-000000000001",
        "agency_id": "kokurakita.hogo",
        "fields": ["person.name", "person.phone"],
        "categories": ["identity", "contact"],
        "basis": "consent",
        "basis_ref": "5f1c0c1e-0000-4000-8000-0000000000c1",
        "confidentiality_duty": True,
        "occurred_at": f.T0.isoformat(),
    }
    open_ledger(get_settings()).record(1, [record])
    result = runner.invoke(cli, ["audit", "disclosures", "--format", "csv"])
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))
    assert row["categories"] == "identity contact"
    assert row["categories_label"] == "本人特定情報、連絡先"
    (shown,) = json.loads(runner.invoke(cli, ["audit", "disclosures", "--format", "json"]).stdout)
    assert shown["categories_label"] == ["本人特定情報", "連絡先"]


def test_a_statute_typed_as_a_formula_is_text_in_the_disclosures_csv(cli_store: Path) -> None:
    """README: a CSV cell of text that starts as a formula gets a leading ' (Excel shows it,
    never runs it). A statutory disclosure's reference is the statute the officer typed on
    the referral; `hub audit disclosures --format csv` wrote it as typed, so the auditor's
    spreadsheet ran it."""
    typed = '=HYPERLINK("http://example.invalid/","試験")'
    record = {
        "disclosure_id": "5f1c0c1e-0000-4000-8000-0000000000a2",
        "event_id": "5f1c0c1e-0000-4000-8000-0000000000e2",
        "position": 1,
        "case_id": "5f1c0c1e-0000-4000-8000-000000000001",
        "agency_id": "kokurakita.hogo",
        "fields": ["person.name"],
        "categories": ["identity"],
        "basis": "statute",
        "basis_ref": typed,
        "confidentiality_duty": False,
        "occurred_at": f.T0.isoformat(),
    }
    open_ledger(get_settings()).record(1, [record])
    result = runner.invoke(cli, ["audit", "disclosures", "--format", "csv"])
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))
    assert row["basis_ref"] == "'" + typed
    (shown,) = json.loads(runner.invoke(cli, ["audit", "disclosures", "--format", "json"]).stdout)
    assert shown["basis_ref"] == typed  # JSON keeps it as recorded


def test_a_list_that_starts_as_a_formula_is_text_in_the_replays_csv(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The replay's CSV joins a list into one cell (the agencies of a scope, by name): the
    cell was written as joined, so a name that starts as a formula ran in the spreadsheet."""
    from ops.cli.audit import REPLAY_COLUMNS, _csv_out

    _csv_out(
        [{"section": "consent", "scope_label": ["=1+1 試験機関", "小倉北区 保護課"]}],
        REPLAY_COLUMNS,
    )
    text = capsysbinary.readouterr().out.decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["scope_label"] == "'=1+1 試験機関、小倉北区 保護課"


def test_the_disclosures_table_names_the_reference_each_basis_rests_on(
    cli_store: Path,
) -> None:
    """docs/AUDIT.md: `hub audit disclosures` says on which basis *and reference*: the table
    said 本人同意 or 法令 but not which consent, nor which statute."""
    common = {
        "case_id": "5f1c0c1e-0000-4000-8000-000000000001",
        "agency_id": "kokurakita.hogo",
        "fields": ["person.name"],
        "categories": ["identity"],
        "confidentiality_duty": False,
        "occurred_at": f.T0.isoformat(),
    }
    records = [
        {
            **common,
            "disclosure_id": "5f1c0c1e-0000-4000-8000-0000000000a3",
            "event_id": "5f1c0c1e-0000-4000-8000-0000000000e3",
            "position": 1,
            "basis": "consent",
            "basis_ref": "c0ffee00-0000-4000-8000-0000000000c1",
        },
        {
            **common,
            "disclosure_id": "5f1c0c1e-0000-4000-8000-0000000000a4",
            "event_id": "5f1c0c1e-0000-4000-8000-0000000000e4",
            "position": 2,
            "basis": "statute",
            "basis_ref": "試験法 第6条",
        },
    ]
    open_ledger(get_settings()).record(2, records)
    table = runner.invoke(cli, ["audit", "disclosures"], env={"COLUMNS": "80"}).stdout
    assert "c0ffee00" in table and "c0ffee00-0000" not in table, table
    assert "試験法" in table and "第6条" in table, table
    assert all(cell_len(line) <= 80 for line in table.splitlines()), table
    wide = runner.invoke(cli, ["audit", "disclosures", "--wide"]).stdout
    assert "c0ffee00-0000-4000-8000-0000000000c1" in wide.replace("\n", "").replace("│", "")


def test_case_show_labels_the_lists_of_a_consent(cli_store: Path) -> None:
    app = open_application(get_settings())
    try:
        consultation = f.consultation()
        app.execute(consultation, OFFICER)
        case_id = derived_id(consultation.command_id, "case_id")
        app.execute(f.consent(case_id, scope=["kokurakita.hogo"]), OFFICER)
    finally:
        app.close()
    shown = runner.invoke(cli, ["case", "show", str(case_id), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    (consent,) = json.loads(shown.stdout)["consents"]
    assert consent["purposes_label"] == ["相談", "支援計画"]
    assert consent["data_categories_label"] == ["本人特定情報", "連絡先"]
    assert consent["scope_label"] == ["小倉北区 保護課"]


def _consented_case() -> UUID:
    """A consultation's case (the person's details held) with a consent, by the officer."""
    app = open_application(get_settings())
    try:
        consultation = f.consultation()
        app.execute(consultation, OFFICER)
        case_id = derived_id(consultation.command_id, "case_id")
        app.execute(f.consent(case_id), OFFICER)
    finally:
        app.close()
    return case_id


def test_case_show_names_each_event_of_the_history_in_japanese(cli_store: Path) -> None:
    case_id = _consented_case()
    shown = runner.invoke(cli, ["case", "show", str(case_id), "--format", "json"])
    history = json.loads(shown.stdout)["history"]
    assert [(h["event"], h["event_label"]) for h in history][-1] == ("ConsentGiven", "同意")
    # Who acted: the role is a code like any other, labelled beside it.
    assert (history[-1]["role"], history[-1]["role_label"]) == ("ward_officer", "区役所 窓口職員")
    table = runner.invoke(cli, ["case", "show", str(case_id)], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    assert "事案の開始" in table.stdout and "相談受付" in table.stdout
    assert "ConsentGiven" not in table.stdout


def test_case_show_names_the_persons_fields_in_japanese(cli_store: Path) -> None:
    """The details a read shows are labelled as the 本人開示 report labels them (氏名, 住所),
    not by the schema's field names."""
    case_id = _consented_case()
    shown = runner.invoke(
        cli,
        ["case", "show", str(case_id), "--person", "--purpose", "consultation"],
        env={"COLUMNS": "80"},
    )
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0] for line in shown.stdout.splitlines() if f.SYNTHETIC_NAME in line}
    assert rows == {"氏名"}
    assert "住所" in shown.stdout and " address " not in shown.stdout


def test_replay_compare_names_its_instant_in_jst_whatever_zone_it_was_typed_in(
    cli_store: Path, monkeypatch: Any
) -> None:
    """`hub audit replay --as-of 2025-05-31T15:00:00Z --compare`: the verdict line says 1 June
    00:00 JST, as the table's heading does, not the UTC text typed."""
    from ops.cli import audit

    monkeypatch.setattr(audit, "kafka_history", lambda settings, upto: audit.log_history(settings))
    result = runner.invoke(cli, ["audit", "replay", "--as-of", "2025-05-31T15:00:00Z", "--compare"])
    assert result.exit_code == 0, result.output
    assert "agree as of 2025-06-01T00:00:00+09:00" in result.stderr


def test_a_blank_actor_is_refused_not_answered_with_no_reads(cli_store: Path) -> None:
    """--actor "" filtered on the subject "" and printed "0 reads" over a log that held some."""
    _two_reads()
    for blank in ("", " "):
        result = runner.invoke(cli, ["audit", "access", "--actor", blank])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: --actor: name a subject"), result.output


def test_the_access_log_names_the_references_a_read_rested_on(cli_store: Path) -> None:
    """根拠の記録: the consents (or meetings, declarations) in the JSON, the CSV's last
    column and a line of the table; a read on official duty names none."""
    consent_ids = ["11111111-2222-4333-8444-555555555555", "66666666-7777-4888-8999-000000000000"]
    app = open_application(get_settings())
    try:
        consultation = f.consultation()
        app.execute(consultation, OFFICER)
        case_id = derived_id(consultation.command_id, "case_id")
        app.record_access(OFFICER, case_id, ["person.name"], "official_duty", "case_management")
        app.record_access(
            OFFICER, case_id, ["person.name"], "consent", "consultation", basis_refs=consent_ids
        )
    finally:
        app.close()

    duty, consent = json.loads(runner.invoke(cli, ["audit", "access", "--format", "json"]).stdout)
    assert (duty["basis_refs"], consent["basis_refs"]) == ([], consent_ids)
    result = runner.invoke(cli, ["audit", "access", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert list(rows[0])[-1] == "basis_refs"
    assert [r["basis_refs"] for r in rows] == ["", " ".join(consent_ids)]
    table = runner.invoke(cli, ["audit", "access"], env={"COLUMNS": "80"}).stdout
    assert table.count("根拠の記録") == 1 and consent_ids[1] in table
    assert all(cell_len(line) <= 80 for line in table.splitlines()), table
