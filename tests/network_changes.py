"""Changed networks for tests: the shipped network.json with agencies retired, renamed, added."""

from __future__ import annotations

from typing import Any

from hub.reference import Network, load_network

NEW_MEMBER = "council-19"


def shipped() -> dict[str, Any]:
    return load_network().model_dump(mode="json")


def changed(
    *,
    retire: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
    join: tuple[str, ...] = (),
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The shipped network (or ``data``) with agencies retired, renamed and council members
    joined (fictitious organisations, 架空)."""
    data = data or shipped()
    agencies = [a for a in data["agencies"] if a["id"] not in retire]
    for agency in agencies:
        if rename and agency["id"] in rename:
            agency["name"] = rename[agency["id"]]
    for agency_id in join:
        agencies.append(
            {
                "id": agency_id,
                "name": f"試験 架空の支援団体 {agency_id}",
                "kind": "council_member",
                "ward": None,
                "groups": ["council"],
                "fields": ["若者"],
            }
        )
    return {**data, "agencies": agencies}


def network(data: dict[str, Any]) -> Network:
    return Network.model_validate(data)
