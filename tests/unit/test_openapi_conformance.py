"""The API answers as its OpenAPI document says, for requests schemathesis draws from that
document and for requests it rules out: no server error; every status, media type, header
and body as declared, refusals included. An agency's integrator writes a client from the
document alone (README, The HTTP API).

Whether a request the document rules out is refused is not asked here: the token every
request carries would replace a drawn Authorization header, and a drawn null in a query is
sent as an empty string, which the document allows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.identity import Role
from hub.settings import Settings
from ops import wiring
from ops.api.app import create_app
from ops.identity import dev_issuer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Api:
    app: Any
    token: str


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(mode="development", var_dir=Path(tmp_path_factory.mktemp("api")))
    service = wiring.open_service(settings)
    claims = dev_issuer.claims_for(settings, subject="operator-試験", role=Role.operator)
    token = dev_issuer.sign(dev_issuer.signing_key(settings), claims)
    try:
        yield Api(create_app(service, settings), token)
    finally:
        service.close()


def test_the_api_answers_as_its_document_says(api: Api) -> None:
    document = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in document.get_all_operations()]
    assert len(operations) > 40  # every command's route, the reads and the inbox
    for operation in operations:
        # A request the document rules out exists only where the route takes something.
        takes = bool(list(operation.iter_parameters())) or bool(operation.body)
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for mode in modes if takes else modes[:1]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @examples(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
            def answered_as_declared(case: Any) -> None:
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {api.token}"}, checks=CHECKS
                )

            answered_as_declared()
