"""README "Output conventions" that hold for every command: an error is one line on stderr
starting with `Error:` (never the usage text and a boxed panel), a bad option or value exits 2,
and `--json` is the same as `--format json` wherever json is a format."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hub import commands as c
from hub.application import HubApplication
from hub.labels import label
from hub.settings import get_settings
from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["case", "list", "--format", "foo"],
        ["case", "list", "--bogus"],
        ["audit", "replay"],  # --as-of is required
        ["quarantine", "list", "--step", "foo"],
        ["--bogus"],
        # a log position beyond 64 bits overflowed the store's integer with a traceback
        ["audit", "replay", "--as-of", "2025-05-01", "--upto", str(2**63)],
        ["audit", "replay", "--as-of", "2025-05-01", "--upto", "-1"],
        ["report", "indicators", "--fy", "R7", "--until", "1800-01-01"],  # no 和暦 before 明治
        ["report", "indicators", "--fy", "R7", "--until", "9999-12-31"],
        ["target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "-5"],
        ["target", "set", "--fy", "2010", "--indicator", "outreach_visits", "--value", "5"],
        # NaN was "less than or equal to 10000000"; 1e-320 was set and shown as 9.99989e-321回
        ["target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "nan"],
        ["target", "set", "--fy", "R8", "--indicator", "outreach_visits", "--value", "1e-320"],
    ],
    ids=[
        *("bad-choice", "no-such-option", "missing-option", "bad-step", "top-level-option"),
        *("position-beyond-64-bits", "negative-position"),
        *("cut-before-meiji", "cut-at-year-9999", "negative-target", "target-before-r1"),
        *("target-not-a-number", "target-finer-than-hundredths"),
    ],
)
def test_a_usage_error_is_one_line_on_stderr_and_exits_2(args: list[str]) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Usage:" not in result.stderr and "╭" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (
            ["quarantine", "list", "--step", "relai"],
            "--step: unknown value 'relai'; did you mean relay",
        ),
        (
            ["case", "list", "--format", "tabel"],
            "--format: unknown value 'tabel'; did you mean table?",
        ),
        (["report", "indicators", "--fy", "R7", "--by", "wardd"], "did you mean ward?"),
        (["audit", "replay", "--as-of", "2025-05-01", "--source", "zzz"], "; one of log, kafka"),
    ],
    ids=["step", "format", "by", "nothing-near"],
)
def test_a_mistyped_choice_is_answered_as_a_filter_is(args: list[str], told: str) -> None:
    """README: what names nothing is refused with a suggestion (`did you mean tobata?`) or,
    with nothing near, the choices themselves: for a choice of the option's own (a step, a
    format) as for a ward or an agency, not click's list of every choice quoted."""
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert told in result.stderr and "Value error" not in result.stderr, result.stderr


def test_the_help_is_still_printed_whole() -> None:
    result = runner.invoke(cli, ["case", "list", "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout and "--format" in result.stdout


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))
    if not hasattr(command, "commands"):
        yield " ".join(path), command


def test_every_commands_summary_is_one_line_of_its_source() -> None:
    """A group's help lists each command by its first paragraph with that paragraph's line
    breaks kept (Typer's rich mode): a summary over two source lines broke mid-sentence."""
    broken = []
    for path, command in _commands(typer.main.get_command(cli)):
        summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
        if "\n" in summary:
            broken.append(path)
    assert broken == []


def test_no_paragraph_of_a_commands_help_breaks_where_its_source_line_did() -> None:
    """Typer's rich mode keeps the line breaks of the paragraphs after the first: a
    paragraph wrapped at 100 columns in the source broke mid-line at 80 (hub agency retry)."""
    broken = [
        path
        for path, command in _commands(typer.main.get_command(cli))
        if any("\n" in p for p in inspect.cleandoc(command.help or "").split("\n\n"))
    ]
    assert broken == []
    shown = runner.invoke(cli, ["agency", "retry", "--help"], env={"COLUMNS": "80"}).stdout
    assert "(an\n" not in shown and "erasure notice, a new version" in shown


def test_every_command_whose_format_offers_json_takes_json_too() -> None:
    offering = []
    for path, command in _commands(typer.main.get_command(cli)):
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        formats = [p for p in command.params if "--format" in getattr(p, "opts", [])]
        choices = getattr(type(formats[0].default), "__members__", {}) if formats else {}
        if "json" in choices:
            offering.append(path)
            assert "--json" in options, f"hub {path} has --format json but no --json"
    assert {"audit replay", "audit access", "report indicators", "case list"} <= set(offering)


@pytest.mark.parametrize(
    "args",
    [
        ["network", "show", "--as-of", "9999-12-31T23:59:59-12:00"],
        ["audit", "replay", "--as-of", "0001-01-01T00:00:00+14:00"],
    ],
    ids=["network-show", "audit-replay"],
)
def test_a_time_that_cannot_be_read_in_jst_is_one_error_line(
    cli_store: Any, args: list[str]
) -> None:
    # Every output reads a time in JST: 9999-12-31 west of UTC overflowed there, a traceback.
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: not a time that can be read in JST")
    assert len(result.stderr.splitlines()) == 1


