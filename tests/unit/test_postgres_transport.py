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


@pytest.mark.parametrize(
    "host",
    ["/var/run/postgresql,192.0.2.2", "127.0.0.1,db.city.example", "localhost, 10.0.0.5", "::1,,h"],
)
def test_every_host_of_a_list_is_judged_not_the_first_alone(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libpq tries each host of a comma-separated list in turn: a socket folder first let
    a remote host after it through, in clear."""
    monkeypatch.delenv("PGSSLMODE", raising=False)
    with pytest.raises(ConfigurationError, match="PGSSLMODE=verify-full") as refused:
        settings(host).check_postgres_transport()
    assert host.split(",")[-1].strip() in str(refused.value)


def test_a_list_of_this_hosts_own_addresses_needs_no_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    settings("/var/run/postgresql,127.0.0.1,localhost").check_postgres_transport()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PGHOSTADDR", "192.0.2.2"),
        ("PGSERVICE", "city-db"),
        ("CASE_STATE_POSTGRES_HOST", "db.city.example"),  # the library's per-view setting
    ],
)
def test_libpqs_own_address_or_service_is_judged_too(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PGHOSTADDR`` replaces the address HUB_POSTGRES_HOST names (libpq connects there), a
    service entry may name any host, and the library reads a view's own host first."""
    monkeypatch.delenv("PGSSLMODE", raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as refused:
        settings("127.0.0.1").check_postgres_transport()
    said = str(refused.value)
    assert variable in said and value in said, said
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    settings("127.0.0.1").check_postgres_transport()
