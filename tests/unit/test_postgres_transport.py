"""Production refuses a PostgreSQL off this host unless libpq verifies it over TLS: libpq's
default (``sslmode=prefer``) falls back to clear text and checks no certificate, so the
log's sealed events, the keys' table and an agency inbox's plain details would cross the
network readable, or go to whoever answers."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.errors import ConfigurationError
from hub.settings import Settings

REMOTE = "db.city.example"


def settings(host: str, mode: str = "production") -> Settings:
    """Every secret a real one: only the transport is in question."""
    names = [n for n, f in Settings.model_fields.items() if f.annotation is SecretStr]
    secrets = {n: SecretStr(f"試験-{n}-0123456789abcdef0123456789abcdef") for n in names}
    return Settings(mode=mode, store="postgres", postgres_host=host, **secrets)  # type: ignore[arg-type]


@pytest.mark.parametrize("sslmode", [None, "prefer", "require", "disable", "allow"])
def test_an_unverified_connection_off_this_host_is_refused_in_production(
    sslmode: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sslmode is None:
        monkeypatch.delenv("PGSSLMODE", raising=False)
    else:
        monkeypatch.setenv("PGSSLMODE", sslmode)
    for ask in (settings(REMOTE).postgres_connection, settings(REMOTE).eventsourcing_env):
        with pytest.raises(ConfigurationError, match="PGSSLMODE=verify-full") as refused:
            ask()
        assert REMOTE in str(refused.value) and "password" not in str(refused.value)


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full"])
def test_a_verified_connection_off_this_host_passes_the_check(
    sslmode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGSSLMODE", sslmode)
    settings(REMOTE).check_postgres_transport()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "/var/run/postgresql"])
def test_this_hosts_loopback_and_socket_need_no_tls(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    settings(host).check_postgres_transport()


def test_development_is_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    settings(REMOTE, "development").check_postgres_transport()
