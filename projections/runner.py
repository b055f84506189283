"""Run the hub's projections: open their views, catch up, follow the log, rebuild.

On PostgreSQL a live projection runs in the library's ``ProjectionRunner`` (push
subscription); on SQLite in ``PollingRunner``, which has the same shape but polls the log
(``projections.follow``). Catching up and rebuilding read the log in batches on both stores
and apply each batch with its tracking row in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    Mapper,
    StoredEvent,
    Tracking,
    WaitInterruptedError,
)
from eventsourcing.projection import ProjectionRunner
from eventsourcing.utils import Environment

from hub.application import HubApplication
from hub.errors import ConfigurationError, InvalidCommandError
from hub.files import private_sqlite
from hub.log_waits import LogWait, TimedWait, log_wait
from hub.logging import get_logger
from hub.quarantine import reason_of, stop_on_keys
from projections.base import HubProjection, Undecodable
from projections.bulk import BulkView, OddTexts, bulk_view
from projections.case_state import CaseStateProjection
from projections.collecting import collected_by_hand
from projections.decoding import DECODE_APART_FROM, Decoded, decode, decoded_batches
from projections.follow import LogPoller
from projections.inbox import InboxProjection
from projections.indicator_view import IndicatorsProjection
from projections.sqlview import SqlView

log = get_logger(__name__)

PROJECTIONS: dict[str, type[HubProjection[Any]]] = {
    p.name: p for p in (CaseStateProjection, InboxProjection, IndicatorsProjection)
}
Progress = Callable[[int, int], None]  # (events in the batch, position reached)


class UnknownProjectionError(InvalidCommandError):
    """No projection has that name."""


def projection_class(name: str) -> type[HubProjection[Any]]:
    try:
        return PROJECTIONS[name]
    except KeyError:
        known = ", ".join(PROJECTIONS)
        raise UnknownProjectionError(f"no projection {name!r} (known: {known})") from None


def store_kind(env: Mapping[str, str]) -> Literal["sqlite", "postgres"]:
    module = env.get("PERSISTENCE_MODULE", "")
    if module.endswith("postgres"):
        return "postgres"
    if module.endswith("sqlite"):
        return "sqlite"
    raise ConfigurationError(f"projections need the sqlite or postgres store, not {module!r}")


def view_env(env: Mapping[str, str], name: str) -> dict[str, str]:
    """The application's env plus where this projection's view lives.

    On SQLite each view has its own file next to the log (``hub.sqlite`` →
    ``hub.indicators.sqlite``); on PostgreSQL its tables sit in the application's schema,
    prefixed with the projection's name.
    """
    result = dict(env)
    if store_kind(env) == "sqlite":
        db = Path(env["SQLITE_DBNAME"])
        result[f"{name.upper()}_SQLITE_DBNAME"] = str(db.with_name(f"{db.stem}.{name}{db.suffix}"))
    return result


def open_view(
    cls: type[HubProjection[Any]], env: Mapping[str, str], *, rebuilding: bool = False
) -> SqlView:
    """The projection's view; refused if written by other rules than this release's
    (``OutdatedViewError``), unless it is opened to be rebuilt."""
    own = view_env(env, cls.name)
    file = own.get(f"{cls.name.upper()}_SQLITE_DBNAME", ":memory:")
    if not file.startswith((":memory:", "file:")):
        # A view names cases with their needs, consents and referrals: 0600 as the store.
        private_sqlite(Path(file))
    factory = InfrastructureFactory[Any].construct(env=Environment(cls.name, own))
    view: SqlView = factory.tracking_recorder(cls.views[store_kind(env)])
    if not rebuilding:
        view.check_rules(cls.name)
    return view


def open_projection(
    name: str, env: Mapping[str, str], *, rebuilding: bool = False
) -> HubProjection[Any]:
    cls = projection_class(name)
    return cls(view=open_view(cls, env, rebuilding=rebuilding))


def position_of(projection: HubProjection[Any], app_name: str) -> int:
    """The view's stored position (0 before the first event), stored if it was missing."""
    position = projection.view.max_tracking_id(app_name)
    if position is None:
        projection.view.start_position()
        position = projection.view.max_tracking_id(app_name)
    return position or 0


def apply(
    projection: HubProjection[Any], decoded: Sequence[Decoded], position: int
) -> tuple[int, int]:
    """Apply the decoded events after ``position`` to one view in one transaction:
    (the view's position afterwards, events applied).

    If another runner moved the view's position meanwhile, nothing is applied (the batch's
    transaction is refused) and the position returned is the other runner's.
    """
    mine = [item for item in decoded if item[1].notification_id > position]
    if not mine:
        return position, 0
    try:
        projection.process_payloads(mine, after=position)
    except IntegrityError:
        moved = projection.view.max_tracking_id(mine[0][1].application_name) or 0
        if moved == position:
            raise
        log.info("projection.overtaken", projection=projection.name, position=moved)
        return moved, 0
    return mine[-1][1].notification_id, len(mine)


