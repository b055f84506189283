"""The API bench reports a server that drops its connections as a figure not measured (a
``HubError``, which the suite turns into a row), never as a crash of the whole run."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from hub.errors import HubError
from ops.bench.api import _read_all


def test_a_connection_dropped_by_the_server_is_a_hub_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def drop_every_connection() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=drop_every_connection, daemon=True).start()
    try:
        with pytest.raises(HubError, match="under load"):
            asyncio.run(_read_all(f"http://127.0.0.1:{port}", "/health", None, 1))
    finally:
        listener.close()
