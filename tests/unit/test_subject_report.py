"""本人開示: the PDF names every disclosure, consent and meeting the audit knows of the person,
and nothing of anyone else; the read itself goes on the access log."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.labels import label, names
from hub.settings import get_settings
from ops.cli.main import app as cli
from ops.wiring import ledger_disclosures, open_ledger
from producers.governance import GovernanceState, decide, logged
from projections.audit.access import access_log
from projections.audit.history import History, replay
from projections.audit.source import log_entries
from projections.audit.subject import ERASED, EVENT_LABELS, FIELD_LABELS, when
from projections.audit.verify import Disclosure, verify
from tests import audit_scenario as s
from tests import factories as f

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_OPERATOR", "shiken.kaiji@city.example")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def relay_ledger(app: HubApplication) -> None:
    """Governance over the whole log, its disclosures written to the relay's ledger as the
    relay writes them (the broker plays no part in what is disclosed)."""
    state = GovernanceState()
    made, position = [], 0
    for n in app.recorder.select_notifications(start=None, limit=100_000):
        made += decide(state, logged(n.id, app.mapper.to_domain_event(n))).disclosures
        position = n.id
    open_ledger(get_settings()).record(position, made)


def story(store: Path) -> tuple[s.Scenario, UUID]:
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        scenario = s.build(app)
        app.execute(f.build(c.RequestUseStop, case_id=scenario.case_id, occurred_at=f.at(9)))
        other = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.meeting([other], occurred_at=f.at(1)))
        s.details(app, other, 2)
        relay_ledger(app)
    finally:
        app.close()
    return scenario, other


def pdf_text(path: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    # Lines a block wraps are joined: the report is one column, read top to bottom.
    return done.stdout.decode("utf-8").replace("\n", "").replace("\f", "")


def audit(case_id: UUID) -> tuple[History, list[Disclosure]]:
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        history = replay(log_entries(app))
    finally:
        app.close()
    disclosures = ledger_disclosures(get_settings())
    assert verify(history, disclosures).valid
    return history, [d for d in disclosures if d.case_id == str(case_id)]


def report_text(store: Path, case_id: UUID) -> str:
    """`hub privacy subject-report` of the case, its PDF's text."""
    out = store / "kaiji.pdf"
    result = runner.invoke(
        cli, ["privacy", "subject-report", "--case", str(case_id), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return pdf_text(out)


def test_the_pdf_lists_what_the_audit_knows_of_the_person_and_no_one_else(store: Path) -> None:
    scenario, other = story(store)
    text = report_text(store, scenario.case_id)
    assert stat.S_IMODE((store / "kaiji.pdf").stat().st_mode) == 0o600
    history, mine = audit(scenario.case_id)
    network = names()

    assert "保有個人情報の開示（本人開示）" in text
    assert f"{FIELD_LABELS['name']}：{f.SYNTHETIC_NAME}" in text
    assert mine, "the scenario discloses on every basis"
    assert text.count("提供先：") == len(mine)
    for d in mine:
        assert f"提供日時：{when(d.occurred_at)}提供先：{network.agency(d.agency_id)}" in text
        assert label("basis", d.basis) in text
    assert {d.basis for d in mine} == {"consent", "support_meeting", "vital_interest", "statute"}
    consents = [x for x in history.consents.values() if x.case_id == str(scenario.case_id)]
    assert text.count("同意した日時：") == len(consents) == 1
    assert f"撤回（{when(scenario.withdrawn_at)}）" in text
    assert f"開催日時：{when(scenario.held_at)}会議：つながりづくり会議" in text
    assert text.count("開催日時：") == 1  # the other case's meeting is not listed
    assert f"宣言日時：{when(scenario.declared_at)}" in text
    assert f"申出日時：{when(f.at(9))}" in text
    assert str(other) not in text


def test_a_consents_scope_is_named_in_japanese_not_by_its_code(store: Path) -> None:
    # The report is for the person: a group of agencies (ward_windows) is said by what it
    # covers, as the case page says it, never by the network's code.
    scenario, _ = story(store)
    text = report_text(store, scenario.case_id)
    history, _ = audit(scenario.case_id)
    (consent,) = [x for x in history.consents.values() if x.case_id == str(scenario.case_id)]
    assert consent.scope, "the scenario's consent names a scope"
    shown = "、".join(names().agency(a) for a in consent.scope)
    assert f"対象（範囲）：{shown}" in text
    for code in consent.scope:
        assert code not in text


def test_the_read_for_the_report_is_on_the_access_log(store: Path) -> None:
    scenario, _ = story(store)
    report_text(store, scenario.case_id)
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reads = access_log(app, case_id=str(scenario.case_id))
    finally:
        app.close()
    assert [(r.purpose, r.basis, r.subject) for r in reads] == [
        ("person_request", "official_duty", "shiken.kaiji@city.example")
    ]
    assert "person.name" in reads[0].fields


def test_an_unknown_case_is_refused_with_one_line_and_writes_nothing(store: Path) -> None:
    out = store / "none.pdf"
    unknown = "00000000-0000-4000-8000-000000000000"  # no case's (the nil UUID is refused as no id)
    result = runner.invoke(cli, ["privacy", "subject-report", "--case", unknown, "--out", str(out)])
    assert result.exit_code == 3
    assert not out.exists()


def test_a_folder_given_as_the_file_is_refused_before_the_read_is_logged(store: Path) -> None:
    """The report was read (and its read logged), then writing it over a folder failed
    with a traceback: a read with nothing to show for it."""
    scenario, _ = story(store)
    result = runner.invoke(
        cli, ["privacy", "subject-report", "--case", str(scenario.case_id), "--out", str(store)]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --out ") and "is a folder, not a file" in result.stderr
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        assert access_log(app, case_id=str(scenario.case_id)) == []
    finally:
        app.close()


@pytest.mark.parametrize("where", ["a link to nothing", "a folder no file can be made in"])
def test_a_file_that_cannot_be_written_is_refused_before_the_read_is_logged(
    store: Path, where: str
) -> None:
    """The check before the read caught a folder, not a file the system refuses: the
    details were read and the read logged, then the write failed. The access log held a
    本人開示 read that produced no report."""
    scenario, _ = story(store)
    if where == "a link to nothing":
        out = store / "report.pdf"
        out.symlink_to(store / "missing" / "target.pdf")
    else:
        out = Path("/proc/subject-report-試験.pdf")
    result = runner.invoke(
        cli, ["privacy", "subject-report", "--case", str(scenario.case_id), "--out", str(out)]
    )
    assert result.exit_code != 0, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        assert access_log(app, case_id=str(scenario.case_id)) == []
    finally:
        app.close()


def test_after_erasure_the_report_shows_the_fields_as_erased(store: Path) -> None:
    scenario, _ = story(store)
    erased = runner.invoke(
        cli,
        [
            *("privacy", "erase", "--case", str(scenario.case_id)),
            *("--decided-by", "試験 保健福祉課", "--reason", "保存期間満了"),
        ],
    )
    assert erased.exit_code == 0, erased.output
    text = report_text(store, scenario.case_id)
    assert f"本人情報（氏名・住所・要配慮個人情報など）：{ERASED}" in text
    assert f.SYNTHETIC_NAME not in text and f.SYNTHETIC_ADDRESS not in text
    assert text.count("提供先：") == len(audit(scenario.case_id)[1])  # the record stays
    assert "記録：本人情報の消去" in text


def test_after_erasure_the_report_says_no_read_was_logged_and_logs_none(store: Path) -> None:
    """Nothing personal is read of an erased person, so no read is recorded: the command
    said '(the read is in the access log)' all the same."""
    scenario, _ = story(store)
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        app.erase_person(scenario.case_id, decided_by="試験 保健福祉課", reason="保存期間満了")
        before = len(access_log(app, case_id=str(scenario.case_id)))
    finally:
        app.close()
    out = store / "erased.pdf"
    result = runner.invoke(
        cli, ["privacy", "subject-report", "--case", str(scenario.case_id), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "no personal detail was read or logged" in result.output
    assert "the read is in the access log" not in result.output
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        assert len(access_log(app, case_id=str(scenario.case_id))) == before
    finally:
        app.close()


def test_a_consent_past_its_validity_is_reported_as_expired_not_as_in_force(
    store: Path,
) -> None:
    """The person reads the report when it was made: a consent whose validity ended before
    then is 期限切れ with its end, one still valid 有効."""
    from datetime import datetime, timedelta

    from hub.fiscal import JST

    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        expired = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.consent(expired, valid_until=f.at(30), occurred_at=f.at(1)))
        valid = app.execute(f.consultation()).aggregate_ids[0]
        until = datetime.now(JST).replace(microsecond=0) + timedelta(days=400)
        app.execute(f.consent(valid, valid_until=until, occurred_at=f.at(1)))
        relay_ledger(app)
    finally:
        app.close()
    texts = {case_id: report_text(store, case_id) for case_id in (expired, valid)}
    assert f"状態：期限切れ（{when(f.at(30))}）" in texts[expired]
    assert "有効（期限まで）" not in texts[expired]
    assert "状態：有効（期限まで）" in texts[valid]


def test_an_emergency_that_ran_out_reads_expired_one_ended_its_end(store: Path) -> None:
    """Section 5 left 終了 empty for a declaration that ran to its time limit: read as still
    in force. It reads 期限切れ with the limit; one ended earlier, when it was ended."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case_id = app.execute(f.consultation(occurred_at=f.at(0))).aggregate_ids[0]
        lapsed = f.emergency(case_id, occurred_at=f.at(1), expires_at=f.at(3))
        app.execute(lapsed)
        ended = f.emergency(case_id, occurred_at=f.at(4), expires_at=f.at(6))
        app.execute(ended)
        app.execute(
            f.build(
                c.EndEmergency,
                case_id=case_id,
                declaration_id=ended.declaration_id,
                occurred_at=f.at(5),
            )
        )
        relay_ledger(app)
    finally:
        app.close()
    text = report_text(store, case_id)
    assert f"終了：期限切れ（{when(f.at(3))}）" in text
    assert f"終了：{when(f.at(5))}" in text


def test_the_default_file_is_named_by_the_case_and_said_within_80_columns(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario, _ = story(store)
    monkeypatch.setenv("HUB_VAR_DIR", str(get_settings().var_dir.resolve()))  # its key file
    get_settings.cache_clear()
    monkeypatch.chdir(store)
    result = runner.invoke(cli, ["privacy", "subject-report", "--case", str(scenario.case_id)])
    assert result.exit_code == 0, result.output
    written = store / f"subject-report-{scenario.case_id}.pdf"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert f"  {written.name}\n" in result.output
    assert max(cell_len(line) for line in result.output.splitlines()) <= 80, result.output


def test_a_record_at_the_ends_of_time_below_the_edge_is_written_as_it_stands(
    store: Path,
) -> None:
    """A log written before the edge's rules may hold a withdrawal dated year 1 and a visit
    at 9999-12-31T23:59:59-09:00 (tests/poison.py): no 和暦 day or JST time exists for
    them, and the person's 開示 is still made, with those instants as written."""
    from tests.poison import visits_at_the_ends_of_time, withdrawn_in_year_one

    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case = f.open_case(ward="moji", person=f.person())
        app.execute(case)
        consent = f.consent(case.case_id, occurred_at=f.at(1))
        app.execute(consent)
        withdrawn_in_year_one(app, case.case_id, consent.consent_id)
        visits_at_the_ends_of_time(app, case.case_id)
    finally:
        app.close()
    text = report_text(store, case.case_id)
    assert "撤回（0001-01-01T00:00:00+00:00）" in text


def test_a_consent_for_a_period_not_yet_begun_is_not_reported_as_in_force(store: Path) -> None:
    """A consent given today for a period from next week releases nothing yet (governance:
    from valid_from on): the person is not told it is 有効, but from when it will be."""
    from datetime import timedelta

    from hub.fiscal import now
    from projections.audit.subject import when

    start = now().replace(microsecond=0) + timedelta(days=7)
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case = f.open_case(ward="moji", person=f.person(), occurred_at=now())
        app.execute(case)
        app.execute(
            f.consent(
                case.case_id,
                occurred_at=now(),
                valid_from=start,
                valid_until=start + timedelta(days=365),
            )
        )
    finally:
        app.close()
    text = report_text(store, case.case_id)
    assert f"未発効（{when(start)}から有効）" in text
    assert "有効（期限まで）" not in text


def test_the_birth_date_is_written_in_wareki_beside_the_gregorian_date(store: Path) -> None:
    """The report writes its dates in 和暦 and in the Gregorian calendar (docs/RIGHTS.md), as
    the pages show 生年月日: 昭和25年1月1日, not 1950-01-01 alone."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case = f.open_case(ward="moji", person=f.person(birth_date="1950-01-01"))
        app.execute(case)
    finally:
        app.close()
    text = report_text(store, case.case_id)
    assert f"{FIELD_LABELS['birth_date']}：昭和25年1月1日（1950-01-01）" in text


def test_the_list_of_records_is_in_date_order_whatever_the_order_they_were_written(
    store: Path,
) -> None:
    """A record written late for an earlier day (a back-dated assessment) was listed last,
    after records of later days: the person reads a list by date."""
    from ops.privacy.subject import subject_report
    from projections.audit.subject import EVENT_LABELS

    scenario, _ = story(store)
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        app.execute(f.assessment(scenario.case_id, occurred_at=f.at(0.5)))  # written last
        report = subject_report(app, scenario.case_id, [])
    finally:
        app.close()
    (listed,) = [x for x in report.sections if x.title == "7. 記録の一覧"]
    kinds = [kind for _, kind in listed.rows]
    assessed = kinds.index(EVENT_LABELS["AssessmentRecorded"])
    assert assessed < kinds.index(EVENT_LABELS["UseStopRequested"])  # written at f.at(9)


def test_a_break_glass_review_of_the_case_is_in_the_list_of_records(store: Path) -> None:
    """Section 7 lists every record of the case: the verdict on a declaration that released
    the person's 要配慮個人情報 is one (its kind and date; the reviewer's note is not shown)."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case_id = app.execute(f.consultation(occurred_at=f.at(0))).aggregate_ids[0]
        glass = f.emergency(
            case_id,
            occurred_at=f.at(1),
            sensitive_categories=["health"],
            sensitive_reason="意識不明、持病の確認が必要（試験）",
        )
        app.execute(glass)
        review = f.build(
            c.ReviewBreakGlass,
            case_id=case_id,
            declaration_id=glass.declaration_id,
            reviewer="auditor",
            verdict="justified",
            note="試験の審査メモ",
            occurred_at=f.at(2),
        )
        app.execute(review)
        relay_ledger(app)
    finally:
        app.close()
    text = report_text(store, case_id)
    assert f"日時：{when(f.at(2))}記録：{label('event_type', 'BreakGlassReviewed')}" in text
    assert "試験の審査メモ" not in text


def test_every_kind_of_record_a_case_holds_is_one_the_list_names() -> None:
    case_events = {name for name, cls in ev.EVENTS_BY_NAME.items() if "case_id" in cls.model_fields}
    assert case_events - set(EVENT_LABELS) == set()


def test_details_held_only_in_the_discovery_report_are_disclosed_and_their_read_logged(
    store: Path,
) -> None:
    """A case opened from a discovery may not restate the person: the hub still holds the
    report's details (erased with the case). Told 本人を特定する情報は保有していません, the
    person would be told something untrue."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reported = f.person(kana=None, phone=None, health=None)
        discovery = app.execute(f.discovery(person=reported, occurred_at=f.at(0)))
        discovery_id = discovery.aggregate_ids[0]
        case_id = uuid4()
        app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id, occurred_at=f.at(1)))
        relay_ledger(app)
    finally:
        app.close()
    out = store / "kaiji.pdf"
    result = runner.invoke(
        cli, ["privacy", "subject-report", "--case", str(case_id), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "the read is in the access log" in result.output
    text = pdf_text(out)
    assert f"氏名：{f.SYNTHETIC_NAME}" in text and f"住所：{f.SYNTHETIC_ADDRESS}" in text
    assert "本人を特定する情報は保有していません" not in text
    assert f"記録：{label('event_type', 'DiscoveryReported')}" in text
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reads = access_log(app, case_id=str(case_id))
    finally:
        app.close()
    assert [(r.purpose, r.basis) for r in reads] == [("person_request", "official_duty")]
    assert {"person.name", "person.address"} <= set(reads[0].fields)


def test_one_report_is_one_read_of_the_case_and_its_discovery_report_together(
    store: Path,
) -> None:
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reported = f.person(kana=None, phone=None, health=None)
        discovery_id = app.execute(f.discovery(person=reported)).aggregate_ids[0]
        case_id = uuid4()
        app.execute(f.open_case(case_id=case_id, discovery_id=discovery_id, occurred_at=f.at(1)))
        own = {"health": "架空の持病（試験）"}
        app.execute(f.build(c.RecordPersonDetails, case_id=case_id, person=own))
    finally:
        app.close()
    report_text(store, case_id)
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reads = access_log(app, case_id=str(case_id))
    finally:
        app.close()
    assert len(reads) == 1
    assert {"person.name", "person.address", "person.health"} <= set(reads[0].fields)


def test_a_break_glass_declaration_names_the_sensitive_categories_it_released(
    store: Path,
) -> None:
    """Section 5 named only the ordinary categories of a break-glass declaration: the
    person read that it released 本人特定情報 and 連絡先 while their health went out on it."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case_id = app.execute(f.consultation(occurred_at=f.at(0))).aggregate_ids[0]
        app.execute(
            f.emergency(
                case_id,
                occurred_at=f.at(1),
                sensitive_categories=["health"],
                sensitive_reason="意識不明、持病の確認が必要（試験）",
            )
        )
        relay_ledger(app)
    finally:
        app.close()
    text = report_text(store, case_id)
    assert "健康情報（要配慮個人情報）期限：" in text


def test_a_detail_the_officer_corrected_shows_the_reports_value_beside_the_cases(
    store: Path,
) -> None:
    """The hub holds both: the case's corrected kana and, under the discovery's key, the
    report's first one. A 本人開示 shows what is held, so both are shown, and the one read
    records every field shown."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        found = f.discovery(ward="moji", person=f.person(kana="カクウ イチロウ"))
        app.execute(found)
        case = f.open_case(
            ward="moji", discovery_id=found.discovery_id, person={"kana": "シケン タロウ"}
        )
        app.execute(case)
    finally:
        app.close()
    text = report_text(store, case.case_id)
    assert f"{FIELD_LABELS['kana']}：シケン タロウ" in text
    assert f"{FIELD_LABELS['kana']}（発見の報告）：カクウ イチロウ" in text
    assert f"{FIELD_LABELS['name']}（発見の報告）" not in text  # the same value: once
    assert text.count(f.SYNTHETIC_NAME) == 1


def test_a_detail_emptied_on_the_case_is_listed_as_the_reports_and_the_clearing_as_a_record(
    store: Path,
) -> None:
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        found = f.discovery(ward="moji", person=f.person())
        app.execute(found)
        case = f.open_case(ward="moji", discovery_id=found.discovery_id)
        app.execute(case)
        app.execute(f.build(c.ClearPersonDetails, case_id=case.case_id, fields=["address"]))
    finally:
        app.close()
    text = report_text(store, case.case_id)
    assert f"{FIELD_LABELS['address']}：" not in text  # the case holds none
    assert f"{FIELD_LABELS['address']}（発見の報告）：{f.SYNTHETIC_ADDRESS}" in text
    assert f"{FIELD_LABELS['name']}：{f.SYNTHETIC_NAME}" in text
    assert EVENT_LABELS["PersonDetailsCleared"] == "本人情報の一部削除"
    assert "本人情報の一部削除" in text


def test_a_read_is_listed_with_its_basis_and_the_consent_it_rested_on(store: Path) -> None:
    """根拠の記録: the person reads which consent (by when it was given) allowed a read; a
    read on the staff's own duties names its basis alone."""
    from ops.privacy.subject import subject_report

    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        consultation = f.consultation()
        case_id = app.execute(consultation).aggregate_ids[0]
        consent = f.consent(case_id, occurred_at=f.at(1))
        app.execute(consent)
        app.record_access(None, case_id, ["person.name"], "official_duty", "case_management")
        app.record_access(
            None,
            case_id,
            ["person.name"],
            "consent",
            "consultation",
            basis_refs=[str(consent.consent_id)],
        )
        report = subject_report(app, case_id, [])
    finally:
        app.close()
    (listed,) = [x for x in report.sections if x.title == "7. 記録の一覧"]
    reads = [
        kind for _, kind in listed.rows if kind.startswith(EVENT_LABELS["PersonalDataAccessed"])
    ]
    assert any(r.endswith(f"（根拠 本人同意：{when(f.at(1))}の同意）") for r in reads)
    assert any(r.endswith("（根拠 所掌事務（個人情報保護法第61条・第69条第1項））") for r in reads)
