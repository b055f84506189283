"""What every command shares when it prints: the console, short ids, one format option,
refusing unknown filter values with a suggestion.

Tables are made for 80 columns (or ``COLUMNS``, or the terminal's width): ids shortened to
the shortest unique prefix of at least 8 characters (accepted back as input), long text
folded; ``--wide`` prints whole ids. ``--format json`` is one JSON document, ``--format
jsonl`` one object per line, ``--format csv`` UTF-8 with a BOM; ``--json`` is kept as a
synonym of ``--format json``.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hub.errors import InvalidCommandError
from hub.fiscal import TIME_FIELDS, jst_iso
from hub.labels import Names, label
from hub.prefixes import SHORT
from hub.spreadsheet import spreadsheet_text


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


FormatOpt = Annotated[
    Format,
    typer.Option("--format", help="table (for people), json, jsonl (one object a line) or csv."),
]
# Every command whose --format offers json takes this flag too (README "Output conventions").
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
WideOpt = Annotated[bool, typer.Option("--wide", help="Whole ids and unfolded columns.")]
AnyFormat = TypeVar("AnyFormat", bound=StrEnum)
T = TypeVar("T")


def chosen(fmt: AnyFormat, as_json: bool) -> AnyFormat:
    """The format a command prints: json when ``--json`` is given, else ``--format``'s (of
    whichever format enum the command has, each with a ``json`` member)."""
    return type(fmt)("json") if as_json else fmt


def console(wide: bool = False) -> Console:
    """Made per call, so that COLUMNS set by the caller is honoured; ``--wide`` lets a table
    grow past the terminal (whole ids; pipe it to ``less -S``). Cells hold what people typed
    (names, addresses, subjects): printed as written, never read as rich markup or emoji
    codes (a name with ``[/b]`` in it stopped the table with a MarkupError)."""
    width = 240 if wide else None
    return Console(width=width, markup=False, emoji=False)


def add_id_column(table: Table, header: str, wide: bool) -> None:
    """A column of (short) ids: at least 8 characters wide; an id whose shortest unique
    prefix is long (ids alike but for their last characters) folds rather than squeeze the
    other columns to nothing; ``--wide`` keeps it whole on one line."""
    table.add_column(header, overflow="fold", no_wrap=wide, min_width=SHORT)


def nearest(value: str, known: Sequence[str]) -> list[str]:
    """The known values closest to a mistyped one (at most three)."""
    return difflib.get_close_matches(value, list(known), n=3, cutoff=0.5)


FEW_CHOICES = 8


def check_choice(option: str, value: str | None, known: Sequence[str]) -> None:
    """Refuse a filter value that names nothing, with the nearest known values."""
    if value is None or value in known:
        return
    near = nearest(value, known)
    if near:
        hint = f"; did you mean {' or '.join(near)}?"
    elif len(known) <= FEW_CHOICES:  # nothing near, and few to name: name them all
        hint = f"; one of {', '.join(known)}"
    else:
        hint = ""
    raise InvalidCommandError(
        f"{option}: unknown value {value!r}{hint} (`hub ref` lists what can be named)"
    )


def emitted(
    fmt: Format, as_json: bool, records: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> bool:
    """Prints the records unless the chosen format is the table; True when it did."""
    fmt = chosen(fmt, as_json)
    if fmt is Format.table:
        return False
    emit(fmt, records, columns)
    return True


def emit(fmt: Format, records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Print records as JSON, JSON lines or CSV (``columns`` in that order)."""
    if fmt is Format.json:
        typer.echo(json.dumps(list(records), ensure_ascii=False, indent=2, default=str))
    elif fmt is Format.jsonl:
        for record in records:
            typer.echo(json.dumps(record, ensure_ascii=False, default=str))
    elif fmt is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(columns), lineterminator="\r\n", extrasaction="ignore"
        )
        writer.writeheader()
        for record in records:
            writer.writerow({k: _cell(record.get(k)) for k in columns})
        sys.stdout.buffer.write("\ufeff".encode() + buffer.getvalue().encode("utf-8"))
        sys.stdout.flush()
    else:  # pragma: no cover - callers print tables themselves
        raise ValueError(fmt)


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return spreadsheet_text(value)


