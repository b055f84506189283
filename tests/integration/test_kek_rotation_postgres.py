"""The key-encryption key's rotation on PostgreSQL (the SQLite store and the command:
`tests/unit/test_kek_rotation.py`): the key table locked, every live key wrapped anew in
one transaction, a second rotation wrapping nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hub.application import HubApplication
from hub.errors import DataKeyUnavailableError
from hub.keys import LocalKeyWrapper, Rewrapped, SQLKeyTable
from hub.settings import Settings
from tests import factories as f

OLD = "試験の旧い鍵暗号化鍵-0123456789-abcdefghij"
NEW = "試験の新しい鍵暗号化鍵-9876543210-zyxwvutsrq"

pytestmark = pytest.mark.integration


def test_postgres_keys_move_to_the_new_kek_once(pg_env: dict[str, Any]) -> None:
    before = HubApplication(env={**pg_env, "HUB_KEK": OLD})
    try:
        case_id = before.execute(f.consultation(person=f.person())).aggregate_ids[0]
    finally:
        before.close()
    after = HubApplication(env={**pg_env, "HUB_KEK": NEW})
    try:
        assert after.rewrap_data_keys(LocalKeyWrapper(OLD.encode())) == Rewrapped(1, 0, 0)
        assert after.rewrap_data_keys(LocalKeyWrapper(OLD.encode())) == Rewrapped(0, 1, 0)
    finally:
        after.close()
    reader = HubApplication(env={**pg_env, "HUB_KEK": NEW})
    try:
        person = reader.get_case(case_id).person
        assert person is not None and person.name == f.SYNTHETIC_NAME
    finally:
        reader.close()


def test_a_key_made_while_a_rotation_runs_waits_for_it_and_is_refused(
    pg_env: dict[str, Any], settings: Settings
) -> None:
    """A writer with the previous key read the rotated-to key before the rotation wrote it,
    then waited on the rotation's lock of the key table to insert its key: once the rotation
    committed it wrote a person's key wrapped with the previous key, which no reader given
    the new key unwraps. The check waits for the rotation's lock first."""
    import psycopg

    running = HubApplication(env={**pg_env, "HUB_KEK": OLD})
    table = running.data_keys.table
    assert isinstance(table, SQLKeyTable)
    keys = table.dialect.table(table.name)
    new_id = LocalKeyWrapper(NEW.encode()).kek_id
    try:
        case_id = running.execute(f.consultation(person=f.person())).aggregate_ids[0]
        with psycopg.connect(**settings.postgres_connection()) as rotation:
            rotation.execute(f"LOCK TABLE {keys} IN EXCLUSIVE MODE")
            rotation.execute(
                table.dialect.sql(
                    f"INSERT INTO {{{table.name}_current}} (one, kek_id, rotated_at) "
                    "VALUES (1, ?, '2026-12-06T00:00:00+00:00')"
                ),
                (new_id,),
            )
            outcome: list[BaseException | None] = []

            def write() -> None:
                try:
                    running.execute(f.consultation(person=f.person()))
                    outcome.append(None)
                except BaseException as error:  # told to the test
                    outcome.append(error)

            writer = threading.Thread(target=write)
            writer.start()
            waiting = "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted"
            deadline = time.monotonic() + 30
            with psycopg.connect(**settings.postgres_connection(), autocommit=True) as watch:
                while not watch.execute(waiting, (keys,)).fetchone()[0]:  # type: ignore[index]
                    assert time.monotonic() < deadline, "the writer never waited for the lock"
                    time.sleep(0.01)
            rotation.commit()
        writer.join(30)
        assert len(outcome) == 1 and isinstance(outcome[0], DataKeyUnavailableError), outcome
        # What needs no new key is still written (the refused transaction left no harm).
        running.execute(f.referral(case_id))
    finally:
        running.close()
