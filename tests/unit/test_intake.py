"""Bulk intake (`hub submit`) and command validation at the edge."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner

from hub.errors import InvalidCommandError
from hub.intake import parse_command_line, parse_command_text, parse_in_steps
from hub.settings import get_settings
from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "hub.sqlite"
    monkeypatch.setenv("HUB_SQLITE_PATH", str(path))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _line(command: object) -> str:
    return command.model_dump_json()  # type: ignore[attr-defined]


def test_good_bad_and_repeated_lines(store: Path, tmp_path: Path) -> None:
    opened = f.consultation()
    lines = [
        _line(opened),
        "{not json",
        json.dumps({"type": "ReferCase", "command_id": str(uuid4())}),
        _line(f.discovery()),
        _line(opened),  # the same command again, in the same file
        json.dumps({"type": "LaunchRocket", "command_id": str(uuid4())}),
    ]
    file = tmp_path / "commands.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = runner.invoke(cli, ["submit", str(file)])
    assert first.exit_code == 1
    assert "6 行: 記録 2 件、適用済み 1 件、拒否 3 件 / " in first.stdout  # Japanese first
    assert "6 lines: 2 written (3 events), 1 already applied, 3 rejected" in first.stdout
    assert "line 2: not JSON" in first.stderr
    assert "line 3: " in first.stderr and "Field required" in first.stderr
    assert "line 6: " in first.stderr
    assert "Traceback" not in first.output

    again = runner.invoke(cli, ["submit", str(file)])
    assert "6 lines: 0 written (0 events), 3 already applied, 3 rejected" in again.stdout


def test_submit_runs_with_the_heap_settled_and_gives_it_back(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The application opened and the lines read are frozen out of the collections while
    # the file runs (ops.heap); afterwards the test process is as it was.
    import ops.cli.cases as cases

    frozen_while: list[int] = []

    def submit_lines(*args: object) -> object:
        frozen_while.append(gc.get_freeze_count())
        return real(*args)

    real = cases.submit_lines
    monkeypatch.setattr(cases, "submit_lines", submit_lines)
    file = tmp_path / "commands.jsonl"
    file.write_text(_line(f.consultation()) + "\n", encoding="utf-8")
    before = gc.get_freeze_count()
    result = runner.invoke(cli, ["submit", str(file)])
    assert result.exit_code == 0, result.output
    assert frozen_while and frozen_while[0] > before + 10_000  # modules, schemas, the app
    assert gc.get_freeze_count() == (0 if before == 0 else frozen_while[0])


def test_a_domain_error_names_the_line_and_writes_nothing_for_it(
    store: Path, tmp_path: Path
) -> None:
    file = tmp_path / "commands.jsonl"
    file.write_text(_line(f.referral(uuid4())) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["submit", str(file)])
    assert result.exit_code == 1
    assert "line 1: CaseNotFoundError: no case" in result.stderr


def test_a_missing_file_is_one_clear_line(store: Path) -> None:
    result = runner.invoke(cli, ["submit", "/no/such/file.jsonl"])
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert "Traceback" not in result.output


def test_one_command_from_the_command_line(store: Path) -> None:
    result = runner.invoke(cli, ["command", _line(f.discovery())])
    assert result.exit_code == 0, result.output
    assert "recorded DiscoveryReported" in result.stdout
    bad = runner.invoke(cli, ["command", '{"type": "ReportDiscovery"}'])
    assert bad.exit_code == 2 and "Field required" in bad.output


def test_one_command_with_a_persons_details_read_from_stdin(store: Path) -> None:
    # `hub command -`: the details never stand in the process's arguments (ps, /proc), which
    # every user of the host can read.
    consultation = f.consultation()
    result = runner.invoke(cli, ["command", "-"], input=_line(consultation) + "\n")
    assert result.exit_code == 0, result.output
    assert "recorded" in result.stdout
    bad = runner.invoke(cli, ["command", "-"], input='{"type": "ReportDiscovery"}')
    assert bad.exit_code == 2 and "Field required" in bad.output


def test_schema_commands_prints_a_json_schema() -> None:
    result = runner.invoke(cli, ["schema", "commands"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "ReportDiscovery" in json.dumps(schema)
    events = runner.invoke(cli, ["schema", "events", "ReferralMade"])
    assert '"name": "ReferralMade"' in events.stdout


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"type": "ReportDiscovery"}'.encode("shift_jis") + "試験".encode("shift_jis"), "UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"command_id": "x"}', "'type'"),
        (b"x" * 70_000, "longer than"),
    ],
)
def test_malformed_lines_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidCommandError, match=reason):
        parse_command_line(raw)


def test_control_characters_and_lone_surrogates_are_refused() -> None:
    base = json.loads(_line(f.discovery()))
    for bad in ("\x00", "\x1b[31m", "\ud800"):
        raw = json.dumps({**base, "note": f"メモ{bad}"}).encode()
        with pytest.raises(InvalidCommandError, match="note"):
            parse_command_line(raw)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("試験\u202e太郎", "bidirectional control character 0x202e"),
        ("\u2066試験\u2069", "bidirectional control character 0x2066"),
        ("\u200b", "no visible character"),
        (" \ufeff\u200d ", "no visible character"),
        ("\u00ad", "no visible character"),
    ],
)
def test_text_that_reads_otherwise_than_stored_or_shows_as_nothing_is_refused(
    text: str, rule: str
) -> None:
    """A name whose letters a bidirectional override reorders on screen, or one made of
    zero-width characters only, would be stored, searched and shown as a different or an
    empty name."""
    case = json.loads(_line(f.consultation()))
    raw = json.dumps({**case, "person": {**case["person"], "name": text}}).encode()
    with pytest.raises(InvalidCommandError, match=f"person.name: .*{rule}"):
        parse_command_line(raw)


def test_text_with_a_zero_width_character_among_visible_ones_is_kept() -> None:
    """A joiner inside a name (an emoji sequence, a copy from a word processor) is text."""
    case = json.loads(_line(f.consultation()))
    for name in ("試験\u200b花子", "\ufeff試験 花子", "試験\u200e花子"):
        raw = json.dumps({**case, "person": {**case["person"], "name": name}}).encode()
        assert parse_command_line(raw).person.name == name.strip()  # type: ignore[attr-defined]


@pytest.mark.parametrize("written", [1_746_057_600, 1.7e9, "1746057600", "-1", "20250401"])
@pytest.mark.parametrize("field", ["occurred_at", "valid_until"])
def test_an_instant_written_as_a_number_is_refused(written: object, field: str) -> None:
    """pydantic reads a number as seconds since 1970: a date typed without its dashes
    (20250401) would pass as a day of 1970 (refused as too early) or a plausible instant."""
    consent = json.loads(_line(f.consent(uuid4())))
    with pytest.raises(InvalidCommandError, match=f"{field}: .*not as a number"):
        parse_command_line(json.dumps({**consent, field: written}).encode())


def test_a_plan_date_written_as_a_number_is_refused() -> None:
    plan = json.loads(_line(f.plan(uuid4())))
    for field in ("period_from", "period_until", "monitoring_date"):
        with pytest.raises(InvalidCommandError, match=f"{field}: .*not as a number"):
            parse_command_line(json.dumps({**plan, field: 20250401}).encode())


def test_timestamps_without_a_zone_and_inverted_periods_are_refused() -> None:
    base = json.loads(_line(f.discovery()))
    with pytest.raises(InvalidCommandError, match="time zone"):
        parse_command_line(json.dumps({**base, "occurred_at": "2025-04-01T09:00:00"}).encode())
    consent = json.loads(_line(f.consent(uuid4())))
    consent["valid_until"] = consent["valid_from"]
    with pytest.raises(InvalidCommandError, match="valid_until must be after valid_from"):
        parse_command_line(json.dumps(consent).encode())


def test_a_decline_needs_a_reason_and_a_proxy_consent_says_who() -> None:
    answer = json.loads(_line(f.answer(uuid4(), uuid4(), "moji.hogo", "received")))
    with pytest.raises(InvalidCommandError, match="reason"):
        parse_command_line(json.dumps({**answer, "answer": "declined"}).encode())
    consent = json.loads(_line(f.consent(uuid4())))
    with pytest.raises(InvalidCommandError, match="proxy"):
        parse_command_line(json.dumps({**consent, "by_proxy": True}).encode())


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_example() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("An example `commands.jsonl`", 1)[1].split("```json\n", 1)[1]
    return block.split("```", 1)[0].strip().splitlines()


def test_the_readme_example_is_accepted_as_written(store: Path, tmp_path: Path) -> None:
    lines = _readme_example()
    assert len(lines) == 5
    file = tmp_path / "commands.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["submit", str(file)])
    assert result.exit_code == 0, result.output
    assert "5 lines: 5 written" in result.stdout and "0 rejected" in result.stdout


def test_the_schema_requires_exactly_what_the_runtime_requires() -> None:
    from hub.commands import commands_json_schema

    definitions = commands_json_schema()["$defs"]
    for line in _readme_example():
        command = json.loads(line)
        required = definitions[command["type"]]["required"]
        assert set(required) <= set(command), (command["type"], required)
    discovery = definitions["ReportDiscovery"]
    assert "discovery_id" not in discovery["required"]
    assert "derived from command_id" in discovery["properties"]["discovery_id"]["description"]
    # a consultation that opens a case: its case_id too (README: says so in its description)
    consultation = definitions["ReceiveConsultation"]
    assert "case_id" not in consultation["required"]
    assert "derived from command_id" in consultation["properties"]["case_id"]["description"]
    # and the runtime indeed derives it
    parsed = parse_command_line(_line(f.discovery()).encode())
    assert parsed.discovery_id is not None  # type: ignore[attr-defined]


def test_a_file_with_a_byte_order_mark_or_in_cp932_is_read(store: Path, tmp_path: Path) -> None:
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + _line(f.discovery()).encode() + b"\r\n")
    result = runner.invoke(cli, ["submit", str(bom)])
    assert result.exit_code == 0, result.output
    assert "1 written" in result.stdout

    consultation = f.consultation()
    assert "試験" in _line(consultation)
    shift_jis = tmp_path / "excel.jsonl"
    shift_jis.write_bytes(_line(consultation).encode("cp932") + b"\r\n")
    plain = runner.invoke(cli, ["submit", str(shift_jis)])
    assert plain.exit_code == 1 and "line 1: not UTF-8 text" in plain.stderr
    assert "--encoding cp932" in plain.stderr
    result = runner.invoke(cli, ["submit", "--encoding", "cp932", str(shift_jis)])
    assert result.exit_code == 0, result.output
    assert "1 written" in result.stdout
    unknown = runner.invoke(cli, ["submit", "--encoding", "klingon", str(shift_jis)])
    assert unknown.exit_code == 2 and "unknown encoding" in unknown.stderr


def test_a_file_in_another_encoding_than_given_is_named_so_once(
    store: Path, tmp_path: Path
) -> None:
    """A UTF-16 file was "not UTF-8 … a Shift_JIS file: --encoding cp932" on its first line
    and garbage on the others; a UTF-8 file read as cp932 had no hint at all."""
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_text(_line(f.discovery()) + "\n", encoding="utf-16")
    wide = runner.invoke(cli, ["submit", str(utf16)])
    assert wide.exit_code == 2, wide.output
    assert wide.stderr.strip() == "Error: a UTF-16 file: save it as UTF-8 (or Shift_JIS, cp932)"
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + _line(f.discovery()).encode() + b"\n")
    excel = runner.invoke(cli, ["submit", "--encoding", "Shift_JIS", str(bom)])
    assert excel.exit_code == 2, excel.output
    assert excel.stderr.strip() == (
        "Error: a UTF-8 file (it starts with a BOM), not shift_jis: leave out --encoding"
    )
    spelt = runner.invoke(cli, ["submit", "--encoding", "UTF8", str(bom)])  # any spelling
    assert spelt.exit_code == 0 and "1 written" in spelt.stdout, spelt.output


def test_a_long_rejection_reason_stays_on_one_line_when_piped(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    file = tmp_path / "long.jsonl"
    file.write_text(json.dumps({"type": "ReportDiscovery", "command_id": str(uuid4())}) + "\n")
    result = runner.invoke(cli, ["submit", str(file)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("line 1: ") and len(lines[0]) > 40, lines


def _either(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except InvalidCommandError:
        return "refused"


def test_parsing_in_one_step_accepts_exactly_what_the_steps_accept() -> None:
    """``parse_command_text`` lets pydantic-core parse and validate in one step and falls
    back to the named steps on any refusal: both must accept the same lines, as the same
    command (edge inputs included)."""
    opened = f.consultation()
    good = json.loads(_line(opened))
    deep: object = "x"
    for _ in range(40):
        deep = [deep]
    texts = [
        _line(opened),
        _line(f.referral(uuid4())),
        _line(f.discovery()),
        json.dumps(good, ensure_ascii=False),
        json.dumps({**good, "extra": {"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}),
        json.dumps({**good, "note": deep}),
        json.dumps({**good, "note": "a" * 5}).replace('"aaaaa"', '"\\ud800"'),
        json.dumps({**good, "note": "  空白  "}),
        json.dumps(good)[:-1] + ', "note": "後の値"}',  # a key twice: the last one counts
        json.dumps({**good, "needs": ["elderly", "elderly"]}),
        json.dumps({**good, "occurred_at": "2026-12-02T10:00:00"}),
        json.dumps({**good, "occurred_at": 1_764_000_000}),
        json.dumps({**good, "person": None}),
        json.dumps({k: v for k, v in good.items() if k != "type"}),
        json.dumps({**good, "type": "NoSuchCommand"}),
        '{"type": "SetTarget", "fiscal_year": ' + "9" * 5000 + "}",
        '{"type": "SetTarget", "fiscal_year": NaN}',
        "[1, 2]",
        "null",
    ]

    for text in texts:
        assert _either(parse_command_text, text) == _either(parse_in_steps, text), text[:80]
    assert _either(parse_command_text, texts[0]) == opened


def test_a_persons_details_as_an_argument_are_refused_in_production(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: a command holding a person's details goes on stdin, never as an argument
    (`ps` shows it to every user of the host). Outside development mode it is refused before
    anything is opened; a command without details is not refused for it."""
    monkeypatch.setenv("HUB_MODE", "production")
    get_settings.cache_clear()
    consultation = f.consultation()
    refused = runner.invoke(cli, ["command", _line(consultation)])
    assert refused.exit_code == 2, refused.output
    assert refused.output.count("\n") == 1 and "hub command - < FILE" in refused.output
    assert consultation.person is not None and consultation.person.name not in refused.output
    assert not store.exists()
    # Free text bound for a personal field (a referral's note, a decline's reason) likewise.
    for command, field in ((f.referral(uuid4()), "note"), (f.discovery(), "note")):
        noted = runner.invoke(cli, ["command", _line(command)])
        assert noted.exit_code == 2, noted.output
        assert noted.output.startswith(f"Error: {field}: a person's details"), noted.output
        assert f.SYNTHETIC_NOTE not in noted.output
    assert not store.exists()
    plain = runner.invoke(cli, ["command", _line(f.open_case())])
    assert "refused as an argument" not in plain.output
    unnoted = runner.invoke(cli, ["command", _line(f.discovery(note=None))])
    assert "refused as an argument" not in unnoted.output


