"""Cells that a spreadsheet shows as the text they are.

A CSV or workbook the city opens in Excel or LibreOffice would read text that starts like a
formula (a statute someone typed, a ward's name) as one, and could run it: such text gets a
leading apostrophe in a CSV, and is stored as a string in a workbook.
"""

from __future__ import annotations

from typing import Any

# What Excel and LibreOffice read as the start of a formula (a tab or CR before one too).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as the text it is: free text someone typed (a
    reason, a subject) that starts like a formula gets a leading apostrophe, never run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
