"""Leak impact: the people and fields a leaked store copy or inbox exposes, 要配慮 flagged, and
the reporting thresholds of 規則第43条 for an administrative organ."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import SecretStr
from rich.cells import cell_len
from typer.testing import CliRunner

from consumers.inbox import Inbox, InboxEntry
from consumers.sql import SqliteDatabase
from hub.application import HubApplication
from hub.identity import Actor, Role
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from projections.audit.access import access_log
from projections.audit.leak import Exposure, LeakImpact
from tests import factories as f

runner = CliRunner()
AT = datetime(2025, 4, 1, tzinfo=UTC)


def people(count: int, sensitive: bool = False) -> LeakImpact:
    impact = LeakImpact()
    for n in range(count):
        impact.add([Exposure(f"case-{n}", "person.name", "identity", False, AT)])
    if sensitive:
        impact.add([Exposure("case-0", "person.health", "health", True, AT)])
    return impact


def met(impact: LeakImpact) -> list[str]:
    return [t.item[:3] for t in impact.thresholds(unlawful=False, property_damage=False) if t.met]


def test_more_than_100_people_is_reportable_and_100_is_not() -> None:
    assert met(people(100)) == []
    assert met(people(101)) == ["第4号"]


def test_one_persons_sensitive_field_is_reportable() -> None:
    assert met(people(1, sensitive=True)) == ["第1号"]


def test_unlawful_purpose_and_property_damage_are_stated_by_the_assessor() -> None:
    stated = people(1).thresholds(unlawful=True, property_damage=True)
    assert [t.item[:3] for t in stated if t.met] == ["第2号", "第3号"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "hub.sqlite"
    monkeypatch.setenv("HUB_SQLITE_PATH", str(path))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_OPERATOR", "shiken.roei@city.example")
    get_settings.cache_clear()
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        app.execute(f.consultation(occurred_at=f.at(1)))  # with a health record
        app.execute(f.consultation(occurred_at=f.at(2), person=f.person(health=None)))
    finally:
        app.close()
    yield path
    get_settings.cache_clear()


def leak_impact(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["privacy", "leak-impact", *args])
    return result.exit_code, result.output


def test_a_store_copy_lists_both_people_flags_health_and_is_reportable(store: Path) -> None:
    code, out = leak_impact("--store", str(store))
    assert code == 0, out
    assert "本人 people: 2 (要配慮 sensitive: 1)" in out
    lines = out.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("ケース"))) + 1
    sensitive, plain = "\n".join(lines[first : first + 2]), "\n".join(lines[first + 2 : first + 4])
    assert "●" in sensitive and "氏名" in sensitive and "健康情報" in sensitive
    assert "-" in plain and "氏名" in plain and "健康情報" not in plain
    assert "必要 REQUIRED" in out
    assert "[該当] 第1号 要配慮個人情報" in out
    assert f.SYNTHETIC_NAME not in out and f.SYNTHETIC_ADDRESS not in out
    # Printed for people, as every command's text: within 80 columns (a CJK character, two),
    # but for the heading, which names the file as it was given.
    for stated in ([], ["--unlawful", "--property-damage"]):
        code, out = leak_impact("--store", str(store), *stated)
        assert all(cell_len(line) <= 80 for line in out.splitlines()[1:]), out


def test_an_erased_person_in_a_store_copy_exposes_nothing(store: Path) -> None:
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        log = app.recorder.select_notifications(start=1, limit=100)
        cases = [n.originator_id for n in log if n.topic.startswith("hub.domain.case:Case.")]
        with_health = cases[0]  # the first consultation's
        erasure = {"decided_by": "試験 保健福祉局", "reason": "保存期間満了"}
        app.erase_person(
            with_health, actor=Actor("shiken.kanri@city.example", Role.administrator), **erasure
        )
    finally:
        app.close()
    code, out = leak_impact("--store", str(store))
    assert code == 0, out
    # Their fields read ［消去済み］ now: only the other person, without a sensitive field.
    assert "本人 people: 1 (要配慮 sensitive: 0)" in out
    assert "不要 not required" in out


def test_the_time_range_keeps_only_the_records_inside_it(store: Path) -> None:
    code, out = leak_impact("--store", str(store), "--from", f.at(1.5).isoformat())
    assert code == 0, out
    assert "本人 people: 1 (要配慮 sensitive: 0)" in out
    assert "不要 not required" in out


def test_names_are_shown_only_with_a_purpose_and_each_read_is_logged(store: Path) -> None:
    code, out = leak_impact("--store", str(store), "--show-names")
    assert code == 2 and f.SYNTHETIC_NAME not in out
    code, out = leak_impact("--store", str(store), "--show-names", "--purpose", "person_request")
    assert code == 0, out
    assert out.count(f.SYNTHETIC_NAME) == 2
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reads = access_log(app)
    finally:
        app.close()
    assert [r.purpose for r in reads] == ["person_request", "person_request"]
    # Each record names what was shown, the name: not the address, the birth date or the
    # health record the store also holds (docs/AUDIT.md: which fields the person was shown).
    assert [list(r.fields) for r in reads] == [["person.name"], ["person.name"]]


def test_exactly_one_source_is_named(store: Path) -> None:
    assert leak_impact()[0] == 2
    assert leak_impact("--store", str(store), "--inbox", str(store))[0] == 2


def test_an_inbox_exposes_only_what_the_agency_was_given(tmp_path: Path) -> None:
    path = tmp_path / "moji.hoiku.sqlite"
    inbox = Inbox(SqliteDatabase(path))
    case_id = str(uuid4())
    for n, disclosed in enumerate(
        [{}, {"person.name": f.SYNTHETIC_NAME, "person.health": f.SYNTHETIC_HEALTH}]
    ):
        inbox.apply(
            InboxEntry(
                event_id=str(uuid4()),
                event_type="PersonDetailsRecorded",
                source_topic="referrals.moji.hoiku",
                source_partition=0,
                source_offset=n,
                occurred_at=f.at(n).isoformat(),
                case_id=case_id,
                basis="vital_interest" if disclosed else "none",
                disclosed=disclosed,
            )
        )
    inbox.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out = leak_impact("--inbox", str(path))
    assert code == 0, out
    # Read as it leaked: no -wal or -shm made beside it (RIGHTS.md: read-only).
    assert sorted(p.name for p in tmp_path.iterdir()) == before == [path.name]
    assert "記録 records: 2; 本人 people: 1 (要配慮 sensitive: 1)" in out
    assert f"{case_id[:8]}" in out and "氏名、健康情報" in out
    assert f.SYNTHETIC_NAME not in out


def test_an_inbox_that_leaked_with_its_wal_is_read_with_it(tmp_path: Path) -> None:
    """Rows still in the -wal file (the client running when the files were copied) count."""
    import shutil

    running = tmp_path / "running"
    running.mkdir()
    inbox = Inbox(SqliteDatabase(running / "moji.hoiku.sqlite"))
    case_id = str(uuid4())
    inbox.apply(
        InboxEntry(
            event_id=str(uuid4()),
            event_type="PersonDetailsRecorded",
            source_topic="referrals.moji.hoiku",
            source_partition=0,
            source_offset=0,
            occurred_at=f.at(0).isoformat(),
            case_id=case_id,
            basis="vital_interest",
            disclosed={"person.name": f.SYNTHETIC_NAME},
        )
    )
    leaked = tmp_path / "leaked"
    leaked.mkdir()
    for name in ("moji.hoiku.sqlite", "moji.hoiku.sqlite-wal"):
        shutil.copy(running / name, leaked / name)  # copied while the client holds it open
    inbox.close()
    code, out = leak_impact("--inbox", str(leaked / "moji.hoiku.sqlite"))
    assert code == 0, out
    assert "本人 people: 1" in out and case_id[:8] in out


def test_names_asked_for_with_no_one_to_act_as_are_refused_not_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside development mode a read of details needs HUB_OPERATOR; `--show-names` without
    it printed the table with no name and exit 0, as if the store held none of them."""
    monkeypatch.setenv("HUB_MODE", "production")
    for name, field in Settings.model_fields.items():
        if field.annotation is SecretStr:
            monkeypatch.setenv(f"HUB_{name.upper()}", f"試験-{name}-0123456789abcdef0123456789")
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HUB_OPERATOR", raising=False)
    get_settings.cache_clear()
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        app.execute(f.consultation(occurred_at=f.at(1)), Actor("試験-officer", Role.operator))
    finally:
        app.close()
    try:
        code, out = leak_impact(
            "--store", str(tmp_path / "hub.sqlite"), "--show-names", "--purpose", "audit"
        )
    finally:
        get_settings.cache_clear()
    assert code == 1, out
    assert out.startswith("Error: no one to act as: set HUB_OPERATOR") and out.count("\n") == 1
    assert f.SYNTHETIC_NAME not in out


