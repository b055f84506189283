"""名寄せ searches on both stores: every search is recorded before its results are shown, one
that finds nobody too; the record says who, when, which ward, which kinds of criteria and how
many were found, never the terms; auditors see it in `hub audit report`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from hub.commands import derived_id
from hub.settings import Settings
from ops.usecases import HubService
from ops.wiring import open_service
from projections.audit.access import SEARCH_TOPIC, access_log, search_log
from tests import factories as f
from tests.integration.test_access_log import OFFICER, hub, store  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration

# Terms of somebody the hub has never held: they must not be kept anywhere.
NOBODY_KANA = "ソンザイ シナイ"
NOBODY_BORN = date(1931, 7, 9)


@pytest.fixture
def service(store: Settings) -> Iterator[HubService]:  # noqa: F811 (the imported fixture)
    opened = open_service(store)
    yield opened
    opened.close()


def test_every_search_is_recorded_one_that_finds_nobody_too(service: HubService) -> None:
    consultation = f.consultation()
    service.execute(OFFICER, consultation)
    case_id = derived_id(consultation.command_id, "case_id")
    before = len(access_log(service.app))

    assert service.search_people(OFFICER, NOBODY_KANA, NOBODY_BORN) == []
    (nobody,) = search_log(service.app)
    assert (nobody.subject, nobody.role) == (OFFICER.subject, "ward_officer")
    assert (nobody.ward, nobody.criteria, nobody.results) == (
        "kokurakita",
        ("birth_date", "kana"),
        0,
    )
    assert len(access_log(service.app)) == before  # nobody was shown

    found = service.search_people(OFFICER, "しけん", None, "架空区")
    assert [row["case_id"] for row in found] == [str(case_id)]
    second = search_log(service.app)[-1]
    assert (second.criteria, second.results) == (("address", "kana"), 1)
    assert access_log(service.app)[-1].case_id == str(case_id)  # the person shown is a read

    # The terms typed are nowhere in the stored search records.
    stored = service.app.recorder.select_notifications(start=None, limit=100, topics=[SEARCH_TOPIC])
    assert len(stored) == 2
    for record in stored:
        for term in (NOBODY_KANA, "ソンザイ", "1931-07-09", "しけん", "架空区"):
            assert term.encode() not in record.state
            assert term not in str(service.app.mapper.to_domain_event(record).payload)

    report = hub("audit", "report")
    assert "名寄せ searches: 2 by 1 subjects, 1 found nobody, 1 people shown" in report
    assert "criteria birth_date+kana: 1" in report
    assert f"{OFFICER.subject} (ward_officer, kokurakita): 2" in report
    assert all(len(line) <= 80 for line in report.splitlines() if "名寄せ" in line)
