"""SASL_SSL against a real broker: `hub services up kafka` with HUB_KAFKA_SECURITY_PROTOCOL=SASL_SSL
starts a broker of its own (free ports, its own var dir) whose client listener speaks TLS with
a certificate of its own CA. Both client libraries reach it through the hub's settings; a
client in clear, or one that trusts another CA, is not let in."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import TopicPartition

from hub import kafka_clients
from hub.errors import ServiceUnavailableError
from hub.settings import Settings
from ops.services import kafka, tls
from tests.ports import free_ports, run_hub


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Settings]]:
    var = tmp_path_factory.mktemp("tls") / "var"
    client, controller = free_ports(2)
    env = {
        **os.environ,
        "HUB_MODE": "development",
        "HUB_VAR_DIR": str(var),
        "HUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{client}",
        "HUB_KAFKA_CONTROLLER_PORT": str(controller),
        "HUB_KAFKA_TOPIC_PREFIX": "",
        "HUB_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    }
    env.pop("HUB_KAFKA_SSL_CAFILE", None)
    ca = tls.ca_file(var.resolve() / "kafka")
    # Without the CA named, nothing starts, and the line says which file to trust.
    refused = run_hub(env, "services", "up", "kafka")
    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1 and f"HUB_KAFKA_SSL_CAFILE={ca}" in refused.stderr
    env["HUB_KAFKA_SSL_CAFILE"] = str(ca)
    started = run_hub(env, "services", "up", "kafka")
    assert started.returncode == 0, started.stdout + started.stderr
    settings = Settings(
        mode="development",
        var_dir=var,
        kafka_bootstrap=f"127.0.0.1:{client}",
        kafka_controller_port=controller,
        kafka_topic_prefix="",
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_cafile=ca,
    )
    try:
        yield env, settings
    finally:
        stopped = run_hub(env, "services", "down", "kafka")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def test_the_listener_speaks_tls_with_a_certificate_for_its_address(
    broker: tuple[dict[str, str], Settings],
) -> None:
    _, settings = broker
    host, port = settings.kafka_bootstrap.split(":")
    context = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile))
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as wrapped,
    ):
        assert wrapped.version() in ("TLSv1.2", "TLSv1.3")
    folder = tls.folder(settings.var_dir.resolve() / "kafka")
    assert oct((folder / tls.KEY_FILE).stat().st_mode & 0o777) == "0o600"
    assert "PRIVATE KEY" not in (folder / tls.CA_FILE).read_text()  # the CA's key is not kept


def test_both_client_libraries_round_trip_a_record_over_tls(
    broker: tuple[dict[str, str], Settings],
) -> None:
    env, settings = broker
    smoke = run_hub(env, "smoke")  # kafka-python: create, produce, consume
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "produced and consumed" in smoke.stdout
    producer = kafka_clients.fast_producer(settings, settings.kafka_user, client_id="tls-test")
    try:
        producer.send("ops.smoke", b"librdkafka over TLS")
        producer.flush(30)
    finally:
        producer.close()
    consumer = kafka_clients.consumer(
        settings, client_id="tls-test", enable_auto_commit=False, consumer_timeout_ms=15000
    )
    try:
        partition = TopicPartition("ops.smoke", 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values = [record.value for record in consumer]
    finally:
        consumer.close()
    assert b"librdkafka over TLS" in values


def test_a_client_in_clear_or_trusting_another_ca_is_not_let_in(
    broker: tuple[dict[str, str], Settings], tmp_path: Path
) -> None:
    _, settings = broker
    clear = settings.model_copy(update={"kafka_security_protocol": "SASL_PLAINTEXT"})
    with pytest.raises(Exception):  # noqa: B017 (kafka-python's own errors, or ours)
        kafka.probe(clear, timeout_s=5)
    other = tls.broker_tls(tmp_path / "other", "127.0.0.1")  # another CA, same names
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(other.ca)
    stranger = settings.model_copy(update={"kafka_ssl_cafile": other_ca})
    with pytest.raises(Exception):  # noqa: B017
        kafka.probe(stranger, timeout_s=5)
    with pytest.raises(ServiceUnavailableError):
        kafka_clients.fast_producer(stranger, settings.kafka_user, client_id="tls-stranger")
    kafka.probe(settings, timeout_s=10)  # the right CA still gets in