class _Topics:
    """The broker's list of topics, as the admin client answers it."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)

    def list_topics(self) -> list[str]:
        return self.names

    def close(self) -> None:
        pass


def test_a_topic_the_broker_lacks_is_not_found_and_a_tenants_prefix_is_suggested(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RIGHTS.md's example `--topic referrals.moji.hoiku` on a tenant (HUB_KAFKA_TOPIC_PREFIX)
    named a topic the broker does not have: exit 4 ("a service is away") though the broker
    answered. It is not found (exit 3), and the tenant's own topic is suggested."""
    from hub import kafka_clients

    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", "t1.")
    get_settings.cache_clear()
    broker = _Topics("t1.referrals.moji.hoiku")
    monkeypatch.setattr(kafka_clients, "admin", lambda settings: broker)
    code, out = leak_impact("--topic", "referrals.moji.hoiku")
    assert code == 3, out
    assert "no topic referrals.moji.hoiku" in out and "did you mean t1.referrals.moji.hoiku" in out
    code, out = leak_impact("--topic", "t1.referrals.moji.hoikx")
    assert code == 3 and "did you mean" not in out, out
    get_settings.cache_clear()


def test_a_store_copy_with_an_event_that_does_not_read_says_where_in_one_line(
    store: Path,
) -> None:
    """A leaked copy may be damaged or edited: one line naming the event and how to find
    what changed, not a traceback."""
    with sqlite3.connect(store) as db:
        rowid, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%ConsultationReceived'"
        ).fetchone()
        at = state.index(b'"c":"') + 10
        edited = state[:at] + (b"A" if state[at : at + 1] != b"A" else b"B") + state[at + 1 :]
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, rowid))
    result = runner.invoke(cli, ["privacy", "leak-impact", "--store", str(store)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --store: the event at position ")
    assert "hub audit verify-log --no-witness" in lines[0]


def test_a_case_opened_from_a_discovery_is_one_person_in_a_store_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's details and the case's (which it took when it opened) are one person's:
    the case's, as the list names a discovery linked to a case (RIGHTS.md), never two."""
    path = tmp_path / "hub.sqlite"
    monkeypatch.setenv("HUB_SQLITE_PATH", str(path))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    get_settings.cache_clear()
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        reported = f.discovery(person=f.person(health=None), occurred_at=f.at(1))
        app.execute(reported)
        case_id = uuid4()
        app.execute(f.open_case(case_id=case_id, discovery_id=reported.discovery_id))
        unlinked = f.discovery(person=f.person(name="架空 次郎"), occurred_at=f.at(2))
        app.execute(unlinked)
    finally:
        app.close()
    try:
        code, out = leak_impact("--store", str(path))
    finally:
        get_settings.cache_clear()
    assert code == 0, out
    assert "本人 people: 2 (要配慮 sensitive: 1)" in out
    hexdigits = "0123456789abcdef"
    listed = [line.split()[0] for line in out.splitlines() if line[:1] and line[0] in hexdigits]
    assert sorted(listed) == sorted([str(case_id)[:8], str(unlinked.discovery_id)[:8]]), out
