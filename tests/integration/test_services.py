"""The real services, started the way `hub services up` starts them."""

from __future__ import annotations

import time

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from pydantic import SecretStr
from typer.testing import CliRunner

from hub.errors import PasswordRefusedError
from hub.kafka_config import client_config
from hub.settings import Settings
from ops.cli.main import app as cli
from ops.services import kafka, postgres
from tests.conftest import unique
from tests.ports import free_port

pytestmark = pytest.mark.integration


def test_a_second_kafka_up_is_harmless_and_fast(kafka_broker, settings):
    began = time.monotonic()
    again = kafka.up(settings)
    assert again.running and not again.started
    assert again.pid == kafka_broker.pid
    assert time.monotonic() - began < 5


def test_status_reports_the_broker_running(kafka_broker, settings):
    state = kafka.status(settings)
    assert state.running
    assert state.pid == kafka_broker.pid
    assert state.cluster_id == kafka_broker.cluster_id


def test_status_from_another_var_dir_says_something_else_serves_the_port(
    kafka_broker, settings, tmp_path
):
    # It said "stopped" while the broker it would reach served: `hub services up` from there
    # then refused with "Something else listens", contradicting it.
    elsewhere = kafka.status(settings.model_copy(update={"var_dir": tmp_path}))
    assert not elsewhere.running and elsewhere.pid is None
    assert "something else listens on the port" in elsewhere.detail
    nothing = kafka.status(
        settings.model_copy(
            update={"var_dir": tmp_path, "kafka_bootstrap": f"127.0.0.1:{free_port()}"}
        )
    )
    assert nothing.detail == "stopped"


def test_a_record_goes_through_the_real_broker_and_back(kafka_broker, settings):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    topic = unique("roundtrip")
    admin = KafkaAdminClient(**client_config(settings))
    admin.create_topics([NewTopic(topic, 1, 1)])
    try:
        producer = KafkaProducer(**client_config(settings), acks="all")
        sent = producer.send(topic, key=b"k", value=b"hello hub").get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(
            **client_config(settings), enable_auto_commit=False, consumer_timeout_ms=15000
        )
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        record = next(iter(consumer), None)
        consumer.close()
        assert record is not None, "nothing consumed within 15s"
        assert (record.key, record.value) == (b"k", b"hello hub")
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_a_read_between_two_offsets_reads_no_further(kafka_broker, settings):
    """`hub agency retry` reads the parked records' span of a topic, not the topic to its end
    (records_at); the read stops at the offset it is given, even with more records after."""
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    from hub.kafka_clients import read_to_end

    topic = unique("span")
    admin = KafkaAdminClient(**client_config(settings))
    admin.create_topics([NewTopic(topic, 1, 1)])
    try:
        producer = KafkaProducer(**client_config(settings), acks="all")
        for n in range(8):
            producer.send(topic, value=f"試験{n}".encode())
        producer.flush(timeout=30)
        producer.close()
        span = read_to_end(settings, [topic], starts={(topic, 0): 2}, stops={(topic, 0): 5})
        assert [r.offset for r in span] == [2, 3, 4]
        beyond = read_to_end(settings, [topic], starts={(topic, 0): 6}, stops={(topic, 0): 99})
        assert [r.offset for r in beyond] == [6, 7]
        assert [r.offset for r in read_to_end(settings, [topic])] == list(range(8))
    finally:
        admin.delete_topics([topic])
        admin.close()


def _failed_authentications(settings: Settings) -> int:
    log = kafka.KafkaPaths.of(settings).server_log
    return log.read_text(errors="replace").count("Failed authentication")


