"""The composition root's choice of store holds over the process's HUB_* settings.

The eventsourcing library looks a key up as ``<APPLICATION NAME>_<KEY>`` first, and the hub's
application is named hub: ``HUB_POSTGRES_SCHEMA=city`` in the environment won over the
``POSTGRES_SCHEMA=city_demo`` that `hub demo --store postgres` passes, so the demo's generated
year (試験/架空) went into the city's own schema.
"""

from __future__ import annotations

import pytest

from hub.application import HubApplication


def test_what_the_composition_root_passes_holds_over_the_hub_settings_of_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_POSTGRES_SCHEMA", "city")
    monkeypatch.setenv("HUB_POSTGRES_DBNAME", "city")
    app = HubApplication.__new__(HubApplication)
    env = app.construct_env("hub", {"POSTGRES_SCHEMA": "city_demo", "POSTGRES_DBNAME": "hub"})
    assert env.get("POSTGRES_SCHEMA") == "city_demo"
    assert env.get("POSTGRES_DBNAME") == "hub"
    # What the root does not pass is still the process's, as before.
    monkeypatch.setenv("HUB_POSTGRES_PORT", "6543")
    assert app.construct_env("hub", {}).get("POSTGRES_PORT") == "6543"
