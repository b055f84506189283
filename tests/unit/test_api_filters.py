"""A ward filter of the API's use cases that names no ward is refused by name, as the CLI
refuses it (README: a refusal by a rule names an unknown code as the CLI does, `unknown ward
'tobato'`); `GET /cases?ward=tobato` answered an empty list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hub.errors import UnknownAgencyError, UnknownWardError
from hub.fiscal import JST
from hub.identity import Actor, Role
from hub.settings import Settings
from ops.usecases import HubService
from ops.wiring import open_service

OPERATOR = Actor("op-試験", Role.operator)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[HubService]:
    settings = Settings(mode="development", var_dir=tmp_path, sqlite_path=tmp_path / "hub.sqlite")
    opened = open_service(settings)
    try:
        yield opened
    finally:
        opened.close()


READS: dict[str, Callable[[HubService, str], Any]] = {
    "cases": lambda s, ward: s.cases(OPERATOR, ward=ward),
    "unanswered": lambda s, ward: s.unanswered_referrals(OPERATOR, ward=ward),
    "escalated": lambda s, ward: s.escalated_referrals(OPERATOR, ward=ward),
}


@pytest.mark.parametrize("read", READS)
def test_an_unknown_ward_is_refused_by_name(service: HubService, read: str) -> None:
    with pytest.raises(UnknownWardError, match="unknown ward 'tobato'"):
        READS[read](service, "tobato")
    assert READS[read](service, "tobata") == []


AUDITOR = Actor("auditor-試験", Role.auditor)


def test_an_audit_filter_that_names_no_agency_is_refused_by_name(service: HubService) -> None:
    """`GET /audit/disclosures?agency=moji.houkatu` and the replay answered empty."""
    as_of = datetime(2025, 6, 1, tzinfo=JST)
    with pytest.raises(UnknownAgencyError, match=r"unknown agency 'moji\.houkatu'"):
        service.disclosures(AUDITOR, agency_id="moji.houkatu")
    with pytest.raises(UnknownAgencyError, match=r"unknown agency 'moji\.houkatu'"):
        service.replay(AUDITOR, as_of, agency_id="moji.houkatu")
    assert service.disclosures(AUDITOR, agency_id="moji.houkatsu") == []
    assert service.replay(AUDITOR, as_of, agency_id="moji.houkatsu")["consents_in_force"] == []
