"""Reading the log of record as the auditor's entries, in log order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import Notification

from hub import events as ev
from hub.application import HubApplication
from hub.caseindex import NETWORK_TYPES, PAYLOAD_TYPE
from hub.chain import ChainedRecorder, StateSearch
from hub.codec import event_id
from hub.errors import HubError
from hub.quarantine import stop_on_keys
from projections.audit.history import Entry, History, replay

PAGE = 500
CASE_PAGE = 5_000  # one case's reader decodes few of the rows it reads: larger pages


class UnreadableLogError(HubError):
    """A stored event no longer decodes: the log was damaged or edited."""


class LogEntries:
    """Every hub event of ``app``'s log (up to position ``upto``), oldest first, as entries.

    With ``case_id``, a row is decoded only if it may concern that case
    (``projections.audit.history.concerns``): its state names the case, or its payload is
    a network event. Decoding unseals personal data, one data key per subject, and is
    most of a replay's time; a case's own rows are a handful in millions. On SQLite and
    PostgreSQL the store itself finds those rows, so the rows of other cases never reach
    Python: up to the case index's head through the index (``hub.caseindex``), after it
    by scanning the states (``ChainedRecorder.select_naming``). ``position`` is the last
    position read, decoded or not.
    """

    def __init__(
        self,
        app: HubApplication,
        *,
        upto: int | None = None,
        case_id: str | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        self.app, self.upto, self.position, self.case_id = app, upto, 0, case_id
        self.topics = tuple(topics)  # only rows of these event topics, chosen by the store
        self._search: StateSearch | None = None
        if case_id is not None:
            case = UUID(case_id)
            needles = (str(case).encode(), case.hex.encode())
            self._search = StateSearch(needles, PAYLOAD_TYPE, NETWORK_TYPES)

    def __iter__(self) -> Iterator[Entry]:
        if self._search and isinstance(self.app.recorder, ChainedRecorder):
            yield from self._found_by_the_store(self.app.recorder, self._search)
            return
        app, upto = self.app, self.upto
        after: int | None = None
        while True:
            batch = app.recorder.select_notifications(
                start=after,
                limit=CASE_PAGE if self._search else PAGE,
                stop=upto,
                topics=self.topics,
                inclusive_of_start=after is None,
            )
            if not batch:
                return
            if not self._search:
                app.read_keys_ahead(batch)
            for notification in batch:
                self.position = notification.id
                if self._search and not self._search.matches(notification.state):
                    continue
                entry = _entry(app, notification)
                if entry is not None:
                    yield entry
            after = batch[-1].id
            if upto is not None and after >= upto:
                return

    def _found_by_the_store(
        self, recorder: ChainedRecorder, search: StateSearch
    ) -> Iterator[Entry]:
        last = recorder.last_notification_id(self.upto)  # rows written meanwhile: not read
        indexed = min(recorder.indexed_upto(), last)
        case = str(self.case_id)
        # up to the case index's head (``hub.caseindex``) through it; after, the store
        # searches the states
        yield from self._pages(lambda a, s: recorder.select_case(case, a, s, CASE_PAGE), 0, indexed)
        yield from self._pages(
            lambda a, s: recorder.select_naming(a, s, CASE_PAGE, search), indexed, last
        )
        self.position = last

    def _pages(
        self, select: Callable[[int, int], list[Notification]], after: int, stop: int
    ) -> Iterator[Entry]:
        while after < stop:
            batch = select(after, stop)
            for notification in batch:
                entry = _entry(self.app, notification)
                if entry is not None:
                    yield entry
            if len(batch) < CASE_PAGE:
                return
            after = batch[-1].id


def log_entries(
    app: HubApplication, *, upto: int | None = None, topics: Sequence[str] = ()
) -> Iterator[Entry]:
    """Every hub event of ``app``'s log (up to position ``upto``), oldest first; with
    ``topics``, only the events of those topics, which the store picks out undecoded."""
    return iter(LogEntries(app, upto=upto, topics=topics))


def replay_log(
    app: HubApplication, *, upto: int | None = None, case_id: str | None = None
) -> History:
    """The history of ``app``'s log up to ``upto``; with ``case_id``, of what that case's
    snapshot needs, decoding only the rows that may concern it (``LogEntries``)."""
    entries = LogEntries(app, upto=upto, case_id=case_id)
    history = replay(entries, case_id=case_id)
    history.last_position = max(history.last_position, entries.position)
    return history


def _entry(app: HubApplication, notification: Notification) -> Entry | None:
    try:
        domain_event = app.mapper.to_domain_event(notification)
    except Exception as error:  # any decoding failure of a stored record
        stop_on_keys(error)  # keys that do not unwrap are the store's, not the event's
        raise UnreadableLogError(
            f"the event at position {notification.id} cannot be read "
            f"({type(error).__name__}); run `hub audit verify-log`"
        ) from error
    payload = getattr(domain_event, "payload", None)
    if not isinstance(payload, ev.Event):
        return None
    event = str(event_id(domain_event.originator_id, domain_event.originator_version))
    return Entry(notification.id, payload, event)