def test_a_folder_given_as_the_file_is_said_to_be_a_folder(store: Path) -> None:
    folder = store.parent
    result = runner.invoke(cli, ["submit", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {str(folder)!r} is a folder, not a file"


@pytest.mark.parametrize("encoding", ["rot13", "base64", "utf-16", "utf-32", "idna"])
def test_an_encoding_a_file_of_lines_cannot_be_read_in_is_invalid_input(
    store: Path, tmp_path: Path, encoding: str
) -> None:
    # rot13 and base64 are codecs of bytes, no text; UTF-16 and UTF-32 write a newline as
    # other bytes than b"\n": the file, cut into lines there, would be read as garbage.
    file = tmp_path / "commands.jsonl"
    file.write_text(_line(f.discovery()) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["submit", "--encoding", encoding, str(file)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "utf-8 or cp932" in lines[0]
    assert "Traceback" not in result.output


def test_a_pipe_is_read_a_device_is_refused_and_a_read_error_is_one_line(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub submit <(…)` names a pipe: it was "no such file"; a device (/dev/zero, read
    without end) is invalid input, and a file the system will not read (no permission, a
    disk's error) one line, not a traceback."""
    import os
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)

    def feed() -> None:
        pipe.write_text(_line(f.discovery()) + "\n", encoding="utf-8")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = runner.invoke(cli, ["submit", str(pipe)])
    writer.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert "1 written" in result.stdout

    device = runner.invoke(cli, ["submit", os.devnull])
    assert device.exit_code == 2, device.output
    assert device.stderr.strip() == f"Error: {os.devnull!r} is a device, not a file"

    file = tmp_path / "commands.jsonl"
    file.write_text(_line(f.discovery()) + "\n", encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    unreadable = runner.invoke(cli, ["submit", str(file)])
    assert unreadable.exit_code == 2, unreadable.output
    assert unreadable.stderr.strip() == f"Error: cannot read {file}: Permission denied"


def test_a_store_lost_mid_file_says_how_far_the_run_got_and_a_second_run_ends_it(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first group is written, the second is lost to an outage: the one line says where
    the run stopped and what to do (exit 4, a service away); submitting the same file again
    applies the rest and counts the first group as already applied."""
    from hub.application import GROUP_SIZE, HubApplication
    from hub.errors import StoreUnavailableError

    total = GROUP_SIZE + 10
    file = tmp_path / "commands.jsonl"
    file.write_text("\n".join(_line(f.discovery()) for _ in range(total)) + "\n")
    original = HubApplication.execute_many
    groups = 0

    def lost_on_the_second_group(self: HubApplication, *args: object, **kw: object) -> object:
        nonlocal groups
        groups += 1
        if groups == 2:
            raise StoreUnavailableError("the event store is unavailable (試験)")
        return original(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(HubApplication, "execute_many", lost_on_the_second_group)
    stopped = runner.invoke(cli, ["submit", str(file)])
    assert stopped.exit_code == 4, stopped.output
    (said,) = stopped.output.strip().splitlines()
    assert f"stopped at line {GROUP_SIZE + 1}: {GROUP_SIZE} lines before it written" in said
    assert "submit the file again" in said

    monkeypatch.setattr(HubApplication, "execute_many", original)
    again = runner.invoke(cli, ["submit", str(file)])
    assert again.exit_code == 0, again.output
    assert f"{total} lines: 10 written" in again.output
    assert f"{GROUP_SIZE} already applied" in again.output


def test_a_store_lost_after_a_refusal_in_a_group_counts_the_lines_written_before_it(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused line writes the lines before it in its group, then runs alone; the store
    lost after that stops the run at the first line not written, not at the group's first
    line with the lines written before the refusal said to be unwritten."""
    from eventsourcing.persistence import OperationalError

    from hub.application import HubApplication

    lines = [f.discovery(), f.referral(UUID(int=9)), f.discovery()]  # the 2nd: no such case
    file = tmp_path / "commands.jsonl"
    file.write_text("\n".join(_line(command) for command in lines) + "\n")
    original = HubApplication._write
    writes = 0

    def lost_on_the_second_write(self: HubApplication, events: list[Any]) -> None:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise OperationalError("the store went away (試験)")
        original(self, events)

    monkeypatch.setattr(HubApplication, "_write", lost_on_the_second_write)
    stopped = runner.invoke(cli, ["submit", str(file)])
    assert stopped.exit_code == 4, stopped.output
    (said,) = stopped.output.strip().splitlines()
    assert "stopped at line 3: 1 lines before it written, 0 already applied, 1 rejected" in said


def test_a_key_given_twice_in_one_command_is_refused_naming_it(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """json.loads kept the last: in production a person's name given first and null after
    passed the check for details on the command line (and sat in `ps` all the same), and a
    command read by one eye as of tobata was written as of moji."""
    monkeypatch.setenv("HUB_MODE", "production")
    get_settings.cache_clear()
    line = _line(f.discovery(note=None))
    hidden = line[:-1] + ', "person": {"name": "試験 花子"}, "person": null}'
    refused = runner.invoke(cli, ["command", hidden])
    assert refused.exit_code == 2, refused.output
    assert refused.output.startswith("Error: person: given more than once"), refused.output
    assert "花子" not in refused.output
    assert not store.exists()
    piped = runner.invoke(cli, ["command", "-"], input=line[:-1] + ', "ward": "moji"}\n')
    assert piped.exit_code == 2, piped.output
    assert piped.output.startswith("Error: ward: given more than once"), piped.output
    assert not store.exists()


def test_a_line_giving_a_key_twice_is_refused_by_name_and_the_file_goes_on(
    store: Path, tmp_path: Path
) -> None:
    """`hub submit` kept the last of a key given twice, where `hub command` and the API
    refuse it: a line read by one eye as of tobata was written as of moji."""
    twice = _line(f.discovery(ward="tobata"))[:-1] + ', "ward": "moji"}'
    nested = _line(f.consultation(person=f.person(name="試験 花子")))
    nested = nested.replace('"name":"試験 花子"', '"name":"試験 花子","name":"架空 太郎"')
    assert nested.count('"name"') == 2
    file = tmp_path / "commands.jsonl"
    file.write_text("\n".join([twice, _line(f.discovery()), nested]) + "\n", encoding="utf-8")

    result = runner.invoke(cli, ["submit", str(file)])

    assert result.exit_code == 1, result.output
    assert "3 lines: 1 written (1 events), 0 already applied, 2 rejected" in result.stdout
    assert result.stderr.splitlines() == [
        "line 1: ward: given more than once (give each key once)",
        "line 3: name: given more than once (give each key once)",
    ]
    assert "太郎" not in result.output and "花子" not in result.output
