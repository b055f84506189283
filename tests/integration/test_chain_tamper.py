"""Tamper evidence: each kind of edit made directly in the database is found, at its link.

One body for both stores; the edits are plain SQL on the library's own events table, as an
intruder with database access would make them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.errors import ChainBrokenError, ConcurrentChangeError
from hub.settings import get_settings
from ops.cli.main import app as cli
from producers.provision import provision
from projections.audit.tamper import verify_log
from tests import factories as f
from tests.integration.streams import IMPORTED


class TamperContract:
    """Subclasses give ``env`` (a fresh store) and ``sql`` (runs statements on it)."""

    events_table: str
    id_column: str

    def sql(self, env: dict[str, str], *statements: tuple[str, tuple[Any, ...]]) -> None:
        raise NotImplementedError

    @pytest.fixture
    def app(self, env: dict[str, str]) -> Iterator[HubApplication]:
        application = HubApplication(env=env)
        case_id = application.execute(f.consultation()).aggregate_ids[0]
        application.execute(f.consent(case_id))
        application.execute(f.referral(case_id))
        yield application
        application.close()

    def test_an_untouched_log_verifies(self, app: HubApplication) -> None:
        verdict = verify_log(app.recorder)  # type: ignore[arg-type]
        assert verdict.intact
        assert verdict.events == verdict.links == app.recorder.max_notification_id()

    def test_an_edited_event_is_the_first_broken_link(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        state = app.recorder.select_notifications(3, 1)[0].state
        forged = state.replace(b'"', b"'", 1)
        self.sql(
            env,
            (f"UPDATE {self.events_table} SET state = %s WHERE {self.id_column} = 3", (forged,)),
        )
        first = verify_log(app.recorder).first  # type: ignore[arg-type]
        assert first is not None and (first.kind, first.notification_id) == ("edited", 3)

    def test_a_deleted_event_is_the_first_broken_link(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        self.sql(env, (f"DELETE FROM {self.events_table} WHERE {self.id_column} = 4", ()))
        verdict = verify_log(app.recorder)  # type: ignore[arg-type]
        assert verdict.first is not None
        assert (verdict.first.kind, verdict.first.notification_id) == ("deleted", 4)
        assert len(verdict.findings) == 1

    def test_an_inserted_event_is_the_first_broken_link(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        last = app.recorder.max_notification_id() or 0
        original = app.recorder.select_notifications(2, 1)[0]
        self.insert_copy(env, original.topic, original.state)
        first = verify_log(app.recorder).first  # type: ignore[arg-type]
        assert first is not None and (first.kind, first.notification_id) == ("inserted", last + 1)

    def test_a_malformed_row_far_ahead_is_reported_not_fatal(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        self.insert_far_ahead(env, 10**9)
        verdict = verify_log(app.recorder)  # type: ignore[arg-type]
        assert [(x.kind, x.notification_id) for x in verdict.findings] == [("inserted", 10**9)]

    def test_reordered_events_are_the_first_broken_link(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        table, column = self.events_table, self.id_column
        self.sql(
            env,
            (f"UPDATE {table} SET {column} = -1 WHERE {column} = 5", ()),
            (f"UPDATE {table} SET {column} = 5 WHERE {column} = 6", ()),
            (f"UPDATE {table} SET {column} = 6 WHERE {column} = -1", ()),
        )
        verdict = verify_log(app.recorder)  # type: ignore[arg-type]
        assert [(x.kind, x.notification_id) for x in verdict.findings] == [
            ("reordered", 5),
            ("reordered", 6),
        ]

    def test_an_edited_link_breaks_the_chain(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        self.sql(
            env,
            (
                f"UPDATE {self.chain_table} SET state_sha256 = %s WHERE notification_id = 2",
                ("0" * 64,),
            ),
        )
        kinds = {(x.kind, x.notification_id) for x in verify_log(app.recorder).findings}  # type: ignore[arg-type]
        assert ("chain_broken", 2) in kinds

    def test_a_chain_head_ahead_of_the_log_refuses_the_next_write(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        last = app.recorder.max_notification_id() or 0
        self.sql(
            env,
            (
                f"INSERT INTO {self.chain_table} VALUES (%s, 'x', 1, 'x', %s, %s)",
                (last + 5, "0" * 64, "0" * 64),
            ),
        )
        with pytest.raises(ConcurrentChangeError):
            app.execute(f.consultation())
        assert app.recorder.max_notification_id() == last  # nothing written

    def test_seal_adopts_a_log_written_before_the_chain(self, env: dict[str, str]) -> None:
        plain = {k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"}
        before = HubApplication(env=plain)
        case_id = before.execute(f.consultation()).aggregate_ids[0]
        before.close()
        app = HubApplication(env=env)
        try:
            assert {x.kind for x in verify_log(app.recorder).findings} == {"inserted"}  # type: ignore[arg-type]
            assert app.recorder.seal() == IMPORTED + 3  # type: ignore[attr-defined]
            app.execute(f.consent(case_id))
            verdict = verify_log(app.recorder)  # type: ignore[arg-type]
            assert verdict.intact and verdict.links == IMPORTED + 5
        finally:
            app.close()

    def test_a_row_taken_out_of_the_case_index_is_found_and_put_back(
        self, env: dict[str, str]
    ) -> None:
        """The index is beside the chain, not in it: verify-log recomputes it, so a case
        hidden from its own replay (a meeting that took it up) is named."""
        app = HubApplication(env=env)
        try:
            first = app.execute(f.consultation()).aggregate_ids[0]
            second = app.execute(f.consultation()).aggregate_ids[0]
            app.execute(f.meeting([first, second]))
            recorder: Any = app.recorder
            last = recorder.max_notification_id()
            held = max(
                n for n, cases in recorder.select_refs(1, last).items() if str(second) in cases
            )
            self.sql(
                env,
                (
                    f"DELETE FROM {self.events_table}_refs WHERE notification_id = %s "
                    "AND case_id = %s",
                    (held, str(second)),
                ),
            )
            verdict = verify_log(recorder)
            assert [(x.kind, x.notification_id) for x in verdict.findings] == [("unindexed", held)]
            assert str(second) in verdict.findings[0].detail
            assert recorder.index_references(again=True) == last
            assert verify_log(recorder).intact
        finally:
            app.close()

    def test_concurrent_writers_keep_the_chain_whole(self, env: dict[str, str]) -> None:
        apps = [HubApplication(env=env) for _ in range(4)]
        errors: list[BaseException] = []

        def write(app: HubApplication) -> None:
            try:
                for _ in range(10):
                    app.execute(f.discovery())
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=write, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert errors == []
            verdict = verify_log(apps[0].recorder)  # type: ignore[arg-type]
            assert verdict.intact and verdict.links == IMPORTED + 80
            recorder: Any = apps[0].recorder
            assert recorder.indexed_upto() == recorder.max_notification_id()  # the index's too
        finally:
            for app in apps:
                app.close()

    chain_table: str

    def insert_copy(self, env: dict[str, str], topic: str, state: bytes) -> None:
        raise NotImplementedError

    def insert_far_ahead(self, env: dict[str, str], notification_id: int) -> None:
        raise NotImplementedError


class TestTamperingOnSQLite(TamperContract):
    events_table = "stored_events"
    chain_table = "stored_events_chain"
    id_column = "rowid"

    @pytest.fixture
    def env(self, sqlite_env: dict[str, str]) -> dict[str, str]:
        return sqlite_env

    def sql(self, env: dict[str, str], *statements: tuple[str, tuple[Any, ...]]) -> None:
        with sqlite3.connect(env["SQLITE_DBNAME"]) as conn:
            for statement, params in statements:
                conn.execute(statement.replace("%s", "?"), params)

    def insert_copy(self, env: dict[str, str], topic: str, state: bytes) -> None:
        self.sql(
            env,
            (
                "INSERT INTO stored_events VALUES (%s, %s, %s, %s)",
                ("0" * 32, 1, topic, state),
            ),
        )

    def insert_far_ahead(self, env: dict[str, str], notification_id: int) -> None:
        self.sql(
            env,
            (
                "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
                "state) VALUES (%s, 'not-a-uuid', 1, 'forged', X'00')",
                (notification_id,),
            ),
        )

    @pytest.mark.parametrize(
        "edit",
        [
            "state = replace(state, X'22', X'27')",  # SQLite's replace gives text
            "state = state || X'ff'",  # text that is no UTF-8
            "originator_version = 'x'",
        ],
    )
    def test_an_edit_that_changes_a_columns_type_is_named_not_fatal(
        self, app: HubApplication, env: dict[str, str], edit: str
    ) -> None:
        """An edit made with the sqlite3 shell (``replace``, ``||``) stores text where the
        library wrote a blob: verify-log failed reading it (TypeError, or sqlite3's own
        error on text that is no UTF-8) instead of naming the edited event."""
        self.sql(env, (f"UPDATE stored_events SET {edit} WHERE rowid = 3", ()))
        first = verify_log(app.recorder).first  # type: ignore[arg-type]
        assert first is not None and (first.kind, first.notification_id) == ("edited", 3)

    @pytest.mark.parametrize("edit", ["originator_version = 'x'", "notification_id = 'x'"])
    def test_a_link_edited_to_text_is_named_not_fatal(
        self, app: HubApplication, env: dict[str, str], edit: str
    ) -> None:
        """Text in an integer column of the chain table failed verify-log (ValueError)."""
        self.sql(env, (f"UPDATE stored_events_chain SET {edit} WHERE notification_id = 3", ()))
        first = verify_log(app.recorder).first  # type: ignore[arg-type]
        assert first is not None and first.notification_id == 3

    def test_a_write_after_a_head_edited_to_text_names_the_chain_not_a_concurrent_change(
        self, app: HubApplication, env: dict[str, str]
    ) -> None:
        """The write was refused as "changed by someone else at the same time", which says
        to reload and try again, and names nothing to look at."""
        self.sql(
            env,
            (
                "UPDATE stored_events_chain SET originator_version = 'x' WHERE notification_id "
                "= (SELECT MAX(notification_id) FROM stored_events_chain)",
                (),
            ),
        )
        with pytest.raises(ChainBrokenError, match="hub audit verify-log"):
            app.execute(f.consultation())


@pytest.mark.integration
class TestTamperingOnPostgres(TamperContract):
    id_column = "notification_id"

    @pytest.fixture
    def env(self, pg_env: dict[str, str]) -> dict[str, str]:
        schema = pg_env["POSTGRES_SCHEMA"]
        self.events_table = f'"{schema}".hub_events'
        self.chain_table = f'"{schema}".hub_events_chain'
        return pg_env

    def sql(self, env: dict[str, str], *statements: tuple[str, tuple[Any, ...]]) -> None:
        import psycopg

        with psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
        ) as conn:
            for statement, params in statements:
                conn.execute(statement, params)  # type: ignore[arg-type]

    def insert_copy(self, env: dict[str, str], topic: str, state: bytes) -> None:
        self.sql(
            env,
            (
                f"INSERT INTO {self.events_table} (originator_id, originator_version, topic, state)"
                " VALUES (%s, %s, %s, %s)",
                ("00000000-0000-0000-0000-000000000000", 1, topic, state),
            ),
        )

    def insert_far_ahead(self, env: dict[str, str], notification_id: int) -> None:
        self.sql(
            env,
            (
                f"INSERT INTO {self.events_table} (originator_id, originator_version, topic, "
                "state, notification_id) VALUES (%s, 1, 'forged', '\\x00', %s)",
                ("00000000-0000-0000-0000-000000000001", notification_id),
            ),
        )


class TestVerifyLogCommand:
    """``hub audit verify-log`` on the SQLite store the settings name."""

    @pytest.fixture
    def store(
        self,
        sqlite_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
        kafka_broker: object,
    ) -> Iterator[HubApplication]:
        monkeypatch.setenv("HUB_STORE", "sqlite")
        monkeypatch.setenv("HUB_SQLITE_PATH", sqlite_env["SQLITE_DBNAME"])
        get_settings.cache_clear()
        # verify-log reads the broker's witness as the tenant's auditor, who exists once the
        # tenant is provisioned (as after any relay's first start), not on a fresh broker.
        provision(get_settings(), [])
        app = HubApplication(env=sqlite_env)
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.consent(case_id))
        yield app
        app.close()
        get_settings.cache_clear()

    def run(self, *args: str) -> Any:
        return CliRunner().invoke(cli, ["audit", "verify-log", *args])

    def test_it_names_the_first_broken_link_and_exits_1(
        self, store: HubApplication, sqlite_env: dict[str, str]
    ) -> None:
        assert self.run().exit_code == 0
        with sqlite3.connect(sqlite_env["SQLITE_DBNAME"]) as conn:
            conn.execute(f"UPDATE stored_events SET state = X'00' WHERE rowid = {IMPORTED + 3}")
        result = self.run()
        assert result.exit_code == 1
        assert f"BROKEN at notification {IMPORTED + 3} (edited)" in result.output
        replay = CliRunner().invoke(cli, ["audit", "replay", "--as-of", "2025-05-01"])
        assert replay.exit_code == 1
        assert f"the event at position {IMPORTED + 3} cannot be read" in replay.output

    def test_it_names_a_tampered_network_event_too(
        self, store: HubApplication, sqlite_env: dict[str, str]
    ) -> None:
        with sqlite3.connect(sqlite_env["SQLITE_DBNAME"]) as conn:
            conn.execute("UPDATE stored_events SET state = X'00' WHERE rowid = 3")
        result = self.run()
        assert result.exit_code == 1
        assert "BROKEN at notification 3 (edited)" in result.output

    def test_an_anchor_catches_a_tail_rewritten_with_its_links(
        self, store: HubApplication, sqlite_env: dict[str, str]
    ) -> None:
        clean = self.run()
        head = clean.output.rsplit("head ", 1)[1].strip()
        last = int(head.split(":")[0])
        with sqlite3.connect(sqlite_env["SQLITE_DBNAME"]) as conn:
            conn.execute("DELETE FROM stored_events WHERE rowid = ?", (last,))
            conn.execute("DELETE FROM stored_events_chain WHERE notification_id = ?", (last,))
        assert self.run().exit_code == 0  # consistent on its own
        result = self.run("--anchor", head)
        assert result.exit_code == 1
        assert "anchor_mismatch" in result.output
