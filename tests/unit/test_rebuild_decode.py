"""The rebuild's quick decoding (``projections.decoding.decode``) gives every view exactly what
the library's mapper gives it: the same payload, the same refusal and reason, the same event
id, for the hub's own events and for stored states changed or garbled below the edge."""

from __future__ import annotations

import gc
import pickle
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Notification

from hub.application import HubApplication
from hub.commands import derived_id
from hub.quarantine import reason_of
from hub.settings import Settings
from projections.base import PASSED_OVER, Rejected, Undecodable, position_of_event, screened
from projections.collecting import collected_by_hand
from projections.decoding import _decoded_quickly, _from_wire, _to_wire, decode
from projections.runner import PROJECTIONS, open_projection
from tests import factories as f
from tests.poison import escalated_for_ever, undecodable, visits_at_the_ends_of_time


@pytest.fixture
def app(tmp_path: Path) -> HubApplication:
    settings = Settings(store="sqlite", sqlite_path=tmp_path / "hub.sqlite")
    return HubApplication(env=settings.eventsourcing_env())


def the_library_way(app: HubApplication, n: Notification) -> tuple[Any, str, str]:
    """(payload or refusal, event type, event id) as the library's mapper decodes ``n``."""
    try:
        event = app.mapper.to_domain_event(n)
    except Exception as error:
        reference = position_of_event(app.name, _Stub(n), n.id)
        return (
            Rejected(reason_of(error, "decoding")),
            n.topic.rsplit(".", 1)[-1],
            reference.event_id,
        )
    position = position_of_event(app.name, event, n.id)
    return screened(event), position.event_type, position.event_id


class _Stub:
    def __init__(self, n: Notification) -> None:
        self.originator_id = n.originator_id
        self.originator_version = n.originator_version


def quick_way(app: HubApplication, n: Notification) -> tuple[Any, str, str]:
    ((found, tracking),) = decode(app, [n])
    return found, tracking.event_type, tracking.event_id  # type: ignore[attr-defined]


def seeded(app: HubApplication) -> list[Notification]:
    opened = f.consultation(person=f.person(birth_date="1950-01-02"))
    app.execute(opened)
    case_id = derived_id(opened.command_id, "case_id")
    referral = f.referral(case_id)
    app.execute(referral)
    app.execute(f.answer(case_id, referral.referral_id, "kokurakita.hogo", "accepted"))
    app.execute(f.visit(case_id, occurred_at=f.at(2)))
    escalated_for_ever(app, case_id, referral.referral_id, f.T0)
    visits_at_the_ends_of_time(app, case_id)
    undecodable(app, case_id, referral.referral_id, f.at(3))
    other = f.consultation(person=f.person())
    app.execute(other)
    app.data_keys.destroy(str(derived_id(other.command_id, "case_id")))  # erased
    return list(app.recorder.select_notifications(start=None, limit=1000))


def test_the_hubs_own_events_decode_quickly_and_as_the_library_decodes_them(
    app: HubApplication,
) -> None:
    notifications = seeded(app)
    quick = 0
    for n in notifications:
        assert quick_way(app, n) == the_library_way(app, n), n.topic
        quick += _decoded_quickly(app, n) is not None
    # All but the one whose payload no longer fits its model took the quick way.
    assert quick == len(notifications) - 1
    refused = [the_library_way(app, n)[0] for n in notifications]
    assert sum(isinstance(r, Rejected) for r in refused) == 4


def sealed_opening(notifications: list[Notification]) -> Notification:
    return next(
        n for n in notifications if n.topic.endswith("CaseOpened") and b"_sealed_" in n.state
    )


CHANGES: dict[str, tuple[bytes, bytes]] = {
    "a clear field changed (bound to the ciphertext)": (
        b'"origin":"consultation"',
        b'"origin":"discovery"',
    ),
    "the ciphertext changed": (b'"c":"', b'"c":"AAAA'),
    "the subject of the sealed fields changed": (b'"s":"', b'"s":"0'),
    "a field as an object the library's hook decodes": (
        b'"origin":"consultation"',
        b'"origin":{"_type_":"decimal_str","_data_":"1"}',
    ),
    "a key spelt with an escape": (b'"origin"', b'"\\u006frigin"'),
    "a timestamp that is no time": (b'"_data_":"20', b'"_data_":"x20'),
    "an envelope key the library upcasts by": (b'{"timestamp"', b'{"class_version":2,"timestamp"'),
    "an event type nobody registered": (b'"_type_":"CaseOpened"', b'"_type_":"CaseShut"'),
    "a payload that is not an object": (b'"payload":{', b'"payload":[{'),
    "not JSON": (b"{", b"{{"),
}


