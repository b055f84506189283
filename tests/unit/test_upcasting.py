"""A v1 DiscoveryReported stored before ``channel`` existed still loads, upcast to v2."""

from __future__ import annotations

import json
import sqlite3

from hub.application import HubApplication
from hub.domain.others import Discovery
from tests import factories as f


def test_a_stored_v1_discovery_is_upcast_with_the_default_channel(
    sqlite_env: dict[str, str],
) -> None:
    # A v1 writer predates sealing: its personal fields are in the clear.
    app = HubApplication(env={**sqlite_env, "HUB_SEAL_PERSONAL": "n"})
    discovery_id = app.execute(f.discovery(channel="phone")).aggregate_ids[0]
    app.close()

    # Rewrite the stored event as a v1 writer made it: no class_version, no channel.
    with sqlite3.connect(sqlite_env["SQLITE_DBNAME"]) as db:
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE originator_id = ?", (discovery_id.hex,)
        ).fetchone()
        data = json.loads(state)
        assert data.pop("class_version") == 2
        del data["payload"]["_data_"]["channel"]
        db.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ?",
            (json.dumps(data, ensure_ascii=False).encode(), discovery_id.hex),
        )

    app = HubApplication(env=sqlite_env)
    events = list(app.repository.event_store.get(discovery_id))
    app.close()
    assert isinstance(events[0], Discovery.DiscoveryReported)
    assert events[0].payload.channel == "unknown"


def test_a_new_discovery_is_stored_as_v2() -> None:
    assert Discovery.DiscoveryReported.class_version == 2
