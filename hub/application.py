"""The hub's write side: one eventsourcing Application whose methods are the use cases.

``execute`` takes any command: it refuses a command id seen before (writing nothing),
checks the command against the reference data, loads the aggregates, lets them check
their rules, and saves every change plus a command receipt in one atomic ``save``.

Group commit: ``execute_many`` (a ``hub submit`` file) and concurrent ``execute`` calls
(the HTTP API's threads) write the commands that arrive together in one transaction, each
command still all-or-nothing: a command that breaks a rule is taken out of the group (the
group so far is written, then the command runs alone and leaves nothing); a conflict at the
save retries alone only the commands that touched what changed underneath; receipts and the
hash chain stay per command, and every event keeps its own actor.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any, TypeVar, get_args
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    OperationalError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment, get_topic
from pydantic import ValidationError

from hub import commands as c
from hub import events as ev
from hub import plausible, tracing
from hub import vocabulary as v
from hub.chain import ChainedRecorder
from hub.domain.access import AccessRecord, SearchRecord
from hub.domain.case import Case
from hub.domain.network import NETWORK_ID, NetworkDirectory
from hub.domain.others import (
    CommandReceipt,
    CommunityBase,
    CooperatingBusiness,
    Discovery,
    Meeting,
    Target,
    receipt_id,
)
from hub.errors import (
    BasisNotInForceError,
    CaseNotFoundError,
    CommunityBaseNotRegisteredError,
    ConcurrentChangeError,
    ConfigurationError,
    CooperatingBusinessNotRegisteredError,
    CoordinatorNotReferableError,
    DomainError,
    IdempotencyConflictError,
    IllegalTransitionError,
    InvalidActorError,
    InvalidCommandError,
    MeetingRuleError,
    NotAConsultationWindowError,
    NotFoundError,
    NotTheWardCoordinatorError,
    PermissionDeniedError,
    StoreUnavailableError,
    UnknownAgencyError,
    WardMismatchError,
    WardRequiredError,
    store_failure,
)
from hub.fiscal import now
from hub.identity import DEVELOPMENT_OPERATOR, Actor, Role
from hub.keys import (
    DataKeys,
    KeyWrapper,
    LocalKeyWrapper,
    MemoryKeyTable,
    Rewrapped,
    SQLKeyTable,
    key_table_of,
)
from hub.labels import BY_KEY as INDICATOR_KEYS
from hub.reference import Network, load_network
from hub.reference.directory import Directory
from hub.sealing import ERASED, SEALED, Sealer, plain_paths, sealed_subject
from hub.transcoding import register_payloads

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R", bound=ev.Event)

# Commands written per transaction at most: large enough that the commit's cost (a WAL
# flush) is shared by hundreds of commands, small enough that a group's events stay a
# modest insert and a conflict re-runs little (BENCHMARKS.md, group commit).
GROUP_SIZE = 256

# Who wrote the shipped network.json's import into a new store.
NETWORK_IMPORT = Actor("system:network-import", Role.system)
# A stored payload's model by the name its JSON gives (``_type_``).
_PAYLOAD_MODELS = {m.__name__: m for m in ev.ALL_EVENTS}


@dataclass(frozen=True)
class Outcome:
    """What a command did: the events it recorded, or that it was a duplicate."""

    command_id: UUID
    command_type: str
    duplicate: bool
    events: tuple[str, ...] = ()
    aggregate_ids: tuple[UUID, ...] = ()


@dataclass
class _Twin:
    """A command of a group under the id of an earlier one of the group, judged by what that
    earlier command came to."""

    index: int
    command: c.Command
    actor: Actor
    digest: str
    traceparent: str | None


@dataclass
class _Pending:
    """A command of a group whose events wait for the group's one transaction."""

    index: int
    command: c.Command
    actor: Actor
    events: list[Any]
    touched: set[UUID]
    outcome: Outcome
    traceparent: str | None
    digest: str = ""
    twins: list[_Twin] = field(default_factory=list)


@dataclass
class _Group:
    """Commands executed together: their events, and the aggregates they left in memory."""

    pending: list[_Pending] = field(default_factory=list)
    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    by_id: dict[UUID, _Pending] = field(default_factory=dict)


class _Running(threading.local):
    """What the command running on this thread holds. Another thread (a query's) sees
    none of it: not the group's unsaved aggregates, not its reads, not its network."""

    writing = False  # this thread holds the application's one writer's turn
    read: list[UUID] | None = None  # aggregates the running command loaded
    group: _Group | None = None  # the running group, whose reads it remembers
    directory: Directory | None = None  # the running command's network


@dataclass
class _Request:
    """One caller's command waiting to be executed, maybe in another caller's group."""

    command: c.Command
    actor: Actor | None
    traceparent: str | None  # the caller's trace: its command's span continues it
    result: Outcome | BaseException | None = None
    done: bool = False


# What a command of ``execute_many`` came to: its outcome, or the error that refused it.
Result = Outcome | Exception


