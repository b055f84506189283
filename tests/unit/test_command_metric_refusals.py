"""Which refusals `hub_command_seconds` counts through `hub serve` (docs/METRICS.md): those of
the command's own validation in the application, not a request refused before the command
runs (a role that may not give it: 403; no Idempotency-Key: 422)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

from hub.identity import Role
from hub.settings import Settings
from ops import metrics
from ops.api.app import create_app
from ops.identity import dev_issuer
from ops.wiring import open_service, referral_metrics
from tests import factories as f


def _headers(settings: Settings, role: Role, **claims: Any) -> dict[str, str]:
    signed = dev_issuer.claims_for(settings, subject=f"{role}-試験", role=role, **claims)
    token = dev_issuer.sign(dev_issuer.signing_key(settings), signed)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid4())}


def test_the_command_metric_counts_refusals_of_validation_not_those_before_the_command(
    tmp_path: Path,
) -> None:
    settings = Settings(mode="development", var_dir=tmp_path, sqlite_path=tmp_path / "hub.sqlite")
    service = open_service(settings)
    try:
        registry = metrics.registry(*referral_metrics(service.app, measured=True))
        client = TestClient(create_app(service, settings))
        officer = dict(role=Role.ward_officer, ward="tobata")

        def send(command: Any, headers: dict[str, str]) -> int:
            body = command.model_dump(mode="json", exclude={"type", "command_id"})
            name = type(command).__name__
            return client.post(f"/commands/{name}", json=body, headers=headers).status_code

        case = f.open_case(ward="tobata")
        assert send(case, _headers(settings, **officer)) == 201
        no_key = _headers(settings, **officer)
        del no_key["Idempotency-Key"]
        assert send(f.open_case(ward="tobata"), no_key) == 422
        agency = _headers(settings, Role.member_agency, agency_id="tobata.houkatsu")
        assert send(f.open_case(ward="tobata"), agency) == 403
        refer = f.referral(case.case_id)
        assert send(refer, _headers(settings, **officer)) == 201
        again = f.referral(case.case_id, referral_id=refer.referral_id)  # another command id
        refused = send(again, _headers(settings, **officer))

        assert refused == 409
        outcomes = {
            (sample.labels["command"], sample.labels["outcome"]): sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "hub_command_seconds_count"
        }
        # The referral already made is refused by the case itself: counted by its error. The
        # 403 and the 422 were refused before the command ran: not counted at all.
        assert outcomes == {
            ("OpenCase", "recorded"): 1,
            ("ReferCase", "recorded"): 1,
            ("ReferCase", "IllegalTransitionError"): 1,
        }
    finally:
        service.close()