def test_a_wrong_password_is_refused_by_the_broker(kafka_broker, settings):
    from hub import kafka_clients
    from hub.errors import ServiceUnavailableError

    before = _failed_authentications(settings)
    # kafka-python reports a refused SCRAM login as a bootstrap timeout, not an auth error:
    # the hub's line says what the broker did.
    with pytest.raises(ServiceUnavailableError) as refused:
        kafka_clients.consumer(
            settings, settings.kafka_user, password="not-the-password", bootstrap_timeout_ms=3000
        )
    assert _failed_authentications(settings) > before
    assert (
        f"(KafkaTimeoutError): the broker refused {settings.kafka_user}'s password "
        "(a wrong or rotated one" in str(refused.value)
    )


def test_a_client_without_sasl_is_refused(kafka_broker, settings):
    from kafka.errors import KafkaError

    from hub.kafka_clients import AdminClient  # leaves no I/O thread when refused

    with pytest.raises(KafkaError):
        AdminClient(
            bootstrap_servers=settings.kafka_bootstrap,
            bootstrap_timeout_ms=3000,
            request_timeout_ms=3000,
        )


def test_an_authenticated_user_without_acls_is_denied(kafka_broker, settings):
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic, ScramMechanism, UserScramCredentialUpsertion
    from kafka.errors import TopicAuthorizationFailedError

    user, topic = unique("user"), unique("guarded")
    admin = KafkaAdminClient(**client_config(settings))
    result = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, "pw-" + user)]
    )
    assert result == {user: None}
    admin.create_topics([NewTopic(topic, 1, 1)])
    try:
        producer = KafkaProducer(
            **client_config(settings, user=user, password="pw-" + user), max_block_ms=5000
        )
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(topic, b"not allowed").get(timeout=10)
        producer.close(timeout=1)
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_a_second_postgres_up_is_harmless(postgres_service, settings):
    again = postgres.up(settings)
    assert again.running and not again.started
    assert postgres.status(settings).running


class Probe(Aggregate):
    @event("Noted")
    def __init__(self, text: str) -> None:
        self.text = text


def _saves_and_reads_back(env: dict[str, str]) -> None:
    app: Application = Application(env=env)
    try:
        probe = Probe(text="stored")
        app.save(probe)
        assert app.repository.get(probe.id).text == "stored"
    finally:
        app.close()


def test_an_application_stores_in_postgresql(pg_env):
    assert pg_env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    _saves_and_reads_back(pg_env)


def test_an_application_stores_in_sqlite(sqlite_env):
    assert sqlite_env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    _saves_and_reads_back(sqlite_env)


@pytest.fixture
def invoke():
    """Run the `hub` CLI (conftest puts back the logging set-up it changes)."""
    return lambda *args: CliRunner().invoke(cli, list(args))


def test_services_status_command_shows_both_running(kafka_broker, postgres_service, invoke):
    result = invoke("services", "status")
    assert result.exit_code == 0, result.output
    assert result.output.count("running") == 2


def test_smoke_command_round_trips_store_and_broker(kafka_broker, tmp_path, monkeypatch, invoke):
    from hub.settings import get_settings

    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = invoke("smoke")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "saved and read back" in result.output
    assert "produced and consumed" in result.output


def test_a_refused_password_is_said_as_such_and_never_set_on_the_role(
    postgres_service, settings, monkeypatch
):
    """A wrong HUB_POSTGRES_PASSWORD is not a server away: the line names the password, and
    the hint is no longer `hub services up postgres`, which outside development mode leaves
    an existing role's password as its administrator set it."""
    monkeypatch.setenv("HUB_STORE", "postgres")
    monkeypatch.setenv("HUB_POSTGRES_PASSWORD", "試験-wrong-password")
    result = CliRunner().invoke(cli, ["case", "list"])
    assert result.exit_code == 4, result.output
    assert "refused the password of role hub" in result.output
    assert "services up" not in result.output
    wrong = SecretStr("試験-a-wrong-password-0123456789")
    production = settings.model_copy(update={"mode": "production", "postgres_password": wrong})
    with pytest.raises(PasswordRefusedError):
        postgres.up(production)  # the role exists: its password is not changed
    postgres.check_login(settings)  # the right one still logs in