class HubApplication(Application[UUID]):
    name = "hub"
    # Commands change the cached aggregates themselves, not deep copies of them (a copy of
    # a case cost ~0.75 ms a command: BENCHMARKS.md, write path). ``execute`` runs one
    # command at a time and evicts what a command read unless its save succeeded, so a
    # command that fails half way never leaves its changes in the cache.
    env = {  # noqa: RUF012 - the library reads a class dict
        "AGGREGATE_CACHE_MAXSIZE": "2000",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        operator: Actor | None = DEVELOPMENT_OPERATOR,
        seed_network: bool = True,
    ) -> None:
        super().__init__(env)
        # Who acts when a command comes without an actor: the CLI's configured operator
        # (``HUB_OPERATOR``, passed by the composition root); None: such commands are refused.
        self.operator = operator
        self._one_command_at_a_time = threading.Lock()
        self._running = _Running()
        # Queries' network: a settled copy of the directory, until another event is folded.
        self._query_directory: tuple[Directory, int, Directory] | None = None
        self._waiting: list[_Request] = []  # concurrent callers' commands, for one group
        self._serving = False  # whether a caller is writing a group now
        self._turn = threading.Condition()
        if seed_network:  # False only to copy a whole log, import included, into a new store
            self._import_network()

    # The network: reference data on the log ----------------------------------------------------

    def _import_network(self) -> None:
        """The shipped network.json becomes the first events of a new store, once."""
        # A look at the raw record, not the aggregate: opening a store whose log was tampered
        # with must still work, so that ``hub audit verify-log`` can say where.
        try:
            if self.recorder.select_events(NETWORK_ID, limit=1):
                return
        except OperationalError as error:
            raise StoreUnavailableError(f"the event store is unavailable: {error}") from error
        shipped = load_network()
        at = shipped.in_force_from or datetime.now(UTC)
        directory = NetworkDirectory.establish(shipped, at)
        _stamp(NETWORK_IMPORT, [directory])
        with contextlib.suppress(IntegrityError):  # another process imported it first
            self.save(directory)

    @property
    def directory(self) -> Directory:
        """The network folded from the log as of now (once per command while one runs)."""
        running = self._running
        if not running.writing:  # a query: the network as saved, not as being changed
            with self._writing():
                live = self._network_directory().directory
                held = self._query_directory
                if held is None or held[0] is not live or held[1] != live.revision:
                    held = self._query_directory = (live, live.revision, live.settled())
                return held[2]
        if running.read is not None and running.directory is not None:
            return running.directory
        directory = self._network_directory().directory
        if running.read is not None:
            running.directory = directory
        return directory

    @property
    def network(self) -> Network:
        """The network in force now, as the log records it."""
        return self.directory.network

    def _network_directory(self) -> NetworkDirectory:
        try:
            directory: Aggregate = self.repository.get(NETWORK_ID)
        except AggregateNotFoundError:
            self._import_network()
            directory = self.repository.get(NETWORK_ID)
        except OperationalError as error:
            raise StoreUnavailableError(f"the event store is unavailable: {error}") from error
        assert isinstance(directory, NetworkDirectory)
        return directory

    def network_events(self) -> list[ev.Event]:
        """Every network event on the log, in log order (the directory's own history)."""
        try:
            return [e.payload for e in self.events.get(NETWORK_ID)]  # type: ignore[attr-defined]
        except OperationalError as error:
            raise StoreUnavailableError(f"the event store is unavailable: {error}") from error

    def apply_network(
        self, network: Network, occurred_at: datetime, actor: Actor | None = None
    ) -> list[ev.Event]:
        """Records, as ``actor`` (an administrator), the network events that turn the
        directory into ``network``.

        An administrator's use case, not a submitted command: nothing is written when
        nothing differs, so applying the same file twice records nothing the second time.
        The CLI's operator (``HUB_OPERATOR``) acts as the administrator.
        """
        administrator = self._administrator(actor, "changing the network")
        try:
            plausible.instant(occurred_at)
        except ValueError as error:
            raise InvalidCommandError(
                f"the change's instant {error}; nothing was written"
            ) from None
        with self._writing():
            saved = False
            try:
                directory = self._network_directory()
                changed = directory.change_to(network, occurred_at)
                if changed:
                    _stamp(administrator, [directory])
                    changed = [e.payload for e in directory.pending_events]  # type: ignore[attr-defined]
                    self.save(directory)
                saved = True
                return changed
            except IntegrityError as error:
                raise ConcurrentChangeError(
                    "the network changed while this change was applied; apply the file again"
                ) from error
            finally:
                if not saved:
                    self._forget([NETWORK_ID])

    def erase_person(
        self,
        case_id: UUID,
        *,
        decided_by: str,
        reason: str,
        occurred_at: datetime | None = None,
        actor: Actor | None = None,
    ) -> list[str]:
        """Erasure (docs/PRIVACY.md), as ``actor`` (an administrator): records who decided
        and why, then destroys the data keys of the case and of the discoveries it was
        opened from; the subjects whose keys are gone.

        Not a submitted command: an administrator's use case, like changing the network.
        Again on an erased case, nothing is written and the keys are destroyed again (so an
        erasure interrupted between the event and the keys completes).
        """
        administrator = self._administrator(actor, "erasing a person")
        decided_by, reason = _erasure_grounds(decided_by, reason)

        def erase() -> tuple[Aggregate, list[str]]:
            case = self.get_case(case_id)
            return case, case.erase(occurred_at or now(), decided_by=decided_by, reason=reason)

        return self._erasure(case_id, "case", erase, administrator)

    def erase_discovery(
        self,
        discovery_id: UUID,
        *,
        decided_by: str,
        reason: str,
        occurred_at: datetime | None = None,
        actor: Actor | None = None,
    ) -> str:
        """Erasure of a discovery never linked to a case (docs/PRIVACY.md), as ``actor`` (an
        administrator): records who decided and why on the discovery, then destroys its
        data key; the subject whose key is gone. A discovery linked to a case is refused
        (its case's erasure destroys its key). Again on an erased discovery, nothing is
        written and the key is destroyed again, as ``erase_person`` does."""
        administrator = self._administrator(actor, "erasing a discovery")
        decided_by, reason = _erasure_grounds(decided_by, reason)

        def erase() -> tuple[Aggregate, list[str]]:
            discovery = self.get_discovery(discovery_id)
            at = occurred_at or now()
            return discovery, [discovery.erase(at, decided_by=decided_by, reason=reason)]

        return self._erasure(discovery_id, "discovery", erase, administrator)[0]

    def _erasure(
        self,
        aggregate_id: UUID,
        what: str,
        erase: Callable[[], tuple[Aggregate, list[str]]],
        administrator: Actor,
    ) -> list[str]:
        """Records the erasure ``erase`` makes on its aggregate (nothing when it was erased
        before), then destroys the data keys of the subjects it names: the event first, so
        that an erasure interrupted before its keys completes when made again."""
        with self._writing():
            saved = False
            try:
                aggregate, subjects = erase()
                if aggregate.pending_events:
                    _stamp(administrator, [aggregate])
                    self.save(aggregate)
                saved = True
            except IntegrityError as error:
                raise ConcurrentChangeError(
                    f"{what} {aggregate_id} changed while it was erased; erase it again"
                ) from error
            finally:
                if not saved:
                    self._forget([aggregate_id])
        for subject in subjects:
            self.data_keys.destroy(subject)
        return subjects

    def held_in_plain(self, subjects: Iterable[str]) -> list[str]:
        """Those of ``subjects`` (erased ones, say) whose events the log holds with personal
        fields in plain: stored by a release before sealing, or with
        ``HUB_SEAL_PERSONAL=false``. Destroying their keys disposes of nothing there."""
        return [
            subject
            for subject in subjects
            if any(self._stored_plain(s.state) for s in self.recorder.select_events(UUID(subject)))
        ]

    def begun_in_plain(self) -> bool:
        """Whether the first event of the log that holds personal fields holds them in plain:
        a log begun by a release before sealing, whose first events keep the details in clear
        whatever the key table holds. Reads up to that event only (a sealed log's first
        case or discovery comes early)."""
        position = 0
        while page := self.recorder.select_notifications(
            start=position, limit=500, inclusive_of_start=False
        ):
            for notification in page:
                if SEALED.encode() in self._stored_state(notification.state):
                    return False
                if self._stored_plain(notification.state):
                    return True
            position = page[-1].id
        return False

    def _stored_state(self, state: bytes) -> bytes:
        if self.mapper.cipher is not None:
            state = self.mapper.cipher.decrypt(state)
        if self.mapper.compressor is not None:
            state = self.mapper.compressor.decompress(state)
        return state

    def _stored_plain(self, state: bytes) -> bool:
        """Whether a stored event holds personal fields in plain."""
        payload = json.loads(self._stored_state(state)).get("payload")
        if not isinstance(payload, dict):
            return False
        model = _PAYLOAD_MODELS.get(str(payload.get("_type_")))
        data = payload.get("_data_")
        return model is not None and isinstance(data, dict) and bool(plain_paths(model, data))

    def confirm_erasure(
        self, case_id: UUID, agency_id: str, occurred_at: datetime, *, actor: Actor
    ) -> bool:
        """An agency's confirmation that it cleared the erased person from its inbox, read
        from its own reply topic (``actor`` is that topic's ingester); whether it wrote (a
        repeated confirmation writes nothing)."""
        if actor.role is not Role.system or actor.agency_id != agency_id:
            raise PermissionDeniedError(
                f"only the ingester of {agency_id}'s reply topic confirms its erasures; "
                "nothing was written"
            )
        with self._writing():
            saved = False
            try:
                case = self.get_case(case_id)
                coordinator = self.network.coordinator_of(case.ward).id
                case.confirm_erasure(occurred_at, agency_id=agency_id, coordinator=coordinator)
                wrote = bool(case.pending_events)
                if wrote:
                    _stamp(actor, [case])
                    self.save(case)
                saved = True
            except IntegrityError as error:
                raise ConcurrentChangeError(
                    f"case {case_id} changed while {agency_id}'s confirmation was recorded"
                ) from error
            finally:
                if not saved:
                    self._forget([case_id])
        return wrote

    def _administrator(self, actor: Actor | None, action: str) -> Actor:
        acting = self._actor(actor)
        if acting.role is Role.administrator:
            return acting
        if acting.role is Role.operator:  # the CLI's operator may do anything, this too
            return Actor(acting.subject, Role.administrator)
        raise PermissionDeniedError(
            f"{action} is an administrator's action, not one of the role {acting.role}; "
            "nothing was written"
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        # Called while the library builds the mapper, before the recorder exists: the data
        # keys get their table once it does (``_open_key_table``).
        self.data_keys = DataKeys(MemoryKeyTable(), self._key_wrapper())
        sealing = self.env.get("HUB_SEAL_PERSONAL", "y").lower() not in ("n", "no", "0")
        register_payloads(transcoder, Sealer(self.data_keys) if sealing else None)

    def _key_wrapper(self) -> KeyWrapper:
        secret = self.env.get("HUB_KEK")
        if secret:
            return LocalKeyWrapper(secret.encode())
        if self.env.get("PERSISTENCE_MODULE", "eventsourcing.popo") == "eventsourcing.popo":
            return LocalKeyWrapper(os.urandom(32))  # an in-memory store lives as long
        raise ConfigurationError(
            "no key-encryption key for the personal data in the store: set HUB_KEK "
            "(the composition root passes it from the settings)"
        )

    def rewrap_data_keys(self, previous: KeyWrapper) -> Rewrapped:
        """Every person's data key wrapped with this process's key-encryption key
        (``HUB_KEK``), unwrapped with ``previous`` (the key it replaces), in one transaction
        and in the writer's turn: the keys themselves, and so the sealed log, do not change."""
        with self._writing():
            return self.data_keys.table.rewrap(previous, self.data_keys.wrapper)

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """The library's environment: the process's, then ``env``. The library looks a key up
        as ``<NAME>_<KEY>`` before ``<KEY>``, and this application is named hub: the process's
        ``HUB_POSTGRES_SCHEMA`` (a setting of the hub's own) shadowed the ``POSTGRES_SCHEMA``
        the composition root chose, so `hub demo --store postgres` wrote its generated year
        into the operator's schema, not ``<schema>_demo``. What ``env`` says holds."""
        environment = super().construct_env(name, env)
        for key, value in (env or {}).items():
            environment[f"{name.upper()}_{key}"] = value
        return environment

    def construct_recorder(self) -> Any:
        recorder = super().construct_recorder()
        self.data_keys.table = key_table_of(recorder)
        if self.env.get("CREATE_TABLE", "y").lower() not in ("n", "no", "0", "false"):
            self.data_keys.table.create()
        if isinstance(recorder, ChainedRecorder) and isinstance(self.data_keys.table, SQLKeyTable):
            # A new case's data key is written in the transaction of its first events.
            recorder.before_insert = self.data_keys.write_unsaved
            recorder.after_insert = self.data_keys.settle
            self.data_keys.defer = True
        return recorder

    def read_keys_ahead(self, stored: Iterable[StoredEvent]) -> None:
        """Reads at once the data keys that decoding ``stored`` will unseal with."""
        subjects = (sealed_subject(e.state) for e in stored)
        self.data_keys.read_ahead(s for s in subjects if s is not None)

    def erasures_among(self, stored: Sequence[StoredEvent]) -> set[str]:
        """The data subjects of ``stored`` (their aggregates, and whose keys seal them) that
        were erased, as the store says now; their keys are forgotten in this process, so
        that those events decode as erased whatever this process read before."""
        subjects = {str(e.originator_id) for e in stored}
        subjects.update(s for s in (sealed_subject(e.state) for e in stored) if s is not None)
        return self.data_keys.erased_among(subjects)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        plain: list[tuple[Any, Any]] = []
        try:
            # The data keys of the subjects of these events: one read, not one a new case.
            self.data_keys.look_up(_subjects(processing_event.events))
            self._key_digests(processing_event.events, plain)
            recordings = super()._record(processing_event)
        except BaseException:
            self.data_keys.drop_unsaved()
            for event, payload in plain:  # a retry keys them again, maybe with another key
                object.__setattr__(event, "payload", payload)
            raise
        self.data_keys.keep_unsaved()
        return recordings

    def _key_digests(self, events: Iterable[Any], plain: list[tuple[Any, Any]]) -> None:
        """Each receipt's digest replaced by its MAC under the data key of the person the
        command concerns, the key this very transaction seals the person's fields with
        (made now with them when new); each receipt's event and plain payload kept in
        ``plain``, to be put back if the transaction fails."""
        for event in events:
            payload = getattr(event, "payload", None)
            if not isinstance(payload, ev.CommandAccepted) or payload.command_digest is None:
                continue
            subject = payload._digest_subject
            if subject is None:  # the command concerns no person (the network, a target)
                continue
            key = self.data_keys.digest_key(subject, making=True)
            stored = None if key is None else keyed_digest(subject, key, payload.command_digest)
            object.__setattr__(
                event, "payload", payload.model_copy(update={"command_digest": stored})
            )
            plain.append((event, payload))

    # The one entry point for commands --------------------------------------------------------

    def execute(self, command: c.Command, actor: Actor | None = None) -> Outcome:
        """Applies ``command`` as ``actor`` (the configured operator when None).

        Callers that arrive while another command runs are executed together, in one
        transaction, by whichever of them gets the application next (group commit)."""
        request = _Request(command, actor, tracing.current())
        batch: list[_Request] = []
        with self._turn:
            self._waiting.append(request)
            while self._serving and not request.done:
                self._turn.wait()
            if not request.done:  # this caller writes the group of everyone waiting now
                self._serving = True
                batch, self._waiting = self._waiting, []
        if batch:
            try:
                with self._writing():
                    self._serve(batch)
            finally:
                with self._turn:
                    self._serving = False
                    self._turn.notify_all()  # the served callers return, one waiting serves
        result = request.result
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        return result

    def _serve(self, batch: list[_Request]) -> None:
        results: list[Result | BaseException | None] = [None] * len(batch)
        try:
            if len(batch) == 1:
                first = batch[0]
                results[0] = self._alone(first.command, self._actor(first.actor), first.traceparent)
            else:
                self._execute_many(
                    [(r.command, r.actor) for r in batch],
                    [r.traceparent for r in batch],
                    results,  # type: ignore[arg-type]
                )
        except BaseException as error:
            # The store went away: the callers whose commands were written or refused
            # before it did hear that; the others hear the outage.
            results = [error if r is None else r for r in results]
        for request, result in zip(batch, results, strict=True):
            request.result = result
            request.done = True

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The application's one writer's turn: commands and the administrators' use cases
        run one at a time, and a query's read waits outside it (``_load``)."""
        with self._one_command_at_a_time:
            self._running.writing = True
            try:
                yield
            finally:
                self._running.writing = False

    def execute_many(
        self,
        requests: Sequence[tuple[c.Command, Actor | None]],
        traceparents: Sequence[str | None] | None = None,
        decided: list[Result | None] | None = None,
    ) -> list[Result]:
        """Applies commands in order, each as its actor (None: the configured operator),
        in groups of up to ``GROUP_SIZE`` per transaction; per command its Outcome or the
        error that refused it (it wrote nothing). StoreUnavailableError is raised:
        the groups before it are written, the rest not; ``decided`` (one None per command),
        filled in as each result is final, says which. ``traceparents``: per command, the
        trace its span continues (None: the caller's current one)."""
        results: list[Result | None] = [None] * len(requests) if decided is None else decided
        with self._writing():
            self._execute_many(requests, traceparents, results)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _execute_many(
        self,
        requests: Sequence[tuple[c.Command, Actor | None]],
        traceparents: Sequence[str | None] | None,
        results: list[Result | None],
    ) -> None:
        """Fills ``results`` in as each command's result is final (the caller's list, so
        that what was decided before an outage is known after it)."""
        here = tracing.current()
        group = _Group()
        self._running.directory = None
        try:
            for index, (command, actor) in enumerate(requests):
                try:
                    acting = self._actor(actor)
                except InvalidActorError as error:
                    results[index] = error
                    continue
                traceparent = traceparents[index] if traceparents is not None else here
                with tracing.span(
                    f"command {type(command).__name__}",
                    traceparent,
                    attributes={"hub.command_id": str(command.command_id)},
                ):
                    group = self._add(group, index, command, acting, results)
                if len(group.pending) >= GROUP_SIZE:
                    self._commit(group, results)
                    group = _Group()
            self._commit(group, results)
        except BaseException:
            self._forget(group.aggregates)
            raise
        finally:
            self._running.read = None
            self._running.group = None

    def _add(
        self,
        group: _Group,
        index: int,
        command: c.Command,
        actor: Actor,
        results: list[Result | None],
    ) -> _Group:
        """Executes ``command`` into ``group`` (its events kept for the group's save), or,
        when it is refused, writes the group so far and runs the command alone. Returns the
        group that goes on."""
        command_type = type(command).__name__
        digest = c.command_digest(command)
        earlier = group.by_id.get(command.command_id)
        if earlier is not None:  # the same id twice in one group: judged by the first's fate
            earlier.twins.append(_Twin(index, command, actor, digest, tracing.current()))
            return group
        read: list[UUID] = []
        running = self._running
        running.read, running.group = read, group
        try:
            changed = self._handle(command)
        except StoreUnavailableError:
            self._forget(read)
            raise
        except Exception:
            # What it read may hold half its changes: out of memory before anything is
            # written. Then the group so far, then the command alone on what is stored (it
            # may repeat a command applied before, or break a rule: it writes nothing).
            running.read = running.group = None
            self._forget(read)
            for aggregate_id in read:
                group.aggregates.pop(aggregate_id, None)
            self._commit(group, results)
            results[index] = self._alone(command, actor, tracing.current())
            return _Group()
        finally:
            running.read = running.group = None
        receipt = self._receipt(command, digest, changed)
        _stamp(actor, [*changed, receipt])
        _trace([*changed, receipt])  # the command's own span, whoever's thread runs it
        events = [e for a in (*changed, receipt) for e in a.collect_events()]
        for aggregate in changed:
            group.aggregates[aggregate.id] = aggregate
        pending = _Pending(
            index,
            command,
            actor,
            events,
            {*read, *(a.id for a in changed), receipt.id},
            Outcome(
                command.command_id,
                command_type,
                duplicate=False,
                events=tuple(
                    type(e).__name__ for e in events if not isinstance(e, CommandReceipt.Event)
                ),
                aggregate_ids=tuple(a.id for a in changed),
            ),
            tracing.current(),
            digest,
        )
        group.pending.append(pending)
        group.by_id[command.command_id] = pending
        return group

    def _commit(self, group: _Group, results: list[Result | None]) -> None:
        """Writes the group's commands in one transaction; on a conflict, writes those
        that touched nothing changed underneath and runs the others alone."""
        if not group.pending:
            return
        try:
            self._write([e for p in group.pending for e in p.events])
        except IntegrityError:
            self._resolve(group, results)
            return
        except OperationalError as error:
            self._forget(group.aggregates)
            raise StoreUnavailableError(
                f"the event store is unavailable ({store_failure(error)}); the group of "
                f"{len(group.pending)} commands was not written"
            ) from error
        for pending in group.pending:
            self._decided(pending, pending.outcome, results)
        cache = self.repository.cache
        if cache is not None:  # as stored now; a later read fast-forwards them as usual
            for aggregate_id, aggregate in group.aggregates.items():
                cache.put(aggregate_id, aggregate)

    def _write(self, events: list[Any]) -> None:
        """``save`` for events already collected: the library's ``collect_events`` checks
        each one against a runtime Protocol, a tenth of a command's CPU in a group."""
        processing = ProcessingEvent[UUID]()
        processing.events.extend(events)
        recordings = self._record(processing)
        self._notify(recordings)

    def _resolve(self, group: _Group, results: list[Result | None]) -> None:
        self._forget(group.aggregates)
        first: dict[UUID, int] = {}
        for pending in group.pending:
            for event in pending.events:
                first.setdefault(event.originator_id, event.originator_version)
        try:
            changed = {
                aggregate_id
                for aggregate_id, version in first.items()
                if any(
                    e.originator_version >= version
                    for e in self.recorder.select_events(aggregate_id, desc=True, limit=1)
                )
            }
        except OperationalError as error:
            raise StoreUnavailableError(
                f"the event store is unavailable ({store_failure(error)})"
            ) from error
        # A command that touched what changed, or what such a command touched, runs alone
        # (after the others, which never touch its aggregates later in the group).
        tainted = set(changed)
        keep: list[_Pending] = []
        alone: list[_Pending] = []
        for pending in group.pending:
            if not changed or pending.touched & tainted:
                tainted |= pending.touched
                alone.append(pending)
            else:
                keep.append(pending)
        if keep:
            try:
                self._write([e for p in keep for e in p.events])
            except IntegrityError:  # changed again meanwhile: every command alone
                alone = sorted([*keep, *alone], key=lambda p: p.index)
            except OperationalError as error:
                raise StoreUnavailableError(
                    f"the event store is unavailable ({store_failure(error)})"
                ) from error
            else:
                for pending in keep:
                    self._decided(pending, pending.outcome, results)
        for pending in alone:
            outcome = self._alone(pending.command, pending.actor, pending.traceparent)
            self._decided(pending, outcome, results)

    def _decided(self, pending: _Pending, result: Result, results: list[Result | None]) -> None:
        """A command's final result, and then its twins' (the same id later in its group):
        after a write, the repeat of it or a reused id; after a refusal, each runs alone."""
        results[pending.index] = result
        for twin in pending.twins:
            command_type = type(twin.command).__name__
            if isinstance(result, Exception):
                results[twin.index] = self._alone(twin.command, twin.actor, twin.traceparent)
            elif twin.digest == pending.digest:
                results[twin.index] = Outcome(twin.command.command_id, command_type, duplicate=True)
            else:
                results[twin.index] = _reused_id(twin.command, command_type)

    def _alone(self, command: c.Command, actor: Actor, traceparent: str | None) -> Result:
        """One command in its own transaction; a refusal is returned, an outage raised.
        Its span continues ``traceparent`` (the caller's trace; None: the current one)."""
        read: list[UUID] = []
        running = self._running
        running.read, running.directory = read, None
        saved = False
        try:
            with tracing.span(
                f"command {type(command).__name__}",
                traceparent,
                attributes={"hub.command_id": str(command.command_id)},
            ):
                outcome = self._execute(command, actor)
            saved = not outcome.duplicate
            return outcome
        except StoreUnavailableError:
            raise
        except Exception as error:  # a refusal, or a fault of this command alone
            return error
        finally:
            running.read = None
            if not saved:
                self._forget(read)

    def _actor(self, actor: Actor | None) -> Actor:
        if actor is not None:
            return actor
        if self.operator is None:
            raise InvalidActorError(
                "no one to act as: set HUB_OPERATOR to your own id (outside development mode "
                "there is no default operator); nothing was written"
            )
        return self.operator

    def _forget(self, aggregate_ids: Iterable[UUID]) -> None:
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def _execute(self, command: c.Command, actor: Actor) -> Outcome:
        command_type = type(command).__name__
        # No read of the receipt up front: a repeated command either breaks a rule of the
        # state its first run left (checked below) or conflicts on its receipt in ``save``.
        # That saves one store round trip per command (BENCHMARKS.md, write path).
        digest = c.command_digest(command)
        try:
            changed = self._handle(command)
        except DomainError:
            if self._repeated(command, digest):
                return Outcome(command.command_id, command_type, duplicate=True)
            raise
        receipt = self._receipt(command, digest, changed)
        _stamp(actor, [*changed, receipt])
        _trace([*changed, receipt])
        try:
            recordings = self.save(*changed, receipt)
        except IntegrityError as error:
            if self._repeated(command, digest):
                return Outcome(command.command_id, command_type, duplicate=True)
            raise ConcurrentChangeError(
                f"{command_type} {command.command_id}: the case was changed by someone else "
                "at the same time; nothing was written, reload and try again"
            ) from error
        except OperationalError as error:
            raise StoreUnavailableError(
                f"the event store is unavailable ({store_failure(error)}); nothing was written"
            ) from error
        return Outcome(
            command.command_id,
            command_type,
            duplicate=False,
            events=tuple(
                type(r.domain_event).__name__
                for r in recordings
                if not isinstance(r.domain_event, CommandReceipt.Event)
            ),
            aggregate_ids=tuple(a.id for a in changed),
        )

    @staticmethod
    def _receipt(command: c.Command, digest: str, changed: Iterable[Aggregate]) -> CommandReceipt:
        """The command's receipt; its digest is stored keyed by the person the command's
        events concern (``_key_digests``)."""
        payload = ev.CommandAccepted(
            occurred_at=command.occurred_at,
            command_id=command.command_id,
            command_type=type(command).__name__,
            command_digest=digest,
        )
        payload._digest_subject = _person_of(changed)
        return CommandReceipt(payload=payload)

    # アクセス記録 ----------------------------------------------------------------------------

    def record_access(
        self,
        actor: Actor | None,
        case_id: UUID,
        fields: Iterable[str],
        basis: str,
        purpose: str,
        *,
        at: datetime | None = None,
        basis_refs: Iterable[str] = (),
    ) -> UUID | None:
        """Records that ``actor`` (None: the configured operator) is shown ``fields`` (paths
        such as ``person.name``) of the person of ``case_id``, on ``basis`` (resting on
        ``basis_refs``: the consents, meetings, declarations or statutes, as the ledger's
        ``basis_ref`` names them) for ``purpose``; call it before the response leaves, so
        an unrecorded read is never shown. Returns the access id, or None when no personal
        field is shown (nothing to record)."""
        shown = sorted(set(fields))
        if not shown:
            return None
        payload = _read_record(
            "access record",
            ev.PersonalDataAccessed,
            occurred_at=at or now(),
            access_id=uuid4(),
            case_id=case_id,
            fields=shown,
            basis=basis,
            purpose=purpose,
            # An agency's staff read for their agency: the record names which one.
            agency_id=actor.agency_id if actor is not None else None,
            basis_refs=list(dict.fromkeys(basis_refs)),
        )
        self._save_read(actor, AccessRecord(payload=payload))
        return payload.access_id

    def record_search(
        self,
        actor: Actor | None,
        ward: str | None,
        criteria: Iterable[str],
        results: int,
        purpose: str,
        *,
        at: datetime | None = None,
    ) -> UUID:
        """Records a 名寄せ search by ``actor`` within ``ward``: the kinds of criteria given
        (``kana``, ``birth_date``, ``address``, never their values) and how many people it
        showed, zero included. Call it before the results leave, like ``record_access``."""
        payload = _read_record(
            "search record",
            ev.PeopleSearched,
            occurred_at=at or now(),
            search_id=uuid4(),
            ward=ward,
            criteria=sorted(set(criteria)),
            results=results,
            purpose=purpose,
        )
        self._save_read(actor, SearchRecord(payload=payload))
        return payload.search_id

    def _save_read(self, actor: Actor | None, record: Aggregate) -> None:
        _stamp(self._actor(actor), [record])
        try:
            # The events alone: a read leaves nothing in the aggregate cache.
            self.save(*record.collect_events())
        except OperationalError as error:
            raise StoreUnavailableError(
                f"the event store is unavailable ({store_failure(error)}); the read was not "
                "recorded, so nothing is shown"
            ) from error

    def read_person(
        self,
        case_id: UUID,
        actor: Actor | None,
        basis: str,
        purpose: str,
        *,
        also: Iterable[str] = (),
        only: Collection[str] | None = None,
    ) -> ev.PersonDetails | None:
        """The details held on the person of a case, the read recorded first (アクセス記録);
        ``also``: fields shown beside them from elsewhere (a discovery's report), in the
        same record; ``only``: the fields the caller shows (``name``), the others neither
        returned nor recorded as read (a record names what was shown, not all that is held).

        On an erased case, each text field the log held reads ``［消去済み］`` (the erased
        reads of ``hub.sealing``); nothing personal is shown, so no read is recorded."""
        case = self.get_case(case_id)
        if case.erased:
            return self._erased_person(case_id)
        person = case.person
        also = list(also)
        if person is None and not also:
            return None  # nothing is shown: no basis asked, nothing recorded
        at = now()
        # A basis or purpose outside the vocabulary is refused as invalid input first. The
        # basis is asked of a case without details too when ``also`` shows something (its
        # narratives): as personal as the details, and recorded on that basis.
        known = basis in get_args(v.AccessBasis) and purpose in get_args(v.AccessPurpose)
        refs = self._basis_refs(case_id, basis, at) if known else []
        if refs is None:
            raise BasisNotInForceError(
                f"case {case_id} holds no {basis} basis now: the read is not recorded, and "
                "nothing is shown"
            )
        if person is None:
            self.record_access(actor, case_id, also, basis, purpose, at=at, basis_refs=refs)
            return None
        if only is not None:
            person = ev.PersonDetails.model_validate(
                {k: v for k, v in person.model_dump().items() if k in only}
            )
        shown = [f"person.{k}" for k, v in person.model_dump().items() if v is not None]
        self.record_access(actor, case_id, [*shown, *also], basis, purpose, at=at, basis_refs=refs)
        return person

    def _basis_refs(self, case_id: UUID, basis: str, at: datetime) -> list[str] | None:
        """What, in the case as last saved, gives ``basis`` at ``at`` (``Case.basis_refs``:
        None when nothing does): judged in the writer's turn, since a query's copy of the
        case (``get_case``) shares its consents, meetings, emergencies and referrals with
        the cached case, which a running command (a group that may yet fail) changes in
        place."""
        turn = contextlib.nullcontext() if self._running.writing else self._writing()
        with turn:
            return self.get_case(case_id).basis_refs(basis, at)

    def records_reads(self, case_id: UUID) -> bool:
        """Whether ``read_person`` of this case records a read: not when the case holds no
        details of the person, nor once the person is erased (nothing personal is shown)."""
        case = self.get_case(case_id)
        return not case.erased and case.person is not None

    def _erased_person(self, case_id: UUID) -> ev.PersonDetails | None:
        """The person of an erased case as its events read now: every text field the log
        held as ``ERASED``; None when the case never held the person's details."""
        held: set[str] = set()
        for stored in self.recorder.select_events(case_id):
            payload = self.mapper.to_domain_event(stored).payload  # type: ignore[attr-defined]
            held.update(
                path.removeprefix("person.")
                for path in ev.erased_fields(payload)
                if path.startswith("person.")
            )
        shown = {name: ERASED for name in sorted(held & ev.PERSON_TEXT_FIELDS)}
        return ev.PersonDetails.model_validate(shown) if shown else None

    def is_duplicate(self, command_id: UUID) -> bool:
        return self._exists(receipt_id(command_id))

    def accepted_at(self, command_id: UUID) -> datetime | None:
        """When the command applied under ``command_id`` happened, or None if none was.

        A door that stamps a command's time itself (an HTTP answer) stamps a retry with the
        first time, so the retry is the same command, not a different one under a reused id.
        """
        try:
            receipt = self._get(CommandReceipt, receipt_id(command_id), lambda: NotFoundError())
        except NotFoundError:
            return None
        return receipt.occurred_at

    def _repeated(self, command: c.Command, digest: str) -> bool:
        """Whether the command's id was applied already: to this very command (a duplicate),
        or to different content (refused, so that a reused id never passes for done)."""
        try:
            receipt = self._get(
                CommandReceipt, receipt_id(command.command_id), lambda: NotFoundError()
            )
        except NotFoundError:
            return False
        if not receipt.repeats(lambda stored: self._same_digest(stored, digest)):
            raise _reused_id(command, receipt.command_type)
        return True

    def _same_digest(self, stored: str, digest: str) -> bool:
        """Whether a receipt's digest, as stored, is that of the command with ``digest``.
        A person erased since leaves nothing to compare: the command counts as the one
        accepted, and nothing is written again."""
        subject = keyed_subject(stored)
        if subject is None:  # kept plain: in this process's memory, or a command of no one
            return hmac.compare_digest(stored, digest)
        # Asked of the store, not this process's keys: an erasure in another process since
        # they were read leaves this one holding a key that must confirm nothing any more.
        if self.data_keys.erased_among([subject]):
            return True
        key = self.data_keys.digest_key(subject)
        return key is None or hmac.compare_digest(stored, keyed_digest(subject, key, digest))

    # Queries the write side needs ----------------------------------------------------------

    def get_case(self, case_id: UUID) -> Case:
        """The case (see ``_load``): on a query's thread a copy as last saved, whose
        attributes a later command sets anew (ward, person, erased) stay as read; its
        collections (referrals, consents...) are the cached case's own, which a running
        command changes in place: a query reads those from the views, not from here."""
        return self._get(Case, case_id, lambda: CaseNotFoundError(f"no case {case_id}"))

    def get_discovery(self, discovery_id: UUID) -> Discovery:
        return self._get(
            Discovery, discovery_id, lambda: NotFoundError(f"no discovery {discovery_id}")
        )

    def _get(self, cls: type[A], aggregate_id: UUID, missing: Callable[[], Exception]) -> A:
        try:
            aggregate: Aggregate = self._load(aggregate_id)
        except AggregateNotFoundError:
            raise missing() from None
        except OperationalError as error:
            raise StoreUnavailableError(f"the event store is unavailable: {error}") from error
        if not isinstance(aggregate, cls):
            raise missing()
        return aggregate

    def _load(self, aggregate_id: UUID) -> Aggregate:
        """The aggregate as the running command sees it: as an earlier command of its group
        left it in memory, else from the cache or the store. A query (no command runs on
        its thread) gets it as last saved: read in the writer's turn, so never while a
        command changes the cached object in place, and a copy of it, which that command
        does not change afterwards."""
        running = self._running
        if not running.writing:
            with self._writing():
                return copy.copy(self.repository.get(aggregate_id))
        if running.read is not None:
            running.read.append(aggregate_id)
        group = running.group
        if group is not None:
            held = group.aggregates.get(aggregate_id)
            if held is not None:
                return held
        aggregate: Aggregate = self.repository.get(aggregate_id)
        if group is not None:
            group.aggregates[aggregate_id] = aggregate
        return aggregate

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self._load(aggregate_id)
        except AggregateNotFoundError:
            return False
        except OperationalError as error:
            raise StoreUnavailableError(
                f"the event store is unavailable ({store_failure(error)}); nothing was written"
            ) from error
        return True

    def _agency(self, agency_id: str) -> str:
        self.directory.agency(agency_id)
        return agency_id

    def _agencies(self, ids: Iterable[str]) -> list[str]:
        return [self._agency(i) for i in ids]

    def _scope(self, scope: Iterable[str]) -> list[str]:
        groups = self.network.group_names
        for entry in scope:
            if entry not in groups and not self.network.is_agency(entry):
                raise UnknownAgencyError(f"unknown agency or agency group {entry!r}")
        return list(scope)

    def _require_new(self, aggregate_id: UUID, what: str) -> None:
        if self._exists(aggregate_id):
            raise IllegalTransitionError(f"{what} {aggregate_id} already exists")

    def _community_base(self, base_id: UUID) -> CommunityBase:
        missing = lambda: CommunityBaseNotRegisteredError(f"no community base {base_id}")  # noqa: E731
        return self._get(CommunityBase, base_id, missing)

    def _cooperating_business(self, business_id: UUID) -> CooperatingBusiness:
        missing = lambda: CooperatingBusinessNotRegisteredError(  # noqa: E731
            f"no cooperating business {business_id}"
        )
        return self._get(CooperatingBusiness, business_id, missing)

    # Handlers: one per command ---------------------------------------------------------------

    @singledispatchmethod
    def _handle(self, command: c.Command) -> list[Aggregate]:
        raise InvalidCommandError(f"no handler for {type(command).__name__}")

    @_handle.register
    def _(self, cmd: c.ReportDiscovery) -> list[Aggregate]:
        self.network.ward(cmd.ward)
        if cmd.reporter_group is not None:
            self.network.partner_group(cmd.reporter_group)
        if cmd.reporter_agency is not None:
            self._agency(cmd.reporter_agency)
        self._require_new(cmd.discovery_id, "discovery")
        return [
            Discovery.report(
                cmd.occurred_at,
                discovery_id=cmd.discovery_id,
                reporter_kind=cmd.reporter_kind,
                reporter_group=cmd.reporter_group,
                reporter_agency=cmd.reporter_agency,
                ward=cmd.ward,
                signs=cmd.signs,
                urgency=cmd.urgency,
                channel=cmd.channel,
                note=cmd.note,
                person=cmd.person,
            )
        ]

    @_handle.register
    def _(self, cmd: c.ReceiveConsultation) -> list[Aggregate]:
        window = self.directory.agency(cmd.window_agency)
        if not window.is_consultation_window:
            raise NotAConsultationWindowError(f"{cmd.window_agency} is not a consultation window")
        if cmd.ward is not None:
            # The person's ward is for a city-wide window; a ward's window opens its cases in
            # its ward, and a ward stated otherwise (or unknown) is refused, not passed over.
            self.network.ward(cmd.ward)
            if window.ward is not None and cmd.ward != window.ward:
                raise WardMismatchError(
                    f"{cmd.window_agency} is a window of {window.ward}: its consultation "
                    f"cannot be of {cmd.ward} (ward is given only at a city-wide window)"
                )
        if cmd.case_id is None:
            case_id = c.derived_id(cmd.command_id, "case_id")
            ward = window.ward or cmd.ward
            if ward is None:
                raise WardRequiredError(
                    f"{cmd.window_agency} serves the whole city: give the person's ward"
                )
            self.network.ward(ward)
            case = Case.open(
                cmd.occurred_at,
                case_id=case_id,
                ward=ward,
                origin="consultation",
                discovery_id=None,
                person=cmd.person,
            )
        else:
            case = self.get_case(cmd.case_id)
            if cmd.person is not None:
                case.record_person_details(cmd.occurred_at, cmd.person)
        case.receive_consultation(
            cmd.occurred_at,
            consultation_id=cmd.consultation_id,
            window_agency=cmd.window_agency,
            needs=cmd.needs,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.OpenCase) -> list[Aggregate]:
        self.network.ward(cmd.ward)
        self._require_new(cmd.case_id, "case")
        changed: list[Aggregate] = []
        origin = "consultation"
        person: ev.PersonDetails | None = cmd.person
        if cmd.discovery_id is not None:
            discovery = self.get_discovery(cmd.discovery_id)
            reported = discovery.link_to_case(cmd.occurred_at, cmd.case_id, ward=cmd.ward)
            changed.append(discovery)
            origin = "discovery"
            # The person the report names is the case's person: without the details on the
            # case, no basis could ever deliver a name or an address to an agency. What
            # the officer states replaces the report's field by field.
            if reported is not None:
                person = reported.merged_with(person) if person else reported
        case = Case.open(
            cmd.occurred_at,
            case_id=cmd.case_id,
            ward=cmd.ward,
            origin=origin,
            discovery_id=cmd.discovery_id,
            person=person,
        )
        return [case, *changed]

    @_handle.register
    def _(self, cmd: c.RecordPersonDetails) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.record_person_details(cmd.occurred_at, cmd.person)
        return [case]

    @_handle.register
    def _(self, cmd: c.ClearPersonDetails) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.clear_person_details(cmd.occurred_at, cmd.fields)
        return [case]

    @_handle.register
    def _(self, cmd: c.RecordAssessment) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.assess(
            cmd.occurred_at,
            needs=cmd.needs,
            complexity=cmd.complexity,
            summary=cmd.summary,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.ReferCase) -> list[Aggregate]:
        if self.directory.agency(cmd.agency_id).kind == "coordinator":
            raise CoordinatorNotReferableError(
                f"{cmd.agency_id} is a ward's いのちネット担当 (coordinator), which refers cases "
                "and hears of escalations: refer the case to an agency that supports"
            )
        case = self.get_case(cmd.case_id)
        case.refer(
            cmd.occurred_at,
            referral_id=cmd.referral_id,
            agency_id=cmd.agency_id,
            purpose=cmd.purpose,
            urgency=cmd.urgency,
            statute=cmd.statute,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.AnswerReferral) -> list[Aggregate]:
        self._agency(cmd.agency_id)
        case = self.get_case(cmd.case_id)
        if cmd.recorded_by is not None:
            coordinator = self.network.coordinator_of(case.ward).id
            if cmd.recorded_by != coordinator:
                raise NotTheWardCoordinatorError(
                    f"an answer on an agency's behalf is recorded by {coordinator}, the "
                    f"coordinator of the case's ward, not by {cmd.recorded_by}"
                )
        case.answer_referral(
            cmd.occurred_at,
            referral_id=cmd.referral_id,
            agency_id=cmd.agency_id,
            answer=cmd.answer,
            reason=cmd.reason,
            reason_code=cmd.reason_code,
            outcome=cmd.outcome,
            recorded_by=cmd.recorded_by,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.CancelReferral) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.cancel_referral(
            cmd.occurred_at, cmd.referral_id, reason_code=cmd.reason_code, reason=cmd.reason
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.EscalateReferral) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.escalate_referral(
            cmd.occurred_at,
            cmd.referral_id,
            coordinator=self.network.coordinator_of(case.ward).id,
            overdue_minutes=cmd.overdue_minutes,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.GiveConsent) -> list[Aggregate]:
        self._scope(cmd.scope)
        case = self.get_case(cmd.case_id)
        case.give_consent(
            cmd.occurred_at,
            consent_id=cmd.consent_id,
            scope=cmd.scope,
            purposes=cmd.purposes,
            data_categories=cmd.data_categories,
            valid_from=cmd.valid_from,
            valid_until=cmd.valid_until,
            by_proxy=cmd.by_proxy,
            proxy_relationship=cmd.proxy_relationship,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.RefuseConsent) -> list[Aggregate]:
        self._scope(cmd.scope)
        case = self.get_case(cmd.case_id)
        case.refuse_consent(
            cmd.occurred_at,
            consent_id=cmd.consent_id,
            scope=cmd.scope,
            reason=cmd.reason,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.WithdrawConsent) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.withdraw_consent(
            cmd.occurred_at,
            consent_id=cmd.consent_id,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.RequestUseStop) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.request_use_stop(cmd.occurred_at, request_id=cmd.request_id, reason=cmd.reason)
        return [case]

    @_handle.register
    def _(self, cmd: c.HoldMeeting) -> list[Aggregate]:
        if cmd.ward is not None:
            self.network.ward(cmd.ward)
        members = self._agencies(cmd.members)
        self._require_new(cmd.meeting_id, "meeting")
        if len(set(cmd.case_ids)) != len(cmd.case_ids):
            raise MeetingRuleError("a meeting lists each case once")
        cases = [self.get_case(case_id) for case_id in cmd.case_ids]
        for case in cases:
            case.take_up_in_meeting(
                cmd.occurred_at, meeting_id=cmd.meeting_id, kind=cmd.kind, members=members
            )
        meeting = Meeting.hold(
            cmd.occurred_at,
            meeting_id=cmd.meeting_id,
            kind=cmd.kind,
            ward=cmd.ward,
            members=cmd.members,
            case_ids=cmd.case_ids,
        )
        return [meeting, *cases]

    @_handle.register
    def _(self, cmd: c.MoveToSupportMeeting) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.move_to_support_meeting(cmd.occurred_at)
        return [case]

    @_handle.register
    def _(self, cmd: c.DecideSupport) -> list[Aggregate]:
        self._agency(cmd.lead_agency)
        case = self.get_case(cmd.case_id)
        case.decide_support(
            cmd.occurred_at,
            meeting_id=cmd.meeting_id,
            lead_agency=cmd.lead_agency,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.AgreePlan) -> list[Aggregate]:
        self._agency(cmd.lead_agency)
        self._agencies(role.agency_id for role in cmd.roles)
        case = self.get_case(cmd.case_id)
        case.agree_plan(
            cmd.occurred_at,
            plan_id=cmd.plan_id,
            meeting_id=cmd.meeting_id,
            issues=cmd.issues,
            goals=cmd.goals,
            lead_agency=cmd.lead_agency,
            roles=cmd.roles,
            period_from=cmd.period_from,
            period_until=cmd.period_until,
            monitoring_date=cmd.monitoring_date,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.EvaluateCase) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.evaluate(
            cmd.occurred_at,
            evaluation=cmd.evaluation,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.SuspendCase) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.suspend(
            cmd.occurred_at,
            reason=cmd.reason,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.CloseCase) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.close(
            cmd.occurred_at,
            reason=cmd.reason,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.RecordOutreachVisit) -> list[Aggregate]:
        agency_id = self._agency(cmd.agency_id or self.network.outreach_contractor().id)
        case = self.get_case(cmd.case_id)
        case.record_visit(
            cmd.occurred_at,
            visit_id=cmd.visit_id,
            agency_id=agency_id,
            outcome=cmd.outcome,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.RecordSupportActivity) -> list[Aggregate]:
        self._agency(cmd.agency_id)
        case = self.get_case(cmd.case_id)
        case.record_activity(
            cmd.occurred_at,
            activity_id=cmd.activity_id,
            agency_id=cmd.agency_id,
            kind=cmd.kind,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.MatchParticipation) -> list[Aggregate]:
        if cmd.business_id is not None:
            self._cooperating_business(cmd.business_id).check_in_network_at(cmd.occurred_at)
        if cmd.base_id is not None:
            self._community_base(cmd.base_id).check_open_at(cmd.occurred_at)
        case = self.get_case(cmd.case_id)
        case.match_participation(
            cmd.occurred_at,
            match_id=cmd.match_id,
            place_kind=cmd.place_kind,
            business_id=cmd.business_id,
            base_id=cmd.base_id,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.ArrangeWatchOver) -> list[Aggregate]:
        for watcher in cmd.watchers:
            if not self.network.is_agency(watcher):
                self.network.partner_group(watcher)
        case = self.get_case(cmd.case_id)
        case.arrange_watch_over(
            cmd.occurred_at,
            watch_id=cmd.watch_id,
            watchers=cmd.watchers,
            frequency=cmd.frequency,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.DeclareEmergency) -> list[Aggregate]:
        self._agencies(cmd.agencies)
        case = self.get_case(cmd.case_id)
        case.declare_emergency(
            cmd.occurred_at,
            declaration_id=cmd.declaration_id,
            agencies=cmd.agencies,
            data_categories=cmd.data_categories,
            reason=cmd.reason,
            expires_at=cmd.expires_at,
            sensitive_categories=cmd.sensitive_categories,
            sensitive_reason=cmd.sensitive_reason,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.ReviewBreakGlass) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.review_break_glass(
            cmd.occurred_at,
            declaration_id=cmd.declaration_id,
            reviewer=cmd.reviewer,
            verdict=cmd.verdict,
            note=cmd.note,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.EndEmergency) -> list[Aggregate]:
        case = self.get_case(cmd.case_id)
        case.end_emergency(
            cmd.occurred_at,
            declaration_id=cmd.declaration_id,
        )
        return [case]

    @_handle.register
    def _(self, cmd: c.RegisterCooperatingBusiness) -> list[Aggregate]:
        if cmd.ward is not None:
            self.network.ward(cmd.ward)
        self._require_new(cmd.business_id, "business")
        return [
            CooperatingBusiness.register(
                cmd.occurred_at,
                business_id=cmd.business_id,
                name=cmd.name,
                kind=cmd.kind,
                ward=cmd.ward,
            )
        ]

    @_handle.register
    def _(self, cmd: c.RegisterCommunityBase) -> list[Aggregate]:
        self.network.ward(cmd.ward)
        self._require_new(cmd.base_id, "community base")
        return [
            CommunityBase.register(
                cmd.occurred_at,
                base_id=cmd.base_id,
                name=cmd.name,
                kind=cmd.kind,
                ward=cmd.ward,
            )
        ]

    @_handle.register
    def _(self, cmd: c.WithdrawCooperatingBusiness) -> list[Aggregate]:
        business = self._cooperating_business(cmd.business_id)
        business.withdraw(cmd.occurred_at, last_named=self._last_match(business_id=business.id))
        return [business]

    @_handle.register
    def _(self, cmd: c.CloseCommunityBase) -> list[Aggregate]:
        base = self._community_base(cmd.base_id)
        base.close(cmd.occurred_at, last_named=self._last_match(base_id=base.id))
        return [base]

    def _last_match(
        self, *, business_id: UUID | None = None, base_id: UUID | None = None
    ) -> datetime | None:
        """When the latest participation match naming the business or base happened (None:
        none): an end dated before it would leave the log a match at a partner already gone.
        The matches are the cases' events, picked out of the log by the store by topic."""
        topic = get_topic(Case.ParticipationMatched)  # type: ignore[attr-defined]
        latest: datetime | None = None
        after: int | None = None
        while batch := self.recorder.select_notifications(
            start=after, limit=500, topics=[topic], inclusive_of_start=after is None
        ):
            for notification in batch:
                match = self.mapper.to_domain_event(notification).payload  # type: ignore[attr-defined]
                named = (business_id is not None and match.business_id == business_id) or (
                    base_id is not None and match.base_id == base_id
                )
                if named and (latest is None or match.occurred_at > latest):
                    latest = match.occurred_at
            after = batch[-1].id
        return latest

    @_handle.register
    def _(self, cmd: c.HoldGathering) -> list[Aggregate]:
        base = self._community_base(cmd.base_id)
        base.hold_gathering(
            cmd.occurred_at,
            gathering_id=cmd.gathering_id,
            participants=cmd.participants,
            bodies=cmd.bodies,
        )
        return [base]

    @_handle.register
    def _(self, cmd: c.SetTarget) -> list[Aggregate]:
        if cmd.indicator not in INDICATOR_KEYS:
            raise InvalidCommandError(
                f"indicator: not a code of table ④: {cmd.indicator!r} "
                f"(one of {', '.join(sorted(INDICATOR_KEYS))})"
            )
        target_id = Target.id_for(cmd.fiscal_year, cmd.indicator)
        if not self._exists(target_id):
            return [
                Target.set(
                    cmd.occurred_at,
                    fiscal_year=cmd.fiscal_year,
                    indicator=cmd.indicator,
                    value=cmd.value,
                    note=cmd.note,
                )
            ]
        target = self._get(Target, target_id, lambda: NotFoundError(f"no target {target_id}"))
        target.revise(cmd.occurred_at, value=cmd.value, note=cmd.note)
        return [target]


def _read_record(what: str, model: type[R], **fields: Any) -> R:
    """The payload of a read's record, or InvalidCommandError naming the fields (not their
    values, which may be a person's)."""
    try:
        return model(**fields)
    except ValidationError as error:
        problems = {str(e["loc"][0]) for e in error.errors(include_input=False)}
        raise InvalidCommandError(
            f"{what}: invalid {', '.join(sorted(problems))} (see `hub schema events "
            f"{model.__name__}`)"
        ) from None


def _reused_id(command: c.Command, used_for: str) -> IdempotencyConflictError:
    """``used_for``: the type of the command the id was first used for."""
    given = type(command).__name__
    what = f"a different {used_for}" if used_for == given else f"{used_for} (this is {given})"
    return IdempotencyConflictError(
        f"IdempotencyConflictError: command_id {command.command_id} was already used "
        f"for {what}; nothing was written (give this command a new command_id)"
    )


def _erasure_grounds(decided_by: str, reason: str) -> tuple[str, str]:
    """Who decided an erasure and why, both required (neither names the person)."""
    decided_by, reason = decided_by.strip(), reason.strip()
    if not decided_by or not reason:
        raise InvalidCommandError(
            "an erasure needs who decided it and why (--decided-by, --reason); nothing was written"
        )
    return decided_by, reason


def _stamp(actor: Actor, aggregates: Iterable[Aggregate]) -> None:
    """Records who acted on every event the command made, the one place that does so."""
    acted_by = ev.ActedBy(subject=actor.subject, role=str(actor.role))
    for aggregate in aggregates:
        for pending in aggregate.pending_events:
            # A pending event is the command's own until saved: stamped in place (a
            # ``dataclasses.replace`` per event cost more than the stamp itself).
            payload = pending.payload.model_copy(update={"actor": acted_by})  # type: ignore[attr-defined]
            object.__setattr__(pending, "payload", payload)


def _trace(aggregates: Iterable[Aggregate]) -> None:
    """Keeps the command's traceparent with every event it made (docs/TRACING.md): in the
    stored event beside its payload, where no record value and no governance reads it."""
    traceparent = tracing.current()
    if traceparent is None:
        return
    for aggregate in aggregates:
        for pending in aggregate.pending_events:
            tracing.stamp_event(pending, traceparent)


KEYED = "hmac:"  # a stored digest: hmac:<subject>:<MAC of the digest, hex>


def keyed_digest(subject: str, key: bytes, digest: str) -> str:
    """A command's digest as its receipt stores it (``HubApplication._key_digests``)."""
    return f"{KEYED}{subject}:{hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()}"


def keyed_subject(stored: str) -> str | None:
    """The subject whose data key a stored digest is keyed with, or None when plain."""
    if not stored.startswith(KEYED):
        return None
    return stored[len(KEYED) :].split(":", 1)[0]


def _person_of(changed: Iterable[Aggregate]) -> str | None:
    """The person (case, else discovery) the events of a command concern, as sealing names
    the subject of a payload (``hub.sealing.subject_of``)."""
    discovery = None
    for aggregate in changed:
        for pending in aggregate.pending_events:
            payload = getattr(pending, "payload", None)
            case_id = getattr(payload, "case_id", None)
            if case_id is not None:
                return str(case_id)
            discovery = discovery or getattr(payload, "discovery_id", None)
    return str(discovery) if discovery is not None else None


def _subjects(events: Iterable[Any]) -> set[str]:
    """The data subjects (cases, discoveries) whose events these are (``hub.sealing``)."""
    subjects: set[str] = set()
    for domain_event in events:
        payload = getattr(domain_event, "payload", None)
        subject = getattr(payload, "case_id", None) or getattr(payload, "discovery_id", None)
        if subject is not None:
            subjects.add(str(subject))
    return subjects
