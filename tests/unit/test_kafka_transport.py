"""Which transport the hub's Kafka clients use: SCRAM over plaintext on this host's loopback,
or over TLS (HUB_KAFKA_SECURITY_PROTOCOL=SASL_SSL), kafka-python and librdkafka alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigurationError
from hub.kafka_config import client_config, rdkafka_security
from hub.settings import Settings
from ops.services.tls import _make as tls_of_broker

REAL = "試験-kafka-password-0123456789abcdef"
CLUSTER = "kafka1.city.example.invalid:9093,kafka2.city.example.invalid:9093"


def _settings(**values: object) -> Settings:
    return Settings(kafka_password=REAL, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bootstrap", ["127.0.0.1:19092", "localhost:19092", "[::1]:19092", "127.0.0.2:1,127.0.0.1:2"]
)
def test_plaintext_to_this_hosts_loopback_is_allowed_in_production(bootstrap: str) -> None:
    settings = _settings(mode="production", kafka_bootstrap=bootstrap)
    config = client_config(settings, "moji.houkatsu", REAL)
    assert config["security_protocol"] == "SASL_PLAINTEXT"
    assert rdkafka_security(settings) == {"security.protocol": "SASL_PLAINTEXT"}


def test_plaintext_off_this_host_is_refused_in_production_only() -> None:
    production = _settings(mode="production", kafka_bootstrap=CLUSTER)
    with pytest.raises(ConfigurationError, match="HUB_KAFKA_BOOTSTRAP names kafka1"):
        client_config(production, "moji.houkatsu", REAL)
    with pytest.raises(ConfigurationError, match="HUB_KAFKA_SECURITY_PROTOCOL"):
        rdkafka_security(production)
    trial = _settings(mode="development", kafka_bootstrap=CLUSTER)
    assert client_config(trial, "moji.houkatsu", REAL)["security_protocol"] == "SASL_PLAINTEXT"


def test_tls_is_asked_of_both_clients_with_the_citys_ca(tmp_path: Path) -> None:
    ca = tmp_path / "city-ca.pem"
    ca.write_text(tls_of_broker("127.0.0.1").ca)
    settings = _settings(
        mode="production",
        kafka_bootstrap=CLUSTER,
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_cafile=ca,
    )
    config = client_config(settings, "moji.houkatsu", REAL)
    assert (config["security_protocol"], config["ssl_cafile"]) == ("SASL_SSL", str(ca))
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert rdkafka_security(settings) == {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(ca),
    }
    system = _settings(kafka_bootstrap=CLUSTER, kafka_security_protocol="SASL_SSL")
    assert "ssl_cafile" not in client_config(system, "moji.houkatsu", REAL)


def test_the_local_cluster_refuses_tls_it_does_not_offer(tmp_path: Path) -> None:
    """Only the single local broker makes a TLS listener (tests/integration/test_kafka_tls.py);
    the three-broker cluster says so before it writes or starts anything."""
    from ops.services import kafka_cluster

    settings = Settings(
        mode="development", var_dir=tmp_path / "var", kafka_security_protocol="SASL_SSL"
    )
    with pytest.raises(ConfigurationError, match="single local broker"):
        kafka_cluster.up(settings, 3)
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("brokers", [1, 3])
def test_the_local_broker_is_not_started_off_this_host_in_clear_in_production(
    brokers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub services up kafka` listens where HUB_KAFKA_BOOTSTRAP points: off loopback in clear
    it formatted and started the broker, and only its readiness probe said no (after 120 s,
    leaving the broker up)."""
    from ops.services import kafka, kafka_cluster

    def started(*_: object, **__: object) -> None:
        pytest.fail("the broker was set up to listen off this host in clear")

    for step in ("fetch_jars", "write_config", "format_storage", "start_process"):
        monkeypatch.setattr(kafka, step, started)
    monkeypatch.setattr(kafka, "_require", lambda *_: None)
    settings = _settings(
        mode="production",
        var_dir=tmp_path / "var",
        kafka_bootstrap="192.0.2.10:29192",  # an address of this host's network, not loopback
        kafka_controller_port=29193,
    )
    monkeypatch.setattr(kafka, "_port_open", lambda _: False)
    monkeypatch.setattr(kafka, "_require_bindable", lambda _: None)
    with pytest.raises(ConfigurationError, match=r"HUB_KAFKA_BOOTSTRAP names 192\.0\.2\.10:29192"):
        if brokers == 1:
            kafka.up(settings)
        else:
            kafka_cluster.up(settings, brokers)
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("prefix", ["tenant", "audit.", "a..b."])
def test_a_prefix_provisioning_would_refuse_is_refused_before_any_client_logs_in(
    prefix: str,
) -> None:
    """Else the client logs in as a principal no one provisioned and waits for its timeout."""
    settings = Settings(mode="development", kafka_topic_prefix=prefix)
    with pytest.raises(ConfigurationError, match="HUB_KAFKA_TOPIC_PREFIX"):
        client_config(settings)
    with pytest.raises(ConfigurationError, match="HUB_KAFKA_TOPIC_PREFIX"):
        rdkafka_security(settings)


def test_a_ca_file_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    for missing in (tmp_path / "none.pem", tmp_path):
        settings = Settings(
            mode="development", kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=missing
        )
        with pytest.raises(ConfigurationError, match=r"HUB_KAFKA_SSL_CAFILE .* no readable file"):
            client_config(settings)
    there = tmp_path / "ca.pem"
    there.write_text(tls_of_broker("127.0.0.1").ca)
    settings = Settings(
        mode="development", kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=there
    )
    assert client_config(settings)["ssl_cafile"] == str(there)


def test_a_ca_file_with_no_certificate_is_one_line(tmp_path: Path) -> None:
    """A file that holds no certificate (a key, a truncated copy) was taken: kafka-python's
    handshakes failed until its timeout, and librdkafka's probe of the login then raised
    an exception the CLI printed as a traceback."""
    made = tls_of_broker("127.0.0.1")
    for name, text in (("garbage.pem", "試験"), ("key.pem", made.key)):
        wrong = tmp_path / name
        wrong.write_text(text)
        settings = Settings(
            mode="development", kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=wrong
        )
        for make in (client_config, rdkafka_security):
            with pytest.raises(ConfigurationError, match=r"HUB_KAFKA_SSL_CAFILE .* no CA cert"):
                make(settings)
