"""The chain's head, witnessed on audit.consent, catches what the store alone cannot.

Someone who can write the database can cut the log's tail (events and links together) or
rewrite an event and recompute the chain from there (``seal``): the store then verifies on
its own. The relay published the head with every batch on audit.consent, outside the
database, acknowledged before the batch's records; ``hub audit verify-log`` checks the
store against the newest one by default and names a cut tail ``truncated`` and a
rewritten past ``rewritten``. Real broker, both stores.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from consumers.audit import read_witnessed_head
from hub import topics
from hub.application import HubApplication
from hub.errors import ConfigurationError, RelayStoreBehindError
from hub.settings import Settings, get_settings
from ops.cli.audit import chain_verdict, witnessed_head
from ops.cli.main import app as cli
from projections.audit.tamper import verify_log
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, read_topic, store_settings

pytestmark = pytest.mark.integration

AGENCY = "moji.houkatsu"
BATCH = 4


@dataclass
class Relayed:
    settings: Settings
    app: HubApplication
    end: int

    def sql(self, statement: str, *params: Any) -> None:
        """Plain SQL on the store, as an intruder with database access writes it."""
        if self.settings.store == "sqlite":
            with sqlite3.connect(self.settings.sqlite_file) as conn:
                conn.execute(statement.replace("%s", "?"), params)
            return
        with psycopg.connect(**self.settings.postgres_connection()) as pg:
            pg.execute(statement, params)  # type: ignore[arg-type]

    @property
    def events(self) -> str:
        if self.settings.store == "sqlite":
            return "stored_events"
        return f'"{self.settings.postgres_schema}".hub_events'

    @property
    def id_column(self) -> str:
        return "rowid" if self.settings.store == "sqlite" else "notification_id"

    def cut_after(self, position: int) -> None:
        self.sql(f"DELETE FROM {self.events} WHERE {self.id_column} > %s", position)
        self.sql(f"DELETE FROM {self.events}_chain WHERE notification_id > %s", position)

    def rewrite(self, position: int) -> None:
        """Edits one event and recomputes the chain from it: consistent on its own."""
        state = self.app.recorder.select_notifications(position, 1)[0].state
        forged = state.replace(b'"', b"'", 1)
        self.sql(
            f"UPDATE {self.events} SET state = %s WHERE {self.id_column} = %s", forged, position
        )
        self.sql(f"DELETE FROM {self.events}_chain WHERE notification_id >= %s", position)
        self.app.recorder.seal()  # type: ignore[attr-defined]

    def alone(self) -> Any:
        return verify_log(self.app.recorder)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def relayed(
    request: pytest.FixtureRequest, kafka_broker: object, tmp_path: Path
) -> Iterator[Relayed]:
    env = request.getfixturevalue("sqlite_env" if request.param == "sqlite" else "pg_env")
    settings = store_settings(request.param, env, tmp_path)
    app = HubApplication(env=settings.eventsourcing_env())
    for _ in range(3):
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.referral(case_id, AGENCY))
    provisioned(settings, [AGENCY])
    relay = new_relay(settings, app, batch_size=BATCH)
    try:
        relay.drain()
    finally:
        relay.producer.close()
    del relay  # its ledger's connections: a test restores the store's file
    yield Relayed(settings, app, app.recorder.max_notification_id() or 0)
    app.close()


@pytest.fixture
def hub_cli(relayed: Relayed, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ``hub`` command on the relayed store and its topics."""
    s = relayed.settings
    monkeypatch.setenv("HUB_STORE", s.store)
    monkeypatch.setenv("HUB_KAFKA_TOPIC_PREFIX", s.kafka_topic_prefix)
    if s.store == "sqlite":
        monkeypatch.setenv("HUB_SQLITE_PATH", str(s.sqlite_file))
    else:
        monkeypatch.setenv("HUB_POSTGRES_SCHEMA", s.postgres_schema)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()


@pytest.fixture
def verify_log_cli(hub_cli: Any) -> Any:
    """``hub audit verify-log`` on the relayed store and its topics."""
    return lambda *args: hub_cli("audit", "verify-log", *args)


