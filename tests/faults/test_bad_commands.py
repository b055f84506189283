"""Bad commands are refused at the edge with one clear line, and nothing is written.

Every generated line starts from a well-formed command (tests/faults/templates.py) broken in
one nameable way, or is raw garbage; hypothesis runs derandomized so a failure reproduces.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from hub import commands as c
from hub.application import HubApplication
from hub.commands import COMMAND_ADAPTER
from hub.domain.network import NETWORK_ID
from hub.errors import DomainError, HubError, InvalidCommandError
from hub.intake import MAX_LINE_BYTES, parse_command_line, submit_lines
from hub.reference import load_network
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from tests import factories as f
from tests.faults.templates import COMMAND_TYPES, Template, templates

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODELS: dict[str, type[c.Command]] = {
    t["type"]: type(COMMAND_ADAPTER.validate_python(t)) for t in templates()
}
# Ids a command may leave out because the hub derives them from the command id.
DERIVED_IN_TEMPLATE = {("OpenCase", "case_id"), ("AgreePlan", "plan_id")}
CONTROL_CHARS = [chr(i) for i in [*range(0x20), *range(0x7F, 0xA0)] if chr(i) not in "\n\t"]
NETWORK = load_network()
HUGE = "(an integer of more than 4300 digits)"
KNOWN_CODES = sorted(
    {a.id for a in NETWORK.agencies} | set(NETWORK.ward_codes) | set(NETWORK.group_names)
)

runner = CliRunner()


# ------------------------------------------------------------------ generated bad lines


def dump(data: Any, *, ascii_only: bool = False) -> bytes:
    return json.dumps(data, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


a_template = st.integers(0, len(COMMAND_TYPES) - 1).map(lambda i: templates()[i])


def _string_keys(t: Template) -> list[str]:
    return [k for k, v in t.items() if isinstance(v, str) and k != "type"]


@st.composite
def garbage(draw: st.DrawFn) -> bytes:
    return draw(st.binary(min_size=1, max_size=300))


@st.composite
def not_json(draw: st.DrawFn) -> bytes:
    text = dump(draw(a_template))
    cut = draw(st.integers(0, len(text) - 1))
    return text[:cut] or draw(st.text(min_size=1).map(lambda s: ("{" + s).encode("utf-8")))


@st.composite
def oversized(draw: st.DrawFn) -> bytes:
    t = draw(a_template)
    extra = draw(st.integers(1, 4096))
    t["note"] = "架" * ((MAX_LINE_BYTES + extra) // 3 + 1)
    return dump(t)


@st.composite
def wrongly_typed(draw: st.DrawFn) -> bytes:
    t = draw(a_template)
    key = draw(st.sampled_from([k for k in t if k != "type"]))
    if isinstance(t[key], dict):
        wrong: Any = draw(st.sampled_from([[], [1], 7, "text", 1.5]))
    elif isinstance(t[key], list):
        wrong = draw(st.sampled_from([{"a": 1}, 7, "text", 1.5]))
    else:
        wrong = draw(
            st.one_of(
                st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                st.lists(st.integers(), min_size=1, max_size=2),
            )
        )
    t[key] = wrong
    return dump(t)


@st.composite
def shift_jis(draw: st.DrawFn) -> bytes:
    t = draw(
        a_template.filter(lambda t: any(ord(ch) > 127 for ch in json.dumps(t, ensure_ascii=False)))
    )
    raw = json.dumps(t, ensure_ascii=False).encode("shift_jis")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    assume(False)  # pragma: no cover - these bytes happen to be UTF-8 too
    return raw


def _insert(draw: st.DrawFn, t: Template, char: str) -> Template:
    keys = _string_keys(t)
    key = draw(st.sampled_from(keys))
    at = draw(st.integers(0, len(t[key])))
    t[key] = t[key][:at] + char + t[key][at:]
    return t


@st.composite
def lone_surrogate(draw: st.DrawFn) -> bytes:
    t = _insert(draw, draw(a_template), chr(draw(st.integers(0xD800, 0xDFFF))))
    # As a JSON escape (\udXXX, valid JSON, invalid text) or as raw bytes (invalid UTF-8).
    return dump(t, ascii_only=draw(st.booleans()))


@st.composite
def control_character(draw: st.DrawFn) -> bytes:
    t = _insert(draw, draw(a_template), draw(st.sampled_from(CONTROL_CHARS)))
    return dump(t, ascii_only=draw(st.booleans()))


def _out_of_range_cases(draw: st.DrawFn) -> Template:
    by_type = {t["type"]: t for t in templates()}
    choice = draw(st.integers(0, 13))
    if choice == 0:
        t = by_type["HoldGathering"]
        t["participants"] = draw(st.integers(max_value=-1) | st.integers(min_value=100_001))
    elif choice == 1:
        t = by_type["EscalateReferral"]
        t["overdue_minutes"] = draw(st.integers(max_value=-1))
    elif choice == 2:
        t = by_type["ReportDiscovery"]
        t["signs"] = ["mailbox_full"] * draw(st.integers(21, 40))
    elif choice == 3:
        t = by_type["ReportDiscovery"]
        t["note"] = "架" * draw(st.integers(2001, 3000))
    elif choice == 4:
        t = by_type["SuspendCase"]
        t["reason"] = "x" * draw(st.integers(201, 400))
    elif choice == 5:
        t = by_type["GiveConsent"]
        t["valid_until"] = draw(st.sampled_from([t["valid_from"], "2024-01-01T00:00:00+09:00"]))
    elif choice == 6:
        t = by_type["DeclareEmergency"]
        t["expires_at"] = draw(st.sampled_from([t["occurred_at"], "2025-04-09T09:00:00+09:00"]))
    elif choice == 7:
        t = by_type["AgreePlan"]
        t["monitoring_date"] = draw(st.sampled_from(["2025-04-30", "2025-11-01"]))
    elif choice == 8:
        t = draw(a_template)
        t["occurred_at"] = "2025-04-10T09:00:00"  # no offset: ambiguous instant
    elif choice == 9:
        t = by_type["AgreePlan"]
        t["period_from"] = draw(st.sampled_from(["2025-13-01", "2025-02-30", "0000-01-01"]))
    elif choice == 10:
        t = by_type["ReceiveConsultation"]
        t["person"]["phone"] = draw(st.sampled_from(["12345", "電話番号", "0" * 21, "+81 93 x"]))
    elif choice == 11:
        t = by_type["ReferCase"]
        t["agency_id"] = draw(st.sampled_from(["a" * 65, "Kokura", "-x", "", "北九州"]))
    elif choice == 12:
        t = by_type["SuspendCase"]
        t["reason"] = draw(st.sampled_from(["", "   ", "\n\t "]))
    else:
        t = by_type["HoldGathering"]
        t["participants"] = HUGE  # replaced by an integer beyond Python's int parsing
    return t


@st.composite
def out_of_range(draw: st.DrawFn) -> bytes:
    raw = dump(_out_of_range_cases(draw))
    return raw.replace(dump(HUGE), b"1" + b"0" * draw(st.integers(4301, 6000)))


@st.composite
def unknown_type(draw: st.DrawFn) -> bytes:
    t = draw(a_template)
    kind: object = draw(
        st.text(max_size=30).filter(lambda s: s not in COMMAND_TYPES)
        | st.sampled_from([None, 3, [], {}, "opencase", "OpenCase ", "Open\nCase", "x" * 5000])
    )
    if draw(st.booleans()):
        t["type"] = kind
    else:
        del t["type"]
    return dump(t)


@st.composite
def unknown_field(draw: st.DrawFn) -> bytes:
    t = draw(a_template)
    key = draw(
        st.text(min_size=1, max_size=20).filter(lambda k: k not in MODELS[t["type"]].model_fields)
        | st.sampled_from(["a\nb", "\r", "x\u2028y", "\x85", "k" * 5000])
    )
    t[key] = draw(st.sampled_from(["x", 1, None, {"a": 1}]))
    return dump(t)


@st.composite
def missing_field(draw: st.DrawFn) -> bytes:
    t = draw(a_template)
    fields = MODELS[t["type"]].model_fields
    required = [
        k
        for k in t
        if k != "type" and fields[k].is_required() and (t["type"], k) not in DERIVED_IN_TEMPLATE
    ]
    del t[draw(st.sampled_from(required))]
    return dump(t)


@st.composite
def deeply_nested(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(500, 30_000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    inner = opener * depth + b"1" + closer * depth
    if draw(st.booleans()):
        return inner[:MAX_LINE_BYTES]
    t = draw(a_template)
    t["person"] = "PLACEHOLDER"
    return dump(t).replace(b'"PLACEHOLDER"', inner)[:MAX_LINE_BYTES]


BAD_LINES = st.one_of(
    garbage(),
    not_json(),
    oversized(),
    wrongly_typed(),
    shift_jis(),
    lone_surrogate(),
    control_character(),
    out_of_range(),
    unknown_type(),
    unknown_field(),
    missing_field(),
    deeply_nested(),
)


# ------------------------------------------------------------------ helpers


def notifications(app: HubApplication) -> int:
    return app.recorder.max_notification_id() or 0


def written_by_commands(app: HubApplication) -> int:
    """Events in the log besides the network a new store imports when it is opened."""
    notes = app.recorder.select_notifications(start=None, limit=1_000_000)
    return sum(1 for n in notes if n.originator_id != NETWORK_ID)


def assert_one_clear_line(error: BaseException) -> None:
    message = str(error)
    assert message.strip(), f"{type(error).__name__} without a message"
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert "Traceback" not in message
    assert len(message) <= 1000, f"too long for one clear line ({len(message)} chars)"


def open_app(path: Path) -> HubApplication:
    return HubApplication(env=Settings(sqlite_path=path).eventsourcing_env("sqlite"))


# ------------------------------------------------------------------ the API


def test_every_template_is_a_valid_command() -> None:
    """The fuzz starts from valid commands, so each mutation is the only thing wrong."""
    for t in templates():
        COMMAND_ADAPTER.validate_python(t)
        parse_command_line(dump(t))


@FUZZ
@given(raw=BAD_LINES)
def test_a_bad_line_is_refused_with_one_clear_line(raw: bytes) -> None:
    with pytest.raises(InvalidCommandError) as refused:
        parse_command_line(raw)
    assert_one_clear_line(refused.value)


@FUZZ
@given(
    raw=st.one_of(
        wrongly_typed(),
        out_of_range(),
        unknown_field(),
        missing_field(),
        lone_surrogate(),
        control_character(),
        unknown_type(),
    )
)
def test_the_command_adapter_refuses_broken_objects(raw: bytes) -> None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        assume(False)  # not an object: the line parser's business, tested above
        return
    with pytest.raises(ValidationError):
        COMMAND_ADAPTER.validate_python(data)


def test_bad_lines_write_nothing_to_the_log(tmp_path: Path) -> None:
    app = open_app(tmp_path / "hub.sqlite")
    try:
        app.execute(f.consultation())
        before = notifications(app)

        @FUZZ
        @given(lines=st.lists(BAD_LINES, min_size=1, max_size=5))
        def check(lines: list[bytes]) -> None:
            report = submit_lines(app, lines)
            assert report.written == 0 and report.duplicates == 0
            for rejection in report.rejected:
                assert len(rejection.reason.splitlines()) == 1, rejection.reason
            assert notifications(app) == before

        check()
    finally:
        app.close()


a_code = st.sampled_from(KNOWN_CODES) | st.from_regex(r"[a-z0-9][a-z0-9._:-]{0,20}", fullmatch=True)
SCALAR_CODES = ("agency_id", "lead_agency", "window_agency", "ward", "reporter_agency")
LIST_CODES = ("members", "watchers", "agencies", "scope")


@st.composite
def plausible_commands(draw: st.DrawFn, case_id: UUID) -> object:
    """Well-formed commands about an existing case or unknown ones, naming any agency or ward."""
    target = draw(st.sampled_from([case_id, None]))
    t = draw(st.integers(0, len(COMMAND_TYPES) - 1).map(lambda i: templates(target)[i]))
    for key in SCALAR_CODES:
        if key in t and draw(st.booleans()):
            t[key] = draw(a_code)
    for key in LIST_CODES:
        if key in t and draw(st.booleans()):
            t[key] = draw(st.lists(a_code, min_size=1, max_size=3))
    return parse_command_line(dump(t))


def test_commands_the_domain_refuses_write_nothing(tmp_path: Path) -> None:
    """Well-formed but impossible (unknown case, agency, ward, referral...): a DomainError,
    never a crash, and a refused command leaves the log as it was."""
    app = open_app(tmp_path / "hub.sqlite")
    try:
        opened = f.consultation()
        app.execute(opened)
        case_id = c.derived_id(opened.command_id, "case_id")
        app.execute(f.referral(case_id))

        @FUZZ
        @given(command=plausible_commands(case_id))
        def check(command: Any) -> None:
            before = notifications(app)
            try:
                outcome = app.execute(command)
            except (DomainError, InvalidCommandError) as refused:
                assert_one_clear_line(refused)
                assert notifications(app) == before
            else:
                assert notifications(app) > before and not outcome.duplicate

        check()
    finally:
        app.close()


# ------------------------------------------------------------------ `hub submit` and `hub command`


@settings(FUZZ, max_examples=max(EXAMPLES // 6, 20))
@given(lines=st.lists(BAD_LINES, min_size=1, max_size=6))
def test_hub_submit_names_every_bad_line_and_writes_nothing(
    lines: list[bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    lines = [line.replace(b"\r", b" ").replace(b"\n", b" ") for line in lines]
    assume(all(line.strip() for line in lines))
    folder = tmp_path_factory.mktemp("submit")
    store = folder / "hub.sqlite"
    file = folder / "bad.jsonl"
    file.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_SQLITE_PATH", str(store))
        patch.setenv("HUB_STORE", "sqlite")
        get_settings.cache_clear()
        try:
            result = runner.invoke(cli, ["submit", str(file)])
        finally:
            get_settings.cache_clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert (
        f"{len(lines)} lines: 0 written (0 events), 0 already applied, {len(lines)} rejected"
        in (result.stdout)
    )
    for number in range(1, len(lines) + 1):
        assert f"line {number}: " in result.stderr
    app = open_app(store)
    try:
        assert written_by_commands(app) == 0
    finally:
        app.close()


@settings(FUZZ, max_examples=max(EXAMPLES // 6, 20))
@given(raw=BAD_LINES)
def test_hub_command_refuses_with_one_error_line(
    raw: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = raw.decode("utf-8", "surrogateescape")
    assume("\x00" not in text)  # an operating system cannot pass NUL in an argument
    store = tmp_path_factory.mktemp("command") / "hub.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_SQLITE_PATH", str(store))
        patch.setenv("HUB_STORE", "sqlite")
        get_settings.cache_clear()
        try:
            result = runner.invoke(cli, ["command", text])
        finally:
            get_settings.cache_clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error: "), result.stderr
    if store.exists():
        app = open_app(store)
        try:
            assert written_by_commands(app) == 0
        finally:
            app.close()


def test_hub_errors_stay_hub_errors() -> None:
    """The CLI edge turns HubError into one line; the refusals above must be HubErrors."""
    assert issubclass(InvalidCommandError, HubError) and issubclass(DomainError, HubError)
