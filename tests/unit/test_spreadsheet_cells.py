"""Text that starts like a formula stays text in table ④'s CSVs and workbook (a ward's name
from the network), as in the CLI's CSVs (`test_access_log_output.py`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from projections import report


def test_table_fours_wide_csv_and_workbook_keep_a_wards_name_as_text(tmp_path: Path) -> None:
    table = report.WideTable(["事業", "評価指標", "単位", "=試験区"], [["=1+2", "@試験", "人", 3]])
    text = report.to_wide_csv(table, "試験").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][3] == "'=試験区" and rows[2][:2] == ["'=1+2", "'@試験"] and rows[2][3] == "3"

    path = tmp_path / "table4.xlsx"
    report.to_xlsx(table, [], "試験", path)
    sheet = load_workbook(path)["評価指標"]
    assert (sheet["D2"].value, sheet["D2"].data_type) == ("=試験区", "s")
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("=1+2", "s")
    assert sheet["D3"].value == 3
