"""``HUB_POSTGRES_SCHEMA`` naming a schema the database does not have yet: the hub makes it,
as an agency's PostgreSQL inbox does, instead of calling the store unavailable."""

from __future__ import annotations

import psycopg
import pytest

from hub.settings import Settings
from ops.services import postgres
from ops.wiring import open_application
from tests.conftest import unique

pytestmark = pytest.mark.integration


def test_a_new_schema_is_created_on_first_use(
    postgres_service: postgres.PostgresStatus, settings: Settings
) -> None:
    schema = unique("fresh").replace("-", "_")
    fresh = settings.model_copy(update={"store": "postgres", "postgres_schema": schema})
    connect = {**settings.postgres_connection(), "autocommit": True}
    try:
        app = open_application(fresh)
        try:
            assert app.network.wards  # the shipped network imported into the new schema
        finally:
            app.close()
        with psycopg.connect(**connect) as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            assert found.fetchone() is not None
    finally:
        with psycopg.connect(**connect) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
