"""One place for configuration: environment variables prefixed ``HUB_``.

Secrets are ``SecretStr`` so they never print; ``Settings.safe_dict`` is what may be logged.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

StoreKind = Literal["sqlite", "postgres"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="ignore")

    # Where the project keeps its runtime files (data, logs); ignored by git.
    var_dir: Path = Path("var")

    # The log of record.
    store: StoreKind = "sqlite"
    sqlite_path: Path | None = None
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "hub"
    postgres_user: str = "hub"
    postgres_password: SecretStr = SecretStr("hub")
    postgres_schema: str = ""

    # Kafka (SASL/SCRAM-SHA-512 on the client listener).
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_controller_port: int = 19093
    kafka_user: str = "admin"
    kafka_password: SecretStr = SecretStr("admin-secret")
    kafka_topic_prefix: str = ""
    # Passwords of provisioned principals (agencies, relay, hub, auditor, analyst) derive from
    # this secret, so a local install needs no password file.
    provisioning_secret: SecretStr = SecretStr("dev-only-provisioning-secret")

    # Keyed pseudonyms for the analysts' stream; analysts never hold this key.
    pseudonym_key: SecretStr = SecretStr("dev-only-pseudonym-key-change-me")

    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    @property
    def sqlite_file(self) -> Path:
        return self.sqlite_path or self.var_dir / "hub.sqlite"

    def eventsourcing_env(self, store: StoreKind | None = None) -> dict[str, str]:
        """The environment the eventsourcing library reads to build its recorders."""
        kind = store or self.store
        if kind == "sqlite":
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_file),
                "SQLITE_LOCK_TIMEOUT": "10",
                # The log's hash chain is written with the events (hub/chain.py).
                "APPLICATION_RECORDER_TOPIC": "hub.chain:ChainedSQLiteApplicationRecorder",
            }
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "5",
            "APPLICATION_RECORDER_TOPIC": "hub.chain:ChainedPostgresApplicationRecorder",
        }
        if self.postgres_schema:
            env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env

    def postgres_connection(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` to the configured database."""
        return {
            "host": self.postgres_host,
            "port": self.postgres_port,
            "dbname": self.postgres_dbname,
            "user": self.postgres_user,
            "password": self.postgres_password.get_secret_value(),
        }

    def principal_password(self, principal: str) -> str:
        """The SCRAM password of a provisioned principal (HMAC of the provisioning secret)."""
        secret = self.provisioning_secret.get_secret_value().encode()
        return hmac.new(secret, principal.encode(), hashlib.sha256).hexdigest()

    def safe_dict(self) -> dict[str, object]:
        """Settings as they may be shown: secrets masked by pydantic's SecretStr."""
        return {k: str(v) for k, v in self.model_dump().items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
