"""An error no handler of the API answers is a 500 problem and one log line naming its type:
its message (which may quote a stored value) reaches neither the caller nor the server."""

from __future__ import annotations

from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from hub.identity import Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.usecases import HubService

NAME = "試験 花子"


class _Failing:
    """A service whose case list fails as a case holding a payload no model reads does."""

    def cases(self, *_: Any) -> list[dict[str, Any]]:
        raise ValueError(f"1 validation error: input_value={NAME!r}")


def test_an_unexpected_error_is_a_500_problem_and_never_reaches_the_server(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(mode="development", var_dir=tmp_path)
    token = dev_issuer.issue(settings, subject="officer-試験", role=Role.ward_officer, ward="moji")
    # raise_server_exceptions: an error the app hands on to its server fails the request
    # here, as uvicorn would print it ("Exception in ASGI application", message, traceback).
    client = TestClient(create_app(cast(HubService, _Failing()), settings))

    answer = client.get("/cases", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "internal error"
    assert NAME not in answer.text
    logged = "".join(capsys.readouterr())
    assert "api.unexpected" in logged and "ValueError" in logged
    assert NAME not in logged
