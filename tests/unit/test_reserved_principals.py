"""Provisioning never sets a super user's or a service's password for an agency, and the
broker's super users are among the names no agency may take; all without a broker."""

from __future__ import annotations

import pytest

from hub.errors import ReservedAgencyIdError
from hub.principals import RESERVED_PRINCIPALS
from hub.reference import Network, load_network
from hub.settings import Settings
from ops.services import kafka
from producers import provision as p


def _recorded_with(*agency_ids: str) -> Network:
    """The shipped network plus agencies under ``agency_ids``, as a log recorded before
    such ids were refused would fold it (not validated again)."""
    shipped = load_network()
    like = shipped.agency("council-18")
    extra = tuple(like.model_copy(update={"id": i}) for i in agency_ids)
    return Network.model_construct(**{**dict(shipped), "agencies": (*shipped.agencies, *extra)})


def _no_broker(*args: object, **kwargs: object) -> object:
    raise AssertionError("provisioning reached the broker")


@pytest.mark.parametrize("agency_id", sorted(RESERVED_PRINCIPALS))
def test_provisioning_refuses_an_agency_named_as_a_privileged_user(
    agency_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(p.kafka_clients, "admin", _no_broker)
    with pytest.raises(ReservedAgencyIdError, match=repr(agency_id)):
        p.provision(Settings(mode="development"), network=_recorded_with(agency_id))
    with pytest.raises(ReservedAgencyIdError):  # named alone, too
        p.provision(Settings(mode="development"), [agency_id], _recorded_with(agency_id))


def test_provisioning_refuses_an_agency_named_as_the_configured_super_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(p.kafka_clients, "admin", _no_broker)
    settings = Settings(mode="development", kafka_user="root-of-hub")
    with pytest.raises(ReservedAgencyIdError, match="super user 'root-of-hub'"):
        p.provision(settings, network=_recorded_with("root-of-hub"))


def test_provisioning_refuses_group_acls_that_would_cover_another_agency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(p.kafka_clients, "admin", _no_broker)
    with pytest.raises(ReservedAgencyIdError, match="dotted prefix"):
        p.provision(Settings(mode="development"), ["moji"], _recorded_with("moji"))


def test_the_broker_super_users_are_names_no_agency_may_take(tmp_path) -> None:
    props = kafka.server_properties(Settings(), kafka.KafkaPaths(tmp_path))
    users = {u.removeprefix("User:") for u in props["super.users"].split(";")}
    assert users <= RESERVED_PRINCIPALS
    assert set(p.SERVICE_PRINCIPALS) <= RESERVED_PRINCIPALS