def step(
    projection: HubProjection[Any], app: HubApplication, poller: LogPoller, position: int
) -> tuple[int, int]:
    """Apply the batch after ``position``: (the position now, events applied)."""
    batch = poller.read(position)
    if not batch:
        return position, 0
    return apply(projection, decode(app, batch), position)


def catch_up_all(
    projections: Sequence[HubProjection[Any]],
    app: HubApplication,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Bring every view up to the log in one pass over it: each batch is read and decoded
    once and applied to each view whose position is behind it (one transaction per view and
    batch, with that view's tracking row). Returns the events each view was given."""
    if not projections:
        return {}
    poller = LogPoller(app.recorder, batch_size=batch_size)
    positions = [position_of(projection, app.name) for projection in projections]
    applied = {projection.name: 0 for projection in projections}
    position = min(positions)
    while batch := poller.read(position):
        decoded = decode(app, batch)
        for index, projection in enumerate(projections):
            positions[index], count = apply(projection, decoded, positions[index])
            applied[projection.name] += count
        # A view overtaken by another runner continues from that runner's position, which
        # may lie inside this batch: read again from the slowest view.
        position = min(positions)
        if progress:
            progress(len(batch), position)
    log.debug("projections.caught_up", projections=list(applied), position=position)
    return applied


def catch_up(
    projection: HubProjection[Any],
    app: HubApplication,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> int:
    """Apply every event after the view's position; returns how many this call applied."""
    return catch_up_all([projection], app, batch_size=batch_size, progress=progress)[
        projection.name
    ]


# Events folded in memory before a rebuild writes what it holds to the views and forgets it:
# memory is bounded by a chunk, not by the log (BENCHMARKS.md, rebuild and growth).
FOLD_CHUNK = 100_000
# Rows (and keys checked) the folds may hold before they are written, whatever the events
# so far: a chunk of a log with more people at once (a prefecture's log, not a city's)
# touches more rows per event, and memory grows with the rows (BENCHMARKS.md, scale run).
FOLD_ROWS = 100_000


def rebuild_all(
    projections: Sequence[HubProjection[Any]],
    app: HubApplication,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
    fold_chunk: int = FOLD_CHUNK,
    fold_rows: int = FOLD_ROWS,
    decode_apart_from: int = DECODE_APART_FROM,
) -> dict[str, int]:
    """Drop the views and replay the whole log into them in one pass (stop live runners
    first).

    The hub's own views are folded in memory (``projections.bulk``): no statement per event.
    Every ``fold_chunk`` events, after a batch that leaves the folds holding ``fold_rows``
    rows or more, and at the end, each view is written with its position in one
    transaction and the fold forgets its rows; in a later chunk a row it does not hold
    is read back from the view by key when an event touches it. A log of
    ``decode_apart_from`` events or more is decoded in a second process while this one
    folds (``projections.decoding``). Every view is rebuilt with its statements, batch by
    batch as catching up does, when any projection among them has statements of its own."""
    if fold_chunk < 1:
        raise ValueError(f"a fold chunk holds at least one event, not {fold_chunk}")
    for projection in projections:
        projection.view.drop()
        log.info("projection.dropped", projection=projection.name)
    odd_texts = OddTexts()  # one check of each payload's texts for every view
    folds = [bulk_view(projection, odd_texts) for projection in projections]
    if not projections or None in folds:
        return catch_up_all(projections, app, batch_size=batch_size, progress=progress)
    views = [fold for fold in folds if fold is not None]
    for projection in projections:
        # An index costs a rebuild more in the rows it writes again than it saves in the
        # rows it reads back (by primary key): each is made once the folds are written.
        projection.view.drop_indexes()
    batches = decoded_batches(app, batch_size, apart_from=decode_apart_from)
    try:
        with collected_by_hand() as collect:
            folded = _fold_all(views, app.name, batches, progress, fold_chunk, fold_rows, collect)
    finally:
        batches.close()  # a decoding process stops now, not when the generator is freed
        for view in views:
            view.close()
    for projection in projections:
        projection.view.create_indexes()
    # Events appended while the rebuild ran (none when live runners were stopped).
    rest = catch_up_all(projections, app, batch_size=batch_size, progress=progress)
    return {name: count + rest[name] for name, count in folded.items()}


def _write(views: Sequence[BulkView], tracking: Tracking, collect: Callable[[], int]) -> None:
    """Writes every view's rows with the position ``tracking``; then, holding little, runs
    the cycle collector (paused while folding: ``projections.collecting``)."""
    for view in views:
        view.write(tracking)
    collect()


def _fold_all(
    views: Sequence[BulkView],
    app_name: str,
    batches: Iterator[tuple[list[Decoded], int]],
    progress: Progress | None,
    chunk: int,
    rows: int,
    collect: Callable[[], int],
) -> dict[str, int]:
    events, unwritten, last = 0, 0, None  # unwritten: events folded since the last write
    for decoded, reached in batches:
        for view in views:
            view.prefetch(decoded)
        for found, tracking in decoded:
            for view in views:
                view.take(found, tracking)
            unwritten += 1
            if unwritten >= chunk:
                _write(views, tracking, collect)
                unwritten = 0
        events, last = events + len(decoded), Tracking(app_name, reached)
        if unwritten and sum(view.fold.held() for view in views) >= rows:
            _write(views, last, collect)
            unwritten = 0
        if progress:
            progress(len(decoded), reached)
    if last is not None and unwritten:
        _write(views, last, collect)
    log.debug("projections.folded", projections=[v.projection.name for v in views], events=events)
    return {view.projection.name: events for view in views}


def rebuild(
    projection: HubProjection[Any],
    app: HubApplication,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> int:
    """Drop the view and replay the whole log into it (stop its live runner first)."""
    return rebuild_all([projection], app, batch_size=batch_size, progress=progress)[projection.name]


class PollingRunner:
    """Like the library's ``ProjectionRunner``, for stores without a push subscription."""

    def __init__(
        self,
        *,
        application_class: type[HubApplication],
        projection_class: type[HubProjection[Any]],
        env: Mapping[str, str],
        batch_size: int = 500,
        interval: float = 0.2,
    ) -> None:
        self.app = application_class(env=dict(env))
        self.app_name = self.app.name
        self.view = open_view(projection_class, env)
        self.projection = projection_class(view=self.view)
        self._poller = LogPoller(self.app.recorder, batch_size=batch_size, interval=interval)
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        waiting: LogWait = TimedWait()
        try:
            waiting = log_wait(self.app.recorder)  # woken by a commit, the interval at most
            position = position_of(self.projection, self.app_name)
            while not self._stopping.is_set():
                reached, _ = step(self.projection, self.app, self._poller, position)
                if reached == position:
                    waiting.wait(self._stopping, self._poller.interval)
                position = reached
        except BaseException as error:  # handed to the caller by wait() and run_forever()
            self._error = error
        finally:
            waiting.close()
            self._stopping.set()

    @property
    def is_interrupted(self) -> threading.Event:
        return self._stopping

    def stop(self) -> None:
        self._stopping.set()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def run_forever(self, timeout: float | None = None) -> None:
        self._stopping.wait(timeout=timeout)
        self._raise()

    def wait(self, notification_id: int | None, timeout: float = 1.0) -> None:
        try:
            self.view.wait(self.app_name, notification_id, timeout, interrupt=self._stopping)
        except WaitInterruptedError:
            self._raise()

    def __enter__(self) -> PollingRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._thread.join()
        self.app.close()
        self._raise()


class QuarantiningMapper(Mapper[UUID]):
    """The library's mapper, except that a stored event its model no longer reads becomes
    an ``Undecodable`` (which every view quarantines) instead of an error that would stop
    the library's push runner with the view behind it (invariant 9)."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            return super().to_domain_event(stored_event)
        except Exception as error:
            stop_on_keys(error)
            return Undecodable(
                UUID(str(stored_event.originator_id)),
                stored_event.originator_version,
                stored_event.topic.rsplit(".", 1)[-1],
                reason_of(error, "decoding"),
            )


def following(application_class: type[HubApplication]) -> type[HubApplication]:
    """``application_class`` for a live runner's subscription only (it reads, never saves):
    its mapper hands undecodable events on as ``Undecodable``."""

    class Following(application_class):  # type: ignore[valid-type,misc]
        name = application_class.name  # the same log, env and tracking rows

        def construct_mapper(self) -> Mapper[UUID]:
            plain = super().construct_mapper()
            return QuarantiningMapper(plain.transcoder, plain.compressor, plain.cipher)

    Following.__name__ = f"Following{application_class.__name__}"
    return Following


Runner = PollingRunner | ProjectionRunner[HubApplication, Any]


def start_runner(
    application_class: type[HubApplication],
    cls: type[HubProjection[Any]],
    env: Mapping[str, str],
    *,
    batch_size: int = 500,
) -> Runner:
    """A live runner for one projection: the library's on PostgreSQL, polling on SQLite;
    refused for a view written by another release's rules (``OutdatedViewError``)."""
    if store_kind(env) == "postgres":
        open_view(cls, env).release()  # the library's runner opens its own, unchecked
        return ProjectionRunner(
            application_class=following(application_class),
            projection_class=cls,
            view_class=cls.views["postgres"],
            env=view_env(env, cls.name),
        )
    return PollingRunner(
        application_class=application_class, projection_class=cls, env=env, batch_size=batch_size
    )
