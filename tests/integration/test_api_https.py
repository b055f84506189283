"""`hub serve --ssl-certfile --ssl-keyfile`: the real server answers over HTTPS with its own
certificate (one made as the local broker's is, `ops.services.tls`), and every answer over
HTTPS, a page, a refusal and the API alike, tells the browser to come back only over HTTPS
(Strict-Transport-Security); an answer over plain HTTP does not (RFC 6797 forbids it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.identity import Role
from ops.services import tls
from tests.api_support import Server, running_server

HSTS = "strict-transport-security"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var = Path(tmp_path_factory.mktemp("api-https"))
    material = tls.broker_tls(var / "tls-home", "127.0.0.1")
    folder = tls.folder(var / "tls-home")
    files = (folder / tls.CERT_FILE, folder / tls.KEY_FILE, folder / tls.CA_FILE)
    assert material.ca == files[2].read_text()
    with running_server(var, tls=files) as running:
        yield running


def test_every_answer_over_https_asks_for_https_only(server: Server) -> None:
    assert server.url.startswith("https://")
    with server.client() as anonymous:
        for path in ("/health", "/web/signin", "/cases"):  # a page, the API's 401
            response = anonymous.get(path)
            assert response.headers.get(HSTS) == "max-age=31536000", (path, response.status_code)
    with server.client(server.token(Role.auditor)) as auditor:
        assert auditor.get("/audit/verify").headers.get(HSTS) == "max-age=31536000"


def test_a_client_that_does_not_trust_the_certificate_is_not_answered(server: Server) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health", timeout=10)  # the system's CAs only


def test_plain_http_carries_no_hsts(tmp_path: Path) -> None:
    with running_server(tmp_path) as plain, plain.client() as client:
        response = client.get("/health")
        assert response.status_code == 200 and HSTS not in response.headers


def test_every_answer_says_nosniff_and_names_no_server(server: Server) -> None:
    """The API's JSON carried no X-Content-Type-Options (the pages did) and every answer
    named uvicorn as its server (a review's scan)."""
    with server.client() as anonymous:
        for path in ("/health", "/web/signin", "/cases", "/no-such-route"):
            response = anonymous.get(path)
            assert response.headers.get_list("x-content-type-options") == ["nosniff"], path
            assert "server" not in response.headers, (path, response.headers.get("server"))