def test_the_relay_witnesses_the_chain_head_after_every_batch(relayed: Relayed) -> None:
    heads = [
        r
        for r in read_topic(relayed.settings, topics.audit(relayed.settings))
        if r.schema == "ChainHead"
    ]
    positions = [r.record["position"] for r in heads]
    assert positions == sorted({*range(BATCH, relayed.end + 1, BATCH), relayed.end})
    links = {
        link.notification_id: link.chain_hash
        for link in relayed.app.recorder.select_links(1, relayed.end)
    }  # type: ignore[attr-defined]
    assert all(r.record["chain_hash"] == links[r.record["position"]] for r in heads)
    assert all(r.headers["event_type"] == "ChainHead" for r in heads)


def test_an_untouched_log_holds_against_its_witness(relayed: Relayed, verify_log_cli: Any) -> None:
    head = witnessed_head(relayed.settings)
    assert head is not None and head.notification_id == relayed.end
    assert chain_verdict(relayed.settings, witness=head).intact
    result = verify_log_cli()
    assert result.exit_code == 0, result.output
    assert f"witnessed head {relayed.end} holds" in result.output


def test_a_tail_cut_with_its_links_is_named_truncated(
    relayed: Relayed, verify_log_cli: Any
) -> None:
    kept = relayed.end - 3
    relayed.cut_after(kept)
    assert relayed.alone().intact  # the store alone cannot tell
    verdict = chain_verdict(relayed.settings, witness=witnessed_head(relayed.settings))
    assert [(x.kind, x.notification_id) for x in verdict.findings] == [("truncated", kept + 1)]
    result = verify_log_cli()
    assert result.exit_code == 1
    assert f"BROKEN at notification {kept + 1} (truncated)" in result.output
    assert f"witnessed it reach {relayed.end}" in " ".join(result.output.split())
    assert verify_log_cli("--no-witness").exit_code == 0


def test_a_past_rewritten_with_a_recomputed_chain_is_named_rewritten(
    relayed: Relayed, verify_log_cli: Any
) -> None:
    relayed.rewrite(2)
    assert relayed.alone().intact  # the store alone cannot tell
    verdict = chain_verdict(relayed.settings, witness=witnessed_head(relayed.settings))
    assert [(x.kind, x.notification_id) for x in verdict.findings] == [("rewritten", relayed.end)]
    result = verify_log_cli()
    assert result.exit_code == 1
    assert f"BROKEN at notification {relayed.end} (rewritten)" in result.output


def test_a_relay_on_a_log_cut_before_its_witness_refuses_to_start(relayed: Relayed) -> None:
    """A store restored from an older backup: the relay would publish its next events at
    positions the agencies already hold for others."""
    new_relay(relayed.settings, relayed.app).producer.close()  # untouched: it starts
    kept = relayed.end - 3
    relayed.cut_after(kept)
    with pytest.raises(RelayStoreBehindError) as refused:
        new_relay(relayed.settings, relayed.app)
    line = " ".join(str(refused.value).split())
    assert f"the log ends at {kept}, but the relay already published it up to {relayed.end}" in line
    assert "restore a later backup" in line.lower() and "HUB_KAFKA_TOPIC_PREFIX" in line


def test_a_relay_on_a_restored_log_written_to_since_refuses_to_start(relayed: Relayed) -> None:
    """Restored, then written past the witnessed position: as long as before, not the same."""
    relayed.cut_after(relayed.end - 3)
    while (relayed.app.recorder.max_notification_id() or 0) <= relayed.end:
        relayed.app.execute(f.consultation())
    heads_before = _heads(relayed.settings)
    with pytest.raises(RelayStoreBehindError, match=f"the log differs at {relayed.end} "):
        new_relay(relayed.settings, relayed.app)
    assert _heads(relayed.settings) == heads_before  # nothing was published


@pytest.mark.parametrize("relayed", ["sqlite"], indirect=True)  # `hub backup` is SQLite's
def test_hub_relay_refuses_a_store_restored_from_an_older_backup_in_one_line(
    relayed: Relayed, hub_cli: Any, tmp_path: Path
) -> None:
    """The README's backup and restore, done at the wrong moment: `hub relay` says so."""
    backup = tmp_path / "backup" / "hub-試験.sqlite"
    backup.parent.mkdir()
    assert hub_cli("backup", str(backup)).exit_code == 0
    for _ in range(2):
        case_id = relayed.app.execute(f.consultation()).aggregate_ids[0]
        relayed.app.execute(f.referral(case_id, AGENCY))
    assert hub_cli("relay", "--once").exit_code == 0  # the agencies get the new referrals
    relayed.app.close()
    store = relayed.settings.sqlite_file
    for name in (f"{store.name}-wal", f"{store.name}-shm"):
        (store.parent / name).unlink(missing_ok=True)
    shutil.copyfile(backup, store)
    result = hub_cli("relay", "--once")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: RelayStoreBehindError: the log ends at ")
    assert "Traceback" not in result.output
    assert "restored from an older backup" in result.stderr
    assert "(truncated)" in hub_cli("audit", "verify-log").output


