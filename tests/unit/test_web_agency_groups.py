"""The case page's agency choices (紹介先, 見守る機関, 支援した機関, 提供先, 共有してよい機関),
and the coordinator's (会議の参加機関, 主担当機関), were one flat list of the whole
network, the user's own ward mixed in: grouped by ward, the user's ward first and the
city-wide agencies in a group of their own, each agency still offered once. Without a
browser."""

from __future__ import annotations

import re
from types import SimpleNamespace

from fastapi.testclient import TestClient

from ops.usecases import HubService
from ops.web.agency_groups import CITY_WIDE, by_ward
from tests.unit.test_web_decide_support import taken_up
from tests.web_support import officer_case, sign_in

WARD = "tobata"


def part(page: str, start: str, end: str) -> str:
    return page.split(start)[1].split(end)[0]


def test_a_select_groups_the_agencies_by_ward_the_officers_first(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    _, page = officer_case(service, client, WARD)
    offered = {a.id for a in service.app.network.agencies if a.kind != "coordinator"}  # type: ignore[attr-defined]
    for field in ("agency_id", "activity_agency"):
        select = part(page, f'<select id="{field}"', "</select>")
        groups = re.findall(r'<optgroup label="([^"]+)">', select)
        assert groups[:2] == ["戸畑区", CITY_WIDE] and len(groups) == len(set(groups)), groups
        values = [v for v in re.findall(r'<option value="([^"]*)"', select) if v]
        assert sorted(values) == sorted(offered)  # each once, none lost
        first = part(select, '<optgroup label="戸畑区">', "</optgroup>")
        assert all(v.startswith(f"{WARD}.") for v in re.findall(r'value="([^"]+)"', first))


def test_a_checkbox_list_groups_the_agencies_by_ward_the_officers_first(
    hub: tuple[HubService, TestClient],
) -> None:
    service, client = hub
    _, page = officer_case(service, client, WARD)
    offered = {a.id for a in service.app.network.agencies if a.kind != "coordinator"}  # type: ignore[attr-defined]
    for field in ("emergency_agencies", "watch_watchers", "scope", "refuse_scope"):
        boxes = page.split(f'name="{field}" value="')[1:]
        assert sorted(b.split('"')[0] for b in boxes) == sorted(offered), field
        first = page.index(f'name="{field}" value="')
        fieldset = page[page.rindex('<fieldset class="checks"', 0, first) :]
        fieldset = fieldset[: fieldset.index("</fieldset>")]
        heads = re.findall(r'<p class="checks-group-h" id="([^"]+)">([^<]+)</p>', fieldset)
        assert [h for _, h in heads][:2] == ["戸畑区", CITY_WIDE], field
        assert len(heads) == len({h for _, h in heads}), field
        for head_id, _ in heads:  # each group is named by its heading to a screen reader
            assert f'role="group" aria-labelledby="{head_id}"' in fieldset
        own = part(fieldset, ">戸畑区</p>", "</div>")
        assert all(v.startswith(f"{WARD}.") for v in re.findall(r'value="([^"]+)"', own))


def test_a_role_without_a_ward_has_the_city_wide_agencies_first() -> None:
    agencies = [
        SimpleNamespace(id="b.x", ward="b"),
        SimpleNamespace(id="city", ward=None),
        SimpleNamespace(id="a.x", ward="a"),
    ]
    wards = {"a": "A区", "b": "B区"}
    grouped = by_ward(agencies, ["a", "b"], str.upper, wards.__getitem__, None)
    assert grouped == [
        (CITY_WIDE, [("city", "CITY")]),
        ("A区", [("a.x", "A.X")]),
        ("B区", [("b.x", "B.X")]),
    ]
    grouped = by_ward(agencies, ["a", "b"], str.upper, wards.__getitem__, "b")
    assert [g for g, _ in grouped] == ["B区", CITY_WIDE, "A区"]


def test_the_coordinators_agency_choices_are_grouped_its_ward_first(
    hub: tuple[HubService, TestClient],
) -> None:
    """会議の参加機関 and the two 主担当機関 lists began with 門司区's agencies: a 戸畑区
    coordinator scrolled past five wards to reach its own."""
    service, client = hub
    taken_up(service)
    sign_in(client, "coordinator", ward=WARD)
    page = client.get("/web/coordinator").text
    every = {a.id for a in service.app.network.agencies}  # type: ignore[attr-defined]
    for field in ("decide_lead_agency", "lead_agency"):
        select = part(page, f'<select id="{field}"', "</select>")
        groups = re.findall(r'<optgroup label="([^"]+)">', select)
        assert groups[:2] == ["戸畑区", CITY_WIDE] and len(groups) == len(set(groups)), field
        values = [v for v in re.findall(r'<option value="([^"]*)"', select) if v]
        assert sorted(values) == sorted(every), field  # each once, none lost
        own = part(select, '<optgroup label="戸畑区">', "</optgroup>")
        assert f'value="{WARD}.coordinator"' in own  # a meeting's lead may be the coordinator
    first = page.index('name="members" value="')
    fieldset = page[page.rindex('<fieldset class="checks"', 0, first) :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    heads = re.findall(r'<p class="checks-group-h" id="[^"]+">([^<]+)</p>', fieldset)
    assert heads[:2] == ["戸畑区", CITY_WIDE]
    boxes = fieldset.split('name="members" value="')[1:]
    assert sorted(b.split('"')[0] for b in boxes) == sorted(every)
