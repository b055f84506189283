from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from hub.settings import Settings


def test_variables_with_the_hub_prefix_configure_the_settings(monkeypatch):
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", "kafka.example:9999")
    monkeypatch.setenv("HUB_STORE", "postgres")
    monkeypatch.setenv("HUB_VAR_DIR", "/tmp/elsewhere")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "ignored:1")
    settings = Settings()
    assert settings.kafka_bootstrap == "kafka.example:9999"
    assert settings.store == "postgres"
    assert settings.var_dir == Path("/tmp/elsewhere")


def test_secrets_never_appear_in_safe_dict_or_repr():
    secrets = {
        "postgres_password": "pg-very-secret",
        "kafka_password": "kafka-very-secret",
        "pseudonym_key": "key-very-secret",
    }
    settings = Settings(**{key: SecretStr(value) for key, value in secrets.items()})
    shown = f"{settings.safe_dict()} {settings!r} {settings}"
    for value in secrets.values():
        assert value not in shown


def test_the_store_is_chosen_by_the_settings(tmp_path):
    sqlite = Settings(sqlite_path=tmp_path / "x.sqlite").eventsourcing_env()
    assert sqlite["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    postgres = Settings(store="postgres", postgres_schema="s1").eventsourcing_env()
    assert postgres["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert postgres["POSTGRES_SCHEMA"] == "s1"
