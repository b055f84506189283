"""Decode the log for the views: each notification's payload, screened once for every view.

A rebuild spends more than half its time decoding (reading each event's state, unsealing
its personal fields, validating the payload), work that needs the log and the data keys
but no view. On a long log ``decoded_batches`` does it in a second process, which reads the
log itself and hands the decoded batches over a pipe, while this process folds and writes
the views: two cores instead of one (BENCHMARKS.md, scale run). Nothing is written to disk
on the way; the payloads cross in memory only, as they do between threads.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import time
from collections.abc import Generator, Sequence
from typing import Any

from eventsourcing.persistence import Notification, Tracking

from hub.application import HubApplication
from hub.errors import HubError
from hub.logging import get_logger
from hub.quarantine import reason_of, stop_on_keys
from hub.stored import decode_quickly
from projections.base import (
    PASSED_OVER,
    Payload,
    Rejected,
    StoredPosition,
    screened,
    screened_payload,
)
from projections.collecting import collected_by_hand
from projections.follow import LogPoller

log = get_logger(__name__)

Decoded = tuple[Payload | Rejected | None, Tracking]

# Events after which a rebuild decodes in a second process: starting one (a new
# interpreter importing the hub) costs about a second, the time of ~15,000 decodes.
DECODE_APART_FROM = 50_000
# Decoded batches waiting for the folding process at most, pickled (~125 KB a batch of
# 500): enough to go on decoding through a write of the views (a few seconds on a long
# log), and memory stays bounded when the folding process is the slower.
QUEUED_BATCHES = 100
_COLLECT_EVERY = 200  # batches between the decoding process's collections of cycles
_WAIT = 1.0  # seconds between looks at whether the decoding process still runs


class DecoderStoppedError(HubError):
    """The process decoding the log ended without handing over the whole log."""


def decode(app: HubApplication, batch: Sequence[Notification]) -> list[Decoded]:
    """Each notification's payload (decoded and screened once, whatever number of views it
    feeds), or why no view can take it."""
    app.read_keys_ahead(batch)
    return [_decode_one(app, n) for n in batch]


def _decode_one(app: HubApplication, notification: Notification) -> Decoded:
    event_type = notification.topic.rsplit(".", 1)[-1]
    if event_type in PASSED_OVER:  # no view folds it: not even decoded
        return None, _position(app, notification, event_type)
    quick = _decoded_quickly(app, notification)
    if quick is not None:
        return quick
    try:
        domain_event = app.mapper.to_domain_event(notification)
    except Exception as error:  # a stored event its model no longer reads
        stop_on_keys(error)
        return Rejected(reason_of(error, "decoding")), _position(app, notification, event_type)
    decoded_type = type(getattr(domain_event, "payload", domain_event)).__name__
    return screened(domain_event), _position(app, notification, decoded_type)


def _position(app: HubApplication, notification: Notification, event_type: str) -> StoredPosition:
    return StoredPosition(
        app.name,
        notification.id,
        event_type,
        notification.originator_id,
        notification.originator_version,
    )


def _decoded_quickly(app: HubApplication, notification: Notification) -> Decoded | None:
    """The event's payload decoded by ``hub.stored.decode_quickly`` (the relay's decoder
    too), or None: decode it the library's way."""
    decoded = decode_quickly(app.mapper, notification)
    if decoded is None:
        return None
    payload = decoded.payload
    return screened_payload(payload), _position(app, notification, type(payload).__name__)


def decoded_batches(
    app: HubApplication, batch_size: int, *, apart_from: int = DECODE_APART_FROM
) -> Generator[tuple[list[Decoded], int], None, None]:
    """The whole log in batches: (each event decoded, the batch's last position). Decoded in
    a second process when the log holds ``apart_from`` events or more; what stops that
    process (a data key that does not unwrap, the store away) is raised here, as if decoded
    in this process."""
    if (app.recorder.max_notification_id() or 0) < apart_from:
        for batch in LogPoller(app.recorder, batch_size=batch_size).batches(None):
            yield decode(app, batch), batch[-1].id
        return
    yield from _decoded_apart(app, batch_size)


