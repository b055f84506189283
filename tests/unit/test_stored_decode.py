"""``hub.stored.decode_quickly`` (the relay's and the rebuild's decoder) reads a stored event
as the library's mapper does, traceparent included, and leaves anything else to the library."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from eventsourcing.persistence import Notification

from hub import tracing
from hub.application import HubApplication
from hub.settings import Settings
from hub.stored import decode_quickly
from producers.governance import logged
from tests.unit.test_rebuild_decode import seeded

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def app(tmp_path: Path) -> HubApplication:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    return HubApplication(env=settings.eventsourcing_env())


def traced(n: Notification, value: bytes = b'"' + TRACEPARENT.encode() + b'"') -> Notification:
    assert n.state.startswith(b"{")
    return replace(n, state=b'{"traceparent":' + value + b"," + n.state[1:])


def test_a_traced_event_decodes_quickly_to_what_the_library_reads(app: HubApplication) -> None:
    read = 0
    for n in seeded(app):
        for stored in (n, traced(n)):
            try:
                library = app.mapper.to_domain_event(stored)
            except Exception:
                assert decode_quickly(app.mapper, stored) is None
                continue
            quick = decode_quickly(app.mapper, stored)
            if quick is None:  # the one payload its model no longer reads, refused later
                continue
            read += 1
            assert quick.payload == library.payload
            assert quick.timestamp == library.timestamp
            assert quick.originator_id == library.originator_id
            assert quick.originator_version == library.originator_version
            assert tracing.of_event(quick) == tracing.of_event(library)
            # The relay's record of it (ids, time, payload) is the library's, byte for byte.
            assert logged(n.id, quick) == logged(n.id, library)
    assert read >= 20
    assert tracing.of_event(decode_quickly(app.mapper, traced(seeded(app)[0]))) == TRACEPARENT


@pytest.mark.parametrize("value", [b"1", b"[]", b'{"a":1}'])
def test_a_traceparent_that_is_not_text_is_left_to_the_library(
    app: HubApplication, value: bytes
) -> None:
    n = traced(seeded(app)[0], value)
    assert decode_quickly(app.mapper, n) is None
