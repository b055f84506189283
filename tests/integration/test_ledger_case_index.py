"""An agency's inbox reads the relay's ledger case by case (the cases it shows), through an
index on both stores: its time follows the page, not every disclosure the agency was ever
given (BENCHMARKS.md, "An agency's inbox: the ledger read by case")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ops.bench.stores import connect
from ops.wiring import open_ledger
from tests.integration.streams import store_settings

pytestmark = pytest.mark.integration

BY_CASE = (
    "SELECT position FROM {table} WHERE case_id = '{case}' AND agency_id = 'a-1' "
    "ORDER BY position, disclosure_id"
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_cases_disclosures_are_read_through_the_case_index(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = request.getfixturevalue("sqlite_env" if kind == "sqlite" else "pg_env")
    settings = store_settings(kind, env, tmp_path)
    open_ledger(settings)  # creates the tables and their indexes
    if kind == "sqlite":
        with sqlite3.connect(settings.sqlite_file) as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN " + BY_CASE.format(table="disclosures", case="c")
                )
            )
        assert "USING INDEX disclosures_case" in plan, plan
        return
    with connect(settings) as conn:
        indexes = {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = %s AND tablename = 'disclosures'",
                (settings.postgres_schema,),
            )
        }
    assert '(case_id, "position")' in indexes.get("disclosures_case", ""), indexes
