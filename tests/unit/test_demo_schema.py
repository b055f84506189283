"""`hub demo --store postgres` drops and creates its schema: with HUB_POSTGRES_SCHEMA set
(a user's own stores on a shared database) it is that user's, not the one fixed schema
`demo` every user of the database shared and dropped under one another's running demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import Settings
from ops.demo import pipeline
from ops.demo.pipeline import DemoOptions, demo_schema, demo_settings


@pytest.mark.parametrize(
    ("configured", "expected"),
    [("", "demo"), ("integwalk_x", "integwalk_x_demo"), ("a" * 63, "a" * 58 + "_demo")],
)
def test_the_demo_schema_follows_the_users_schema(configured: str, expected: str) -> None:
    assert demo_schema(configured) == expected
    Settings(mode="development", postgres_schema=expected)  # a schema name the hub accepts


def test_a_postgres_demo_never_drops_another_users_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mine = Settings(mode="development", postgres_schema="integwalk_x")
    monkeypatch.setattr(pipeline, "get_settings", lambda: mine)
    options = DemoOptions(store="postgres", home=tmp_path / "demo")

    schema = demo_settings(options, "run1").postgres_schema

    assert schema == "integwalk_x_demo"
    assert schema != mine.postgres_schema  # the demo wipes it: never the user's own store
