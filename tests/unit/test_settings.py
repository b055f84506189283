from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hub.errors import ConfigurationError
from hub.settings import Settings, get_settings


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


def test_a_postgres_schema_the_store_could_not_find_again_is_refused_by_name(monkeypatch):
    # The library spells the schema unquoted in places: "PgWalk" was created, then not found.
    for name in ("PgWalk", "pg-walk", "1walk", "x" * 64):
        monkeypatch.setenv("HUB_POSTGRES_SCHEMA", name)
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="HUB_POSTGRES_SCHEMA"):
            get_settings()
    monkeypatch.setenv("HUB_POSTGRES_SCHEMA", "pg_walk_2")
    get_settings.cache_clear()
    assert get_settings().postgres_schema == "pg_walk_2"
    get_settings.cache_clear()


def test_a_log_level_is_one_of_pythons_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    # HUB_LOG_LEVEL=LOUD failed every command with a TypeError in the logging set-up.
    monkeypatch.setenv("HUB_LOG_LEVEL", "warning")
    assert Settings().log_level == "WARNING"
    monkeypatch.setenv("HUB_LOG_LEVEL", "LOUD")
    with pytest.raises(ValidationError, match="log_level"):
        Settings()
