"""One SQL text, spelled for each store by hub.sqldialect."""

from __future__ import annotations

import sqlite3

import pytest

from hub.sqldialect import Dialect

STATEMENT = "SELECT a::text FROM {cases} WHERE id = ? AND ward = :ward"


def test_sqlite_keeps_the_drivers_own_parameter_styles_and_plain_table_names() -> None:
    assert Dialect.sqlite().sql("SELECT a FROM {cases} WHERE id = ? OR w = :w") == (
        "SELECT a FROM cases WHERE id = ? OR w = :w"
    )
    assert Dialect.sqlite(prefix="inbox_").table("events") == "inbox_events"


def test_postgres_takes_psycopg_placeholders_and_schema_qualified_quoted_tables() -> None:
    dialect = Dialect.postgres('we"ird', prefix="indicators_")
    assert dialect.sql(STATEMENT) == (
        'SELECT a::text FROM "we""ird"."indicators_cases" WHERE id = %s AND ward = %(ward)s'
    )


def test_a_translated_statement_runs_on_sqlite() -> None:
    conn = sqlite3.connect(":memory:")
    dialect = Dialect.sqlite()
    conn.execute(dialect.sql("CREATE TABLE {t} (id INTEGER, ward TEXT)"))
    conn.execute(dialect.sql("INSERT INTO {t} VALUES (?, ?)"), (1, "x"))
    rows = conn.execute(dialect.sql("SELECT id FROM {t} WHERE ward = :ward"), {"ward": "x"})
    assert rows.fetchall() == [(1,)]


def test_postgres_needs_a_schema() -> None:
    with pytest.raises(ValueError):
        Dialect("postgres")
