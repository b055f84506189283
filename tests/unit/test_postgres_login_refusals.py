"""What PostgreSQL refuses at login is said as a setting to correct, not as a server away."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from typer.testing import CliRunner

from hub.settings import get_settings
from ops import wiring
from ops.cli.main import app as cli

runner = CliRunner()


def _refuse(*_: object, **__: object) -> None:
    raise OperationalError("no connection came from the pool")


@pytest.mark.parametrize(
    ("server_says", "line"),
    [
        (
            'FATAL:  database "op_nonexist" does not exist',
            "Error: PostgreSQL at 127.0.0.1:5432 has no database op_nonexist: check "
            "HUB_POSTGRES_DBNAME (a database other than hub is made by its administrator)",
        ),
        (
            'FATAL:  データベース"op_nonexist"は存在しません',
            "Error: PostgreSQL at 127.0.0.1:5432 has no database op_nonexist: check "
            "HUB_POSTGRES_DBNAME (a database other than hub is made by its administrator)",
        ),
        (
            'FATAL:  password authentication failed for user "hub"',
            "Error: PostgreSQL at 127.0.0.1:5432/op_nonexist refused the password of role hub: "
            "check HUB_POSTGRES_PASSWORD (the role's password is its administrator's)",
        ),
    ],
)
def test_a_missing_database_is_named_not_a_server_away(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch, server_says: str, line: str
) -> None:
    """HUB_POSTGRES_DBNAME naming no database said 'is it running? try `hub services up
    postgres`' of a server that runs, and whose `up` makes no such database."""
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_STORE", "postgres")
    monkeypatch.setenv("HUB_POSTGRES_DBNAME", "op_nonexist")
    get_settings.cache_clear()

    def connect(*_: object, **__: object) -> None:
        raise psycopg.OperationalError(
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            + server_says
        )

    monkeypatch.setattr(wiring, "HubApplication", _refuse)
    monkeypatch.setattr(psycopg, "connect", connect)
    result = runner.invoke(cli, ["case", "list"])
    assert result.exit_code == 4, result.output
    assert result.stderr.strip().splitlines() == [line]


@pytest.mark.parametrize(
    ("server_says", "said"),
    [
        (
            'FATAL:  password authentication failed for user "hub"',
            "refused the password of role hub: check HUB_POSTGRES_PASSWORD",
        ),
        (
            'FATAL:  database "op_nonexist" does not exist',
            "has no database op_nonexist for the inbox: check HUB_POSTGRES_DBNAME",
        ),
    ],
)
def test_an_agency_inbox_on_postgres_says_what_was_refused(
    monkeypatch: pytest.MonkeyPatch, server_says: str, said: str
) -> None:
    """An agency's PostgreSQL inbox given a wrong password or database said 'unavailable;
    try `hub services up postgres`', a command of the hub's host, not the agency's."""
    from consumers.sql import PostgresDatabase
    from hub.errors import ServiceUnavailableError
    from hub.settings import Settings

    def connect(*_: object, **__: object) -> None:
        raise psycopg.OperationalError("connection failed: " + server_says)

    monkeypatch.setattr(psycopg, "connect", connect)
    settings = Settings(mode="development", postgres_dbname="op_nonexist")
    with pytest.raises(ServiceUnavailableError, match=said):
        PostgresDatabase(settings, "inbox_tobata_houkatsu")
