"""Reference data of the network: its shape, and the file shipped with the package.

Wards, each ward's windows and coordinator, the disability core centre, the contractor, the
members of the isolation countermeasures council (18 in the shipped file) and the partner
groups of 見守り部会. The shipped ``network.json`` is only the seed of a new store: it is
imported as the first events of the log, and from then on the network in force at any
position of the log is folded from those events (``hub.reference.directory``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property, lru_cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from hub.errors import (
    ConfigurationError,
    InvalidNetworkFileError,
    NoOutreachContractorError,
    UnknownAgencyError,
    UnknownPartnerGroupError,
    UnknownWardError,
)
from hub.principals import RESERVED_PRINCIPALS

AgencyKind = Literal[
    "ward_window", "coordinator", "disability_centre", "contractor", "council_member"
]


# Agency ids name Kafka topics, SCRAM users and ACLs (referrals.<id>): keep them to a safe
# alphabet so no id can widen a pattern or reach another agency's topic.
AGENCY_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"
AgencyId = Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def agency_id_conflict(agency_id: str, others: Iterable[str]) -> str | None:
    """Why ``agency_id`` cannot be an agency's beside ``others`` (None: it can).

    Its SCRAM user must not be a super user's or a service's, and its consumer groups
    (ACL prefix ``<id>.``) must not cover another agency's: no id is a dotted prefix of
    another (``moji`` would read the groups ``moji.houkatsu.*``).
    """
    if agency_id in RESERVED_PRINCIPALS or agency_id.split(".")[0] in RESERVED_PRINCIPALS:
        return f"agency id {agency_id!r} is, or extends, a Kafka service or super user's name"
    for other in others:
        if other.startswith(f"{agency_id}.") or agency_id.startswith(f"{other}."):
            return f"agency id {agency_id!r} overlaps agency {other!r} (a dotted prefix)"
    return None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ward(_Frozen):
    code: str
    name: str


# The kinds of agency at which a person may walk in with a consultation (相談窓口).
CONSULTATION_WINDOW_KINDS: frozenset[AgencyKind] = frozenset(
    {"ward_window", "coordinator", "disability_centre"}
)


class Agency(_Frozen):
    id: AgencyId
    name: Name
    kind: AgencyKind
    ward: str | None
    groups: tuple[str, ...]
    fields: tuple[str, ...]

    @property
    def is_consultation_window(self) -> bool:
        return self.kind in CONSULTATION_WINDOW_KINDS


class PartnerGroup(_Frozen):
    code: str
    name: Name
    examples: tuple[str, ...]


class Network(_Frozen):
    source: str
    wards: tuple[Ward, ...]
    agencies: tuple[Agency, ...]
    partner_groups: tuple[PartnerGroup, ...]
    partner_companies_total: int
    council_established: str
    # When the shipped file's network was in force: the business time of its import.
    in_force_from: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Network:
        ward_codes = {w.code for w in self.wards}
        if len(ward_codes) != 7 or len(self.wards) != 7:
            raise ValueError("the city has exactly 7 wards")
        ids = [a.id for a in self.agencies]
        if len(ids) != len(set(ids)):
            raise ValueError("agency ids must be unique")
        for agency_id in ids:
            problem = agency_id_conflict(agency_id, ids)
            if problem:
                raise ValueError(problem)
        codes = [g.code for g in self.partner_groups]
        if len(codes) != len(set(codes)):
            raise ValueError("partner group codes must be unique")
        for agency in self.agencies:
            if agency.ward is not None and agency.ward not in ward_codes:
                raise ValueError(f"agency {agency.id} names unknown ward {agency.ward}")
            if (agency.kind == "council_member") != ("council" in agency.groups):
                raise ValueError(
                    f"agency {agency.id}: council members, and only they, are in group council"
                )
        for code in ward_codes:
            if f"{code}.coordinator" not in ids:
                raise ValueError(f"ward {code} has no いのちネット担当係長")
        if self.partner_companies_total < 0:
            raise ValueError("partner_companies_total cannot be negative")
        return self

    # Look-ups used by commands and governance.
    def ward(self, code: str) -> Ward:
        for ward in self.wards:
            if ward.code == code:
                return ward
        raise UnknownWardError(f"unknown ward {code!r}; known: {', '.join(self.ward_codes)}")

    @property
    def ward_codes(self) -> tuple[str, ...]:
        return tuple(w.code for w in self.wards)

    def agency(self, agency_id: str) -> Agency:
        agency = self.agency_index.get(agency_id)
        if agency is None:
            raise UnknownAgencyError(f"unknown agency {agency_id!r}")
        return agency

    def is_agency(self, agency_id: str) -> bool:
        return agency_id in self.agency_index

    def coordinator_of(self, ward: str) -> Agency:
        return self.agency(f"{self.ward(ward).code}.coordinator")

    def outreach_contractor(self) -> Agency:
        """The contractor that runs 伴走型支援 (outreach visits)."""
        return self.contractor_for("outreach")

    def contractor_for(self, field: str) -> Agency:
        """The one contractor whose field tags name ``field`` (outreach, participation)."""
        found = [a for a in self.agencies if a.kind == "contractor" and field in a.fields]
        if len(found) != 1:
            raise NoOutreachContractorError(
                f"the network names {len(found)} contractors for {field}, not one"
                + (": give the visit's agency_id" if field == "outreach" else "")
            )
        return found[0]

    def agencies_in_scope(self, scope: tuple[str, ...] | list[str]) -> frozenset[str]:
        """Agency ids covered by a scope that names agencies and/or agency groups."""
        covered: set[str] = set()
        for entry in scope:
            if self.is_agency(entry):
                covered.add(entry)
            else:
                covered.update(a.id for a in self.agencies if entry in a.groups)
        return frozenset(covered)

    @cached_property
    def group_names(self) -> frozenset[str]:
        return frozenset(g for a in self.agencies for g in a.groups)

    def partner_group(self, code: str) -> PartnerGroup:
        for group in self.partner_groups:
            if group.code == code:
                return group
        raise UnknownPartnerGroupError(f"unknown partner group {code!r}")

    @cached_property
    def agency_index(self) -> dict[str, Agency]:
        # Built once per instance: hashing the frozen model for an lru_cache key cost
        # ~0.8 ms per lookup, several lookups per command (see BENCHMARKS.md).
        return {a.id: a for a in self.agencies}


@lru_cache(maxsize=1)
def load_network() -> Network:
    """The shipped ``network.json``, validated (raises ConfigurationError).

    Only the seed of a new store and of generated workloads: what the hub checks and routes
    with is the network on the log (``HubApplication.network``, ``hub.reference.directory``).
    """
    text = resources.files("hub.reference").joinpath("network.json").read_text("utf-8")
    try:
        return Network.model_validate(json.loads(text))
    except (ValidationError, ValueError) as error:
        raise ConfigurationError(f"reference data is invalid: {error}") from error


def parse_network(text: str | bytes) -> Network:
    """A network file (network.json's format), validated; InvalidNetworkFileError names why
    not."""
    try:
        return Network.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in error.errors()
        )
        raise InvalidNetworkFileError(f"not a valid network file: {problems}") from None