def test_the_replay_in_json_reads_times_in_jst_with_a_label_beside_each_code(
    cli_store: Any,
) -> None:
    """README: JSON outputs give times in JST (+09:00) and ``x_label`` beside a coded ``x``;
    the replay gave each instant in the zone it was recorded or asked in."""
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(
            f.consent(
                case_id,
                occurred_at=f.at(1).astimezone(UTC),
                valid_from=f.T0.astimezone(UTC),
                valid_until=f.at(365).astimezone(UTC),
            )
        )
        app.execute(f.meeting([case_id], occurred_at=f.at(2).astimezone(UTC)))
    finally:
        app.close()
    as_of = ["audit", "replay", "--as-of", f.at(3).astimezone(UTC).isoformat()]
    view = json.loads(runner.invoke(cli, [*as_of, "--json"]).output)
    assert view["as_of"] == f.at(3).isoformat()
    (consent,) = view["consents_in_force"]
    assert consent["given_at"] == f.at(1).isoformat()
    assert consent["valid_until"] == f.at(365).isoformat()
    (meeting,) = view["meeting_memberships"]
    assert meeting["held_at"] == f.at(2).isoformat()
    assert meeting["kind_label"] == label("meeting_kind", "connection")
    lines = runner.invoke(cli, [*as_of, "--format", "jsonl"]).output.splitlines()
    items = [json.loads(line) for line in lines]
    assert [i["section"] for i in items] == ["consent", "meeting"]
    assert items[1]["held_at"] == f.at(2).isoformat() and items[1]["kind_label"]


def test_an_unexpected_error_names_its_type_and_place_but_never_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not the hub's own error (a bug, a library's): the operator sees where it happened;
    the message, which may quote a stored person's name, reaches no terminal or journal."""
    import ops.cli.cases

    stored = "試験 花子"  # a value read from the store, not the code's text

    def broken() -> dict[str, Any]:
        raise ValueError(f"cannot fit the stored name {stored}")

    monkeypatch.setattr(ops.cli.cases, "commands_json_schema", broken)
    result = runner.invoke(cli, ["schema", "commands"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: unexpected ValueError")
    assert "in schema_commands" in result.stderr and "in broken" in result.stderr
    assert "試験" not in result.output + result.stderr


def test_a_pipe_closed_early_ends_the_command_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hub schema commands | head -1`: the reader has what it wanted and closed the pipe; no
    traceback, no 'unexpected' error line, and exit 1 as a broken pipe asks."""
    import ops.cli.cases

    def closed() -> dict[str, Any]:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(ops.cli.cases, "commands_json_schema", closed)
    result = runner.invoke(cli, ["schema", "commands"])
    assert result.exit_code == 1
    assert result.stderr == "" and result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["case", "list"], ["inbox", "--agency", "tobata.hogo"]],
    ids=["case-list", "inbox"],
)
def test_tables_keep_every_column_when_two_ids_share_a_long_prefix(
    args: list[str], cli_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README's example ids differ in their last character: the whole id was the shortest
    # unique prefix, and the columns beside it shrank to nothing (headers gone).
    from uuid import UUID

    from rich.cells import cell_len

    from ops.wiring import open_application

    app = open_application(get_settings())
    try:
        for last in "12":
            case_id = UUID(f"5f1c0c1e-0000-4000-8000-00000000000{last}")
            app.execute(f.open_case(case_id=case_id, ward="tobata"))
            referral_id = UUID(f"5f1c0c1e-0000-4000-8000-0000000000f{last}")
            app.execute(f.referral(case_id, "tobata.hogo", referral_id=referral_id))
    finally:
        app.close()
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert all(cell_len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    headers = {"case": ("主担当機関", "諾否待ち", "計画"), "inbox": ("目的", "緊急度", "状態")}
    for header in headers[args[0]]:
        assert header in result.stdout, result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["schema", "export", ""],
        ["backup", ""],
        ["demo", "--home", ""],
        ["report", "indicators", "--fy", "R7", "--out", ""],
        ["privacy", "leak-impact", "--inbox", ""],
    ],
    ids=["schema-export", "backup", "demo-home", "report-out", "breach-inbox"],
)
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typer made '' the current folder: `hub schema export ''` wrote the bundle there."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    name = args[-2] if args[-2].startswith("--") else "target"
    assert result.stderr.splitlines() == [
        f"Error: Invalid value for '{name}': an empty path names no file or folder"
    ]
    assert list(tmp_path.iterdir()) == []


def test_every_path_the_cli_takes_is_read_as_typed() -> None:
    """A path parameter without ``parser=a_path`` would take '' for the current folder."""
    from typing import get_args, get_type_hints

    from ops.cli._output import a_path

    unread, seen = [], 0
    for path, command in _commands(typer.main.get_command(cli)):
        hints = get_type_hints(command.callback, include_extras=True)
        for name, hint in hints.items():
            kinds, *infos = get_args(hint) or (hint,)
            if Path not in (kinds, *get_args(kinds)):
                continue
            seen += 1
            if not any(getattr(info, "parser", None) is a_path for info in infos):
                unread.append(f"hub {path} {name}")
    assert unread == [] and seen >= 10


def test_a_commands_result_is_one_line_when_piped(cli_store: Path) -> None:
    """Scripts read `hub command`'s line: piped, it wrapped at 80 columns and put the new
    id on a second line."""
    opened = f.open_case()
    record = f.build(c.RecordPersonDetails, case_id=opened.case_id, person=f.person())
    for command in (opened, record):
        result = runner.invoke(cli, ["command", command.model_dump_json()], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        (line,) = result.stdout.splitlines()
        assert line.endswith(f"({command.case_id})"), line
        assert line.startswith(f"{command.type}: 記録しました / recorded "), line
    assert len(line) > 80  # long enough to have wrapped
    again = runner.invoke(cli, ["command", record.model_dump_json()])
    assert again.stdout == (
        f"{record.type} {record.command_id}: 適用済み、記録なし / "
        "already applied, nothing written\n"
    )