_NOTHING_YET = object()


def _next_from(handed: Any, decoder: Any) -> Any:
    """The next item the decoding process handed over, or ``_NOTHING_YET`` while it runs.
    Once it has ended, what it sent before is in the pipe (a process's queue is flushed
    before it exits): read once more, so that a process that ended just after the wait
    timed out is not taken for one that stopped early."""
    try:
        return handed.get(timeout=_WAIT)
    except queue.Empty:
        if decoder.is_alive():
            return _NOTHING_YET
    try:
        return handed.get(timeout=_WAIT)
    except queue.Empty:
        raise DecoderStoppedError(
            f"the process decoding the log stopped (exit code {decoder.exitcode}) "
            "before the end of the log"
        ) from None


def _decoded_apart(
    app: HubApplication, batch_size: int
) -> Generator[tuple[list[Decoded], int], None, None]:
    context = multiprocessing.get_context("spawn")  # no fork of open connections and threads
    handed: multiprocessing.Queue[Any] = context.Queue(maxsize=QUEUED_BATCHES)
    decoder = context.Process(
        target=_decode_log,
        args=(type(app), dict(app.env), batch_size, handed),
        name="hub-decoder",
        daemon=True,
    )
    decoder.start()
    log.debug("projections.decoding_apart", pid=decoder.pid)
    waited = 0.0  # seconds this process waited for decoded batches: which side is slower
    try:
        while True:
            started = time.perf_counter()
            item = _next_from(handed, decoder)
            if item is _NOTHING_YET:
                continue
            waited += time.perf_counter() - started
            if item is None:
                log.debug("projections.decoded_apart", waited_seconds=round(waited, 1))
                return
            if isinstance(item, BaseException):
                raise item
            yield _from_wire(app.name, pickle.loads(item))
    finally:
        if decoder.is_alive():
            decoder.kill()
        decoder.join()
        handed.close()


def _decode_log(
    app_class: type[HubApplication], env: dict[str, str], batch_size: int, handed: Any
) -> None:
    """The second process: decode the whole log and hand each batch over, then None; or
    the error that stopped it."""
    try:
        app = app_class(env=env, operator=None, seed_network=False)
        try:
            with collected_by_hand() as collect:
                batches = LogPoller(app.recorder, batch_size=batch_size).batches(None)
                for number, batch in enumerate(batches, 1):
                    wire = _to_wire(decode(app, batch), batch[-1].id)
                    # Pickled here, so a queued batch is held as its bytes, not its objects.
                    handed.put(pickle.dumps(wire, protocol=pickle.HIGHEST_PROTOCOL))
                    if number % _COLLECT_EVERY == 0:
                        collect()
        finally:
            app.close()
    except BaseException as error:
        handed.put(_picklable(error))
        return
    handed.put(None)


# What crosses the pipe: plain values, quick to pickle and to read back (an event's
# position as a frozen dataclass with a UUID took ~20 µs to read back; plain, ~1 µs).
_Wire = tuple[list[tuple[Payload | str | None, int, str, str, int]], int]


def _to_wire(decoded: list[Decoded], reached: int) -> _Wire:
    events = []
    for found, position in decoded:
        assert isinstance(position, StoredPosition)
        events.append(
            (
                found.reason if isinstance(found, Rejected) else found,
                position.notification_id,
                position.event_type,
                str(position.originator_id),
                position.originator_version,
            )
        )
    return events, reached


def _from_wire(app_name: str, wire: _Wire) -> tuple[list[Decoded], int]:
    events, reached = wire
    return [
        (
            Rejected(found) if isinstance(found, str) else found,
            StoredPosition(app_name, notification_id, event_type, originator_id, version),
        )
        for found, notification_id, event_type, originator_id, version in events
    ], reached


def _picklable(error: BaseException) -> BaseException:
    """``error`` if it crosses to the other process as itself, else a plain one saying it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return DecoderStoppedError(f"{type(error).__name__}: {error}")
    return error
