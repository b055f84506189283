"""A PostgreSQL store that does not answer: the line's hint fits where the server is.
`hub services up postgres` starts only a server on this host and refuses another's, so it
was a wrong hint for HUB_POSTGRES_HOST naming another host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from hub.settings import get_settings
from ops.cli.main import app as cli
from tests.ports import free_port


@pytest.fixture
def away(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    port = free_port()
    monkeypatch.setenv("HUB_STORE", "postgres")
    monkeypatch.setenv("HUB_POSTGRES_PORT", str(port))
    get_settings.cache_clear()
    yield port
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("host", "hint"),
    [
        ("127.0.0.1", "try `hub services up postgres`"),
        ("0.0.0.0", "is 0.0.0.0:{port} reachable from here?"),  # not loopback; fails at once
    ],
)
def test_the_hint_for_a_store_away_fits_its_host(
    away: int, host: str, hint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_POSTGRES_HOST", host)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["case", "list"])
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: the postgres event store is unavailable"), line
    assert line.endswith(hint.format(port=away)), line