READ_AS_THE_ORIGINAL = ("a key spelt with an escape", "an envelope key the library upcasts by")


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_changed_or_garbled_event_is_refused_exactly_where_the_library_refuses_it(
    app: HubApplication, change: str
) -> None:
    original = sealed_opening(seeded(app))
    old, new = CHANGES[change]
    assert old in original.state
    changed = replace(original, state=original.state.replace(old, new, 1))

    assert quick_way(app, changed) == the_library_way(app, changed)
    found = quick_way(app, changed)[0]
    # An escaped key is the same key, and the library upcasts nothing for a class version
    # above the class's: both read as the original. Every other change is refused.
    assert isinstance(found, Rejected) == (change not in READ_AS_THE_ORIGINAL), found


def test_a_commands_receipt_is_passed_over_by_every_view_without_being_decoded(
    app: HubApplication, tmp_path: Path
) -> None:
    """Receipts are nearly half of a log's events and no view folds them: the rebuild does
    not decode them, and a receipt the screen or the model would refuse is not quarantined,
    by the rebuild's decoding or by a live runner (the views stay equal either way)."""
    notifications = seeded(app)
    receipts = [n for n in notifications if n.topic.rsplit(".", 1)[-1] in PASSED_OVER]
    assert len(receipts) == 5 and all(":CommandReceipt." in n.topic for n in receipts)
    event = app.mapper.to_domain_event(receipts[0])
    payload = event.payload.model_dump(mode="json")  # type: ignore[attr-defined]
    env = Settings(store="sqlite", sqlite_path=tmp_path / "views.sqlite").eventsourcing_env()
    for name in PROJECTIONS:  # what makes passing over lose nothing
        assert open_projection(name, env).statements("CommandAccepted", payload) == [], name

    for receipt in receipts:
        assert quick_way(app, receipt) == the_library_way(app, receipt)
        garbled = replace(receipt, state=b"{{")  # refused by any decoding: so never decoded
        assert quick_way(app, garbled)[:2] == (None, "CommandAccepted")
    assert screened(event) is None
    live = Undecodable(event.originator_id, event.originator_version, "CommandAccepted", "x")
    assert screened(live) is None
    assert isinstance(screened(replace(live, event_type="CaseOpened")), Rejected)


def test_what_crosses_to_the_folding_process_is_what_was_decoded(app: HubApplication) -> None:
    """A long log is decoded in a second process (``projections.decoding``): its batches
    cross a pipe as plain values and are read back as the same payloads, refusals and
    positions (event type and id, for the quarantine)."""
    notifications = seeded(app)
    decoded = decode(app, notifications)
    wire = pickle.loads(pickle.dumps(_to_wire(decoded, notifications[-1].id)))
    crossed, reached = _from_wire(app.name, wire)
    assert reached == notifications[-1].id
    assert [found for found, _ in crossed] == [found for found, _ in decoded]
    assert sum(isinstance(found, Rejected) for found, _ in crossed) == 4
    assert [
        (t.application_name, t.notification_id, t.event_type, t.event_id)  # type: ignore[attr-defined]
        for _, t in crossed
    ] == [
        (t.application_name, t.notification_id, t.event_type, t.event_id)  # type: ignore[attr-defined]
        for _, t in decoded
    ]


def test_the_cycle_collector_is_held_back_while_folding_and_restored_after() -> None:
    """Paused while folding; ``collect`` takes the young cycles, and the old ones (made
    before the rebuild: a connection pool's, say) are collected on leaving, so none
    outlives it."""

    class Held:
        pass

    for enabled in (True, False):
        gc.enable() if enabled else gc.disable()
        try:
            before: list[object] = [Held()]
            before.append(before)
            kept = weakref.ref(before[0])
            gc.collect()  # alive: now among the old objects
            del before
            with collected_by_hand() as collect:
                assert not gc.isenabled()
                young: list[object] = []
                young.append(young)
                del young
                assert collect() >= 1
                assert kept() is not None  # the old objects wait for the whole collection
            assert kept() is None
            assert gc.isenabled() == enabled
        finally:
            gc.enable()


def test_a_decoding_process_that_ended_just_after_the_wait_is_read_to_its_end() -> None:
    """The wait for a batch timed out, and the process ended before it was looked at: what
    it sent is in the pipe and is read; only a process that sent nothing more stopped."""
    import queue as queues
    from types import SimpleNamespace

    from projections.decoding import _NOTHING_YET, DecoderStoppedError, _next_from

    class Handed:
        def __init__(self, *items: object) -> None:
            self.items = list(items)

        def get(self, timeout: float) -> object:
            item = self.items.pop(0)
            if item is queues.Empty:
                raise queues.Empty
            return item

    ended = SimpleNamespace(is_alive=lambda: False, exitcode=0)
    assert _next_from(Handed(queues.Empty, "the last batch"), ended) == "the last batch"
    running = SimpleNamespace(is_alive=lambda: True, exitcode=None)
    assert _next_from(Handed(queues.Empty), running) is _NOTHING_YET  # it waits again
    with pytest.raises(DecoderStoppedError, match="exit code 1"):
        _next_from(
            Handed(queues.Empty, queues.Empty), SimpleNamespace(is_alive=lambda: False, exitcode=1)
        )
