"""The OpenAPI document, generated from the routes and committed as schemas/openapi.json.

A test keeps the committed file equal to the generated one (like the Avro schemas), so a
client written against the file sees every change of the API in review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from hub.settings import Settings
from ops.api.app import create_app
from ops.usecases import HubService

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def document() -> dict[str, Any]:
    """The document as ``hub serve`` serves it (no store is opened to build it)."""
    app = create_app(cast(HubService, None), Settings(mode="development"))
    return app.openapi()


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write() -> Path:
    OPENAPI_PATH.write_text(render(document()), encoding="utf-8")
    return OPENAPI_PATH
