"""docker-compose.yml must run the same broker and database as `hub services up`."""

from __future__ import annotations

from pathlib import Path

import yaml

from hub.settings import Settings
from ops.services import kafka

ROOT = Path(__file__).resolve().parents[2]


def _defaults() -> Settings:
    """The settings as shipped: compose pins the (development) defaults, whatever this shell
    exports."""
    return Settings.model_construct(mode="development")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _compose_broker_properties() -> dict[str, str]:
    text = _compose()["configs"]["kafka_server_properties"]["content"]
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_the_compose_broker_has_the_same_security_and_topic_settings():
    # Every setting except where the broker binds and keeps its data must be identical.
    assert {
        key: value
        for key, value in _compose_broker_properties().items()
        if key not in {"listeners", "log.dirs"}
    } == kafka.security_properties(_defaults())


def test_the_compose_broker_listens_on_the_same_ports():
    settings = _defaults()
    compose = _compose_broker_properties()
    ours = kafka.server_properties(settings, kafka.KafkaPaths(Path("/unused")))

    def ports(listeners: str) -> dict[str, str]:
        return {item.split("://")[0]: item.rsplit(":", 1)[1] for item in listeners.split(",")}

    assert ports(compose["listeners"]) == ports(ours["listeners"])
    published = _compose()["services"]["kafka"]["ports"]
    client_port = settings.kafka_bootstrap.rsplit(":", 1)[1]
    assert f"127.0.0.1:{client_port}:{client_port}" in published


def test_the_compose_broker_bootstraps_the_same_scram_user():
    settings = _defaults()
    command = " ".join(_compose()["services"]["kafka"]["command"])
    password = settings.kafka_password.get_secret_value()
    assert f"SCRAM-SHA-512=[name={settings.kafka_user},password={password}]" in command
    assert "--standalone" in command


def test_the_compose_database_matches_the_settings():
    settings = _defaults()
    service = _compose()["services"]["postgres"]
    assert service["image"].startswith("postgres:15")
    assert service["environment"] == {
        "POSTGRES_USER": settings.postgres_user,
        "POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
        "POSTGRES_DB": settings.postgres_dbname,
    }
    port = settings.postgres_port
    assert f"{settings.postgres_host}:{port}:5432" in service["ports"]
