"""Text that starts like a formula stays text in every file the city opens in a spreadsheet:
a statute an officer typed on a referral (the disclosures CSV), a ward's name from the
network (table ④'s CSVs and workbook)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from ops.cli import audit
from projections import report

FORMULA = '=HYPERLINK("http://example.invalid","試験")'


def test_the_disclosures_csv_keeps_a_typed_statute_as_text() -> None:
    row = {column: "" for column in ("disclosure_id", "position", "occurred_at", "case_id")}
    row |= {
        "agency_id": "tobata.houkatsu",
        "agency_id_label": "+試験機関",
        "basis": "statute",
        "basis_label": "法令",
        "basis_ref": FORMULA,
        "categories": ["identity"],
        "categories_label": ["本人確認"],
        "fields": ["name"],
        "confidentiality_duty": "",
        "event_id": "",
    }
    (read,) = csv.DictReader(io.StringIO(audit.to_csv([row]).lstrip("\ufeff")))
    assert read["basis_ref"] == "'" + FORMULA
    assert read["agency_id_label"] == "'+試験機関"


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
