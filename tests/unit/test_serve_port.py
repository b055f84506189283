"""`hub serve` on a port another process holds (a second `hub serve`, say): one error line
naming the address, as a metrics port in use gives, before the store is opened."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli.main import app as cli

runner = CliRunner()


def test_a_port_in_use_is_one_error_line_and_the_store_is_not_opened(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setattr("uvicorn.Server.run", lambda *_, **__: pytest.fail("served"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"Error: cannot serve the API on 127.0.0.1:{port} (Address already in use)"
    assert not (cli_store / "hub.sqlite").exists()


def test_a_free_port_is_served_and_named_on_one_line(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    served: list[int] = []

    def run(_server: object, sockets: list[socket.socket]) -> None:
        served.extend(s.getsockname()[1] for s in sockets)

    monkeypatch.setattr("uvicorn.Server.run", run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(cli, ["serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert served == [port]
    assert result.stderr == f"serving the API on http://127.0.0.1:{port}; Ctrl-C to stop\n"