# Codes → labels and UTC → JST in the records a command prints -------------------------------

# field → vocabulary of hub.labels (or "ward"/"agency" for the network's names).
FIELD_VOCABULARY: dict[str, str] = {
    "ward": "ward",
    "agency_id": "agency",
    "lead_agency": "agency",
    "escalated_to": "agency",
    "coordinator": "agency",
    "window_agency": "agency",
    "urgency": "urgency",
    "purpose": "purpose",
    "origin": "origin",
    "complexity": "complexity",
    "meeting_kind": "meeting_kind",
    "kind": "meeting_kind",
    "evaluation": "evaluation",
    "last_visit_outcome": "visit_outcome",
    "state": "consent_state",
    "basis": "basis",
    "answer": "referral_status",
    "decline_reason": "decline_reason",
    "cancel_reason": "cancel_reason",
    "outcome": "outcome",
    "event": "event_type",
    "event_type": "event_type",
    "reporter_kind": "reporter_kind",
    "channel": "channel",
    "role": "role",
}
# list field → the vocabulary of its items (or "agency" for the network's names).
LIST_VOCABULARY: dict[str, str] = {
    "needs": "need",
    "signs": "sign",
    "purposes": "purpose",
    "categories": "data_category",
    "data_categories": "data_category",
    "agencies": "agency",
    "members": "agency",
    "scope": "agency",
}


def labelled(record: Mapping[str, Any], names: Names, status: str = "") -> dict[str, Any]:
    """``record`` with ``<field>_label`` beside every coded field and times in JST (ISO with
    +09:00). ``status`` names the vocabulary of a ``status`` field (case or referral)."""
    result: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, str) and (key.endswith("_at") or key in TIME_FIELDS):
            value = jst_iso(value)
        result[key] = value
        vocabulary = status if key == "status" and status else FIELD_VOCABULARY.get(key)
        if vocabulary and (value is None or isinstance(value, str)):
            result[f"{key}_label"] = _label(vocabulary, value, names)
        if key in LIST_VOCABULARY and isinstance(value, list):
            result[f"{key}_label"] = [_label(LIST_VOCABULARY[key], v, names) for v in value]
    return result


def _label(vocabulary: str, value: str | None, names: Names) -> str | None:
    if value is None:
        return None
    if vocabulary == "ward":
        return names.ward(value)
    if vocabulary == "agency":
        return names.agency(value)
    return label(vocabulary, value)


def input_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (a folder, a device, nothing there), or None.
    A pipe is read: a shell's ``<(…)`` names one."""
    if path.is_dir():
        return f"{str(path)!r} is a folder, not a file"
    if path.is_file() or path.is_fifo():
        return None
    if path.exists():  # /dev/zero would be read without end
        return f"{str(path)!r} is a device, not a file"
    return f"no such file: {path}"


def a_path(value: str) -> Path:
    """A path argument or option as typed (``parser=a_path``): Typer would turn an empty
    one into the current folder, so ``hub schema export ''`` wrote there."""
    if not value:
        raise typer.BadParameter("an empty path names no file or folder")
    return Path(value)


def check_output(path: Path, option: str = "--out") -> None:
    """Refuses a file to write that is a folder, or whose folder does not exist: before
    anything is read or recorded (a read of a person's details is logged)."""
    if path.is_dir():
        raise InvalidCommandError(f"{option} {str(path)!r} is a folder, not a file")
    if not path.parent.is_dir():
        raise InvalidCommandError(f"{option}: folder {str(path.parent)!r} does not exist")


def check_folder(path: Path, what: str) -> None:
    """Refuses a folder to write into that is a file."""
    if path.exists() and not path.is_dir():
        raise InvalidCommandError(f"{what} {str(path)!r} is a file, not a folder")


def written(path: Path, write: Callable[[], T]) -> T:
    """``write()``, an OS's refusal (no such folder, no permission, a full disk) said as
    one line naming ``path``."""
    try:
        return write()
    except OSError as error:
        raise InvalidCommandError(f"cannot write {str(path)!r}: {error.strerror}") from None