def _heads(settings: Settings) -> list[int]:
    return [
        r.record["position"]
        for r in read_topic(settings, topics.audit(settings))
        if r.schema == "ChainHead"
    ]


def test_without_a_reachable_broker_verify_log_says_so_in_one_line(
    relayed: Relayed, verify_log_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", "127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    result = verify_log_cli()
    assert result.exit_code == 4  # a service is away (README, exit codes)
    assert "--no-witness" in result.stderr and "Traceback" not in result.output
    assert "refused" not in result.stderr  # nothing answered: no password was refused
    assert verify_log_cli("--no-witness").exit_code == 0


def test_a_principal_that_may_not_read_the_witness_does_not_pass_for_none(
    relayed: Relayed,
) -> None:
    """The analyst cannot read audit.consent: that is no proof that nothing was witnessed."""
    with pytest.raises(ConfigurationError, match="analyst may not read"):
        read_witnessed_head(relayed.settings, principal="analyst")


def test_verify_log_reads_the_witness_as_the_tenants_auditor_not_the_super_user(
    relayed: Relayed, verify_log_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The super user's password is wrong here: verify-log never needs it."""
    monkeypatch.setenv("HUB_KAFKA_PASSWORD", "not-the-super-users-password")
    get_settings.cache_clear()
    result = verify_log_cli()
    assert result.exit_code == 0, result.output
    assert f"witnessed head {relayed.end} holds" in result.output
    # An auditor handed its own secret (HUB_KAFKA_USER naming it) reads it the same way.
    auditor = topics.principal(relayed.settings, "auditor")
    monkeypatch.setenv("HUB_KAFKA_USER", auditor)
    monkeypatch.setenv("HUB_KAFKA_PASSWORD", relayed.settings.principal_password(auditor))
    get_settings.cache_clear()
    assert verify_log_cli().exit_code == 0


def test_verify_log_without_the_auditors_credentials_is_refused_in_one_line(
    relayed: Relayed, verify_log_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    relayed.cut_after(relayed.end - 3)  # a refusal must not pass for "nothing witnessed"
    monkeypatch.setenv("HUB_KAFKA_USER", topics.principal(relayed.settings, "auditor"))
    monkeypatch.setenv("HUB_KAFKA_PASSWORD", "not-the-auditors-password")
    get_settings.cache_clear()
    result = verify_log_cli()
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and "intact" not in result.output
    line = " ".join(result.stderr.split())
    assert "the broker refused" in line and "auditor's password" in line


class Killed(BaseException):
    """The relay's process ends here (nothing of the hub catches it)."""


def test_a_relay_killed_inside_a_batch_has_delivered_its_head_and_no_record_past_it(
    relayed: Relayed,
) -> None:
    """The head is acknowledged before the batch's records are sent: however a relay dies,
    no record is delivered past the newest witnessed head, so a backup restored inside the
    batch it was sending is refused at start, not taken for a store the agencies agree with."""
    for _ in range(2):
        case_id = relayed.app.execute(f.consultation()).aggregate_ids[0]
        relayed.app.execute(f.referral(case_id, AGENCY))
    end = relayed.app.recorder.max_notification_id() or 0

    def kill(position: int) -> None:
        raise Killed(position)

    relay = new_relay(relayed.settings, relayed.app, batch_size=end)
    relay.before_records = kill
    try:
        with pytest.raises(Killed):
            relay.drain()
    finally:
        relay.producer.close()
    assert _heads(relayed.settings)[-1] == end
    sent = [
        int(r.headers["position"])
        for topic in (topics.referrals(relayed.settings, AGENCY), topics.audit(relayed.settings))
        for r in read_topic(relayed.settings, topic)
        if r.schema != "ChainHead"
    ]
    assert sent and max(sent) <= relayed.end  # the killed batch's records: none delivered

    relayed.cut_after(relayed.end + 1)  # a backup taken while that batch was being written
    with pytest.raises(RelayStoreBehindError, match=f"already published it up to {end}"):
        new_relay(relayed.settings, relayed.app)
