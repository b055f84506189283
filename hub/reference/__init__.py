"""Reference data of the network, shipped with the package and validated when loaded.

Wards, each ward's windows and coordinator, the disability core centre, the contractor, the
18 members of the isolation countermeasures council and the partner groups of 見守り部会.
"""

from __future__ import annotations

import json
from functools import cached_property, lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from hub.errors import (
    ConfigurationError,
    UnknownAgencyError,
    UnknownPartnerGroupError,
    UnknownWardError,
)

AgencyKind = Literal[
    "ward_window", "coordinator", "disability_centre", "contractor", "council_member"
]


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
    id: str
    name: str
    kind: AgencyKind
    ward: str | None
    groups: tuple[str, ...]
    fields: tuple[str, ...]

    @property
    def is_consultation_window(self) -> bool:
        return self.kind in CONSULTATION_WINDOW_KINDS


class PartnerGroup(_Frozen):
    code: str
    name: str
    examples: tuple[str, ...]


class Network(_Frozen):
    source: str
    wards: tuple[Ward, ...]
    agencies: tuple[Agency, ...]
    partner_groups: tuple[PartnerGroup, ...]
    partner_companies_total: int
    council_established: str

    @model_validator(mode="after")
    def _consistent(self) -> Network:
        ward_codes = {w.code for w in self.wards}
        if len(ward_codes) != 7:
            raise ValueError("the city has exactly 7 wards")
        ids = [a.id for a in self.agencies]
        if len(ids) != len(set(ids)):
            raise ValueError("agency ids must be unique")
        for agency in self.agencies:
            if agency.ward is not None and agency.ward not in ward_codes:
                raise ValueError(f"agency {agency.id} names unknown ward {agency.ward}")
        for code in ward_codes:
            if f"{code}.coordinator" not in ids:
                raise ValueError(f"ward {code} has no いのちネット担当係長")
        if sum(a.kind == "council_member" for a in self.agencies) != 18:
            raise ValueError("the council has 18 member organisations")
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
    """Loads and validates the shipped reference data (raises ConfigurationError)."""
    text = resources.files("hub.reference").joinpath("network.json").read_text("utf-8")
    try:
        return Network.model_validate(json.loads(text))
    except (ValidationError, ValueError) as error:
        raise ConfigurationError(f"reference data is invalid: {error}") from error
