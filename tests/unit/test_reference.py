"""The shipped reference data of the network is complete and validated on load."""

from __future__ import annotations

import pytest

from hub.errors import UnknownAgencyError
from hub.reference import Network, load_network


def test_seven_wards_each_with_windows_and_a_coordinator() -> None:
    network = load_network()
    assert len(network.wards) == 7
    for ward in network.ward_codes:
        kinds = {a.id.split(".")[1] for a in network.agencies if a.ward == ward}
        assert {"houkatsu", "kodomo", "hoken", "hoiku", "inochinet", "hogo"} <= kinds
        assert network.coordinator_of(ward).kind == "coordinator"


def test_the_council_has_eighteen_members_with_field_tags() -> None:
    council = [a for a in load_network().agencies if a.kind == "council_member"]
    assert len(council) == 18
    assert all(len(a.fields) == 1 for a in council)
    assert {"高齢", "ひきこもり", "生活困窮", "再犯防止"} <= {a.fields[0] for a in council}


def test_the_contractor_the_core_centre_and_partner_groups_are_there() -> None:
    network = load_network()
    assert network.agency("hoboku-shakyo").kind == "contractor"
    assert network.agency("kikan-soudan").kind == "disability_centre"
    assert network.partner_companies_total == 87
    assert {g.code for g in network.partner_groups} >= {"lifeline", "newspaper", "finance"}


def test_scopes_expand_groups_to_agencies() -> None:
    network = load_network()
    covered = network.agencies_in_scope(["ward:moji", "hoboku-shakyo"])
    assert "moji.hogo" in covered and "hoboku-shakyo" in covered
    assert "tobata.hogo" not in covered


def test_unknown_agencies_are_refused() -> None:
    with pytest.raises(UnknownAgencyError):
        load_network().agency("nowhere")


def test_inconsistent_reference_data_is_refused_at_load() -> None:
    data = load_network().model_dump()
    data["wards"] = data["wards"][:6]
    with pytest.raises(ValueError):
        Network.model_validate(data)
