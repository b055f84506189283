"""The composition root: every long-lived part of the hub, built from the settings.

The CLI, the demo, the benchmarks and the tests build through these functions; nothing else
constructs the application, the relay, the agency client, the reply ingester, the timers,
the ledger, the projections or the audit's sources. The parts themselves (hub/, producers/,
consumers/, projections/) take what they need as arguments and never build each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import InfrastructureFactory, PersistenceError
from eventsourcing.utils import Environment
from kafka import TopicPartition
from prometheus_client.registry import Collector

from consumers import agency
from consumers.agency import AgencyConsumer, RetryReport
from consumers.audit import AuditStream, read_audit_stream, read_witnessed_head
from consumers.config import ConsumerSettings, get_consumer_settings
from consumers.escalation import EscalationTimer
from consumers.inbox import Inbox, inbox_path
from consumers.inbox import open_inbox as _open_inbox
from consumers.kafka_io import (
    KafkaConfirmations,
    KafkaDeadLetters,
    KafkaSource,
    KafkaWriter,
    fixed_topics,
    matching_topics,
    records_at,
)
from consumers.replies import ReplyIngester
from hub import kafka_clients, topics
from hub.application import HubApplication
from hub.errors import (
    ConfigurationError,
    HubError,
    PasswordRefusedError,
    RelayStoreBehindError,
    ServiceUnavailableError,
    StoreUnavailableError,
    UnknownAgencyError,
    database_missing,
    password_refused,
    store_failure,
)
from hub.identity import DEVELOPMENT_OPERATOR, Actor, operator
from hub.kafka_clients import credentials
from hub.reference import Network
from hub.settings import Settings, StoreKind, get_settings, postgres_hint
from hub.sqldialect import quote
from ops import metrics
from producers.ledger import (
    TRACKING_NAME,
    PostgresRelayLedger,
    RelayLedger,
    SQLiteRelayLedger,
    position_name_of,
)
from producers.relay import RELAY_PRINCIPAL, Relay, make_producer
from producers.streams_check import check_streams_hold
from projections.audit.history import Entry, History, replay
from projections.audit.source import replay_log
from projections.audit.tamper import Anchor, LogVerdict, verify_log, witness_finding
from projections.audit.verify import Disclosure
from projections.base import HubProjection
from projections.runner import Runner, projection_class, start_runner
from projections.runner import open_projection as _open_projection

if TYPE_CHECKING:
    from ops.usecases import HubService

# The log of record -----------------------------------------------------------------------


def open_application(
    settings: Settings | None = None,
    store: StoreKind | None = None,
    *,
    seed_network: bool = True,
) -> HubApplication:
    """The hub application on the store the settings name (or ``store``).

    A new store gets the shipped network as its first events; ``seed_network=False`` only
    to copy a whole log (its own import included) into an empty store.
    """
    settings = settings or get_settings()
    kind = store or settings.store

    def opened() -> HubApplication:
        return HubApplication(
            env=settings.eventsourcing_env(kind),
            operator=configured_operator(settings),
            seed_network=seed_network,
        )

    try:
        try:
            return opened()
        except PersistenceError as error:
            if not _schema_missing(error):
                raise
            _create_postgres_schema(settings)  # a new HUB_POSTGRES_SCHEMA, as an inbox's is
            return opened()
    except PersistenceError as error:
        if kind == "sqlite":  # a file: no service to start, but a disk or a mode to look at
            raise StoreUnavailableError(
                f"the sqlite event store {settings.sqlite_file} is unavailable "
                f"({store_failure(error)})"
            ) from error
        refusal = "password" if password_refused(error) else _login_refusal(settings)
        if refusal == "password":
            raise PasswordRefusedError.of(
                settings.postgres_user,
                settings.postgres_host,
                settings.postgres_port,
                settings.postgres_dbname,
            ) from error
        if refusal == "database":
            raise StoreUnavailableError(
                f"PostgreSQL at {settings.postgres_host}:{settings.postgres_port} has no "
                f"database {settings.postgres_dbname}: check HUB_POSTGRES_DBNAME (a database "
                "other than hub is made by its administrator)"
            ) from error
        raise StoreUnavailableError(
            f"the {kind} event store is unavailable ({type(error).__name__}); is it running? "
            f"{postgres_hint(settings)}"
        ) from error


def _login_refusal(settings: Settings) -> str | None:
    """Whether PostgreSQL refuses the hub's login, for its ``password`` or for a
    ``database`` that does not exist: the library's pool says only that no connection came,
    so one connection is tried as the pool would make it (None: not refused so)."""
    import psycopg

    try:
        with psycopg.connect(**settings.postgres_connection(), connect_timeout=5):
            return None
    except psycopg.Error as error:
        if password_refused(error):
            return "password"
        return "database" if database_missing(error) else None


def _schema_missing(error: PersistenceError) -> bool:
    import psycopg.errors

    return isinstance(error.__cause__, psycopg.errors.InvalidSchemaName)


def _create_postgres_schema(settings: Settings) -> None:
    """Creates ``HUB_POSTGRES_SCHEMA``, only when it is missing (the role may lack the right
    to create one in a database whose administrator made the schema)."""
    import psycopg

    try:
        with psycopg.connect(**settings.postgres_connection(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(settings.postgres_schema)}")
    except psycopg.Error as error:
        raise StoreUnavailableError(
            f"HUB_POSTGRES_SCHEMA {settings.postgres_schema!r} does not exist and could not "
            f"be created ({type(error).__name__}); ask the database's administrator for it"
        ) from error


def configured_operator(settings: Settings) -> Actor | None:
    """``HUB_OPERATOR``; unset, the development operator in development mode, else no one."""
    if settings.operator:
        if settings.mode != "development" and settings.operator == DEVELOPMENT_OPERATOR.subject:
            raise ConfigurationError(
                f"refusing to start in {settings.mode} mode: HUB_OPERATOR is "
                f"{settings.operator!r}, the development operator's name: set the officer's own id"
            )
        return operator(settings.operator)
    return DEVELOPMENT_OPERATOR if settings.mode == "development" else None


def open_memory_application() -> HubApplication:
    """A hub application on an in-memory store (generators and unit tests)."""
    return HubApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@contextmanager
def application(settings: Settings | None = None) -> Iterator[HubApplication]:
    """``open_application`` closed on leaving the block."""
    app = open_application(settings)
    try:
        yield app
    finally:
        app.close()


def open_service(settings: Settings) -> HubService:
    """The use cases the HTTP API serves, on the application the settings name."""
    from ops.usecases import HubService

    return HubService(
        open_application(settings),
        settings,
        projections={name: open_projection(settings, name) for name in HubService.VIEWS},
        ledger=lambda: open_ledger(settings),
    )


# Reference data --------------------------------------------------------------------------


def network(settings: Settings | None = None) -> Network:
    """The agency network in force now, as the log of record holds it (issue 15, item 1):
    what the parts outside the application check agency ids against."""
    with application(settings) as app:
        return app.network


def known_agency(settings: Settings, agency_id: str) -> str:
    """``agency_id`` if the network knows it, else ``UnknownAgencyError``."""
    if not network(settings).is_agency(agency_id):
        raise UnknownAgencyError(f"unknown agency {agency_id!r}")
    return agency_id


# The relay -------------------------------------------------------------------------------


def open_ledger(settings: Settings, store: StoreKind | None = None) -> RelayLedger:
    """The relay's ledger in the store the settings name (tables created if missing)."""
    kind = store or settings.store
    env = Environment(TRACKING_NAME, settings.eventsourcing_env(kind))  # type: ignore[arg-type]
    ledger_class = SQLiteRelayLedger if kind == "sqlite" else PostgresRelayLedger
    try:
        factory: Any = InfrastructureFactory.construct(env=env)
        ledger: RelayLedger = factory.tracking_recorder(ledger_class)
        ledger.position_name = position_name_of(settings)  # type: ignore[attr-defined]
    except PersistenceError as error:
        raise StoreUnavailableError(
            f"the {kind} store is unavailable for the relay's ledger ({type(error).__name__})"
        ) from error
    return ledger


def open_producer(settings: Settings, principal: str = RELAY_PRINCIPAL) -> Any:
    """The relay's idempotent producer, as the tenant's ``principal`` (never the super user)."""
    return make_producer(settings, principal)


def open_relay(
    settings: Settings,
    app: HubApplication | None = None,
    *,
    principal: str = RELAY_PRINCIPAL,
    batch_size: int = 500,
    producer: Any = None,
) -> Relay:
    """A relay on the store and broker the settings name (on ``app`` if given), as the
    tenant's relay principal.

    Refuses (``RelayPositionAheadError``) when its topics are missing or empty while its
    stored position is not: a wiped broker or a new prefix would silently skip the log.
    Refuses (``RelayStoreBehindError``) a log that does not hold the head the relay last
    witnessed on audit.consent: a store restored from an older backup.
    """
    ledger = open_ledger(settings)
    store = app or open_application(settings)
    if producer is None:
        try:
            check_streams_hold(settings, ledger.position(), principal)
            check_store_holds_witness(settings, store)
        except BaseException:  # a refusal, a store fault, Ctrl-C during the reads
            if app is None:
                store.close()
            raise
    return Relay(
        settings,
        store,
        ledger,
        producer if producer is not None else open_producer(settings, principal),
        batch_size=batch_size,
    )


def check_store_holds_witness(settings: Settings, app: HubApplication) -> None:
    """Refuses a log that ends before, or differs at, the newest chain head the relay
    published (read as the tenant's auditor, as ``hub audit verify-log`` reads it)."""
    head = read_witnessed_head(settings, way_out=WITNESS_UNREAD, client_id="hub-relay-check")
    if head is None or not hasattr(app.recorder, "select_links"):
        return
    found = witness_finding(app.recorder, Anchor(head.position, head.chain_hash))  # type: ignore[arg-type]
    if found is None:
        return
    if found.kind == "truncated":
        end = app.recorder.max_notification_id() or 0
        what = f"the log ends at {end}, but the relay already published it up to {head.position}"
        how = "restored from an older backup"
    else:
        what = f"the log differs at {head.position} from the chain head the relay published there"
        how = "restored from an older backup and written to since"
    raise RelayStoreBehindError(
        f"RelayStoreBehindError: {what} (a store {how}?): new events would go out at "
        f"positions agencies hold for others. {STORE_BEHIND_WAY_OUT}"
    )


# A witness that cannot be read says nothing of the store: its line names the read, never a
# restore or a new prefix (the broker away, or the auditor's password refused).
WITNESS_UNREAD = (
    "the relay reads the chain head it witnessed on audit.consent as the tenant's auditor "
    "before it publishes; start it again once that read works"
)

STORE_BEHIND_WAY_OUT = (
    "Restore a later backup (`hub audit verify-log` must say the witnessed head holds), or "
    "publish the whole log again under a new prefix: HUB_KAFKA_TOPIC_PREFIX=<new>. "
    "hub kafka provision && hub relay"
)


# The agency side and the hub's ingestion --------------------------------------------------


def open_inbox(
    settings: Settings, agency_id: str, consumer_settings: ConsumerSettings | None = None
) -> Inbox:
    """The agency's local inbox, where the consumer settings put it."""
    return _open_inbox(agency_id, settings, consumer_settings or get_consumer_settings())


def inbox_kept(
    settings: Settings, agency_id: str, consumer_settings: ConsumerSettings | None = None
) -> bool:
    """False only where it is sure: no SQLite inbox file for the agency (a PostgreSQL inbox
    is taken as kept, without a round trip to ask)."""
    chosen = consumer_settings or get_consumer_settings()
    if chosen.agency_inbox_store == "postgres":
        return True
    return inbox_path(settings, chosen, agency_id).exists()


def open_agency_consumer(
    settings: Settings,
    agency_id: str,
    consumer_settings: ConsumerSettings | None = None,
    group: str | None = None,
) -> AgencyConsumer:
    """The agency client wired to Kafka (as the agency's principal) and its inbox."""
    user, password = credentials(settings, agency_id)
    topic = topics.referrals(settings, agency_id)
    inbox = open_inbox(settings, agency_id, consumer_settings)
    # The inbox goes on from the records it holds when the group's committed offsets are
    # past them: those belong to whichever inbox applied records last (this one moved to
    # another store, or an older copy moved back), and resuming at them would leave the
    # referrals in between out of this one, silently.
    source = KafkaSource(
        settings,
        user,
        password,
        group or topics.agency_group(settings, agency_id),
        fixed_topics(topic),
        starts=inbox.resume_offsets(),
    )
    if not source.topics:
        source.close()
        inbox.close()
        raise ServiceUnavailableError(
            f"topic {topic} is missing or {user} may not read it; run `hub kafka provision`"
        )
    writer = KafkaWriter(settings, user, password)
    deadletters = KafkaDeadLetters(writer, topics.deadletter(settings, agency_id))
    confirmations = KafkaConfirmations(writer, topics.replies(settings, agency_id))
    return AgencyConsumer(agency_id, source, inbox, deadletters, confirmations)


def retry_parked(
    settings: Settings, agency_id: str, consumer_settings: ConsumerSettings | None = None
) -> RetryReport:
    """Apply again what the agency's inbox parked (``consumers.agency.retry_parked``): the
    original records read from its referral topic, its confirmations sent on its reply
    topic, as the agency's principal."""
    user, password = credentials(settings, agency_id)
    inbox = open_inbox(settings, agency_id, consumer_settings)
    writer: KafkaWriter | None = None
    try:
        if not inbox.still_parked():
            return RetryReport()
        writer = KafkaWriter(settings, user, password)
        return agency.retry_parked(
            agency_id,
            inbox,
            lambda places: records_at(settings, user, password, places),
            KafkaConfirmations(writer, topics.replies(settings, agency_id)),
        )
    finally:
        if writer is not None:
            writer.close()
        inbox.close()


def open_reply_writer(settings: Settings, agency_id: str) -> KafkaWriter:
    """A writer on Kafka as the agency's principal (its answers go on its reply topic)."""
    user, password = credentials(settings, agency_id)
    return KafkaWriter(settings, user, password)


def open_reply_ingester(settings: Settings, app: HubApplication) -> ReplyIngester:
    """The reply ingester wired to Kafka as the principal ``hub``."""
    user, password = credentials(settings, "hub")
    pattern = topics.replies_pattern(settings)
    source = KafkaSource(
        settings,
        user,
        password,
        topics.hub_group(settings),
        matching_topics(lambda t: bool(pattern.match(t))),
    )
    deadletters = KafkaDeadLetters(
        KafkaWriter(settings, user, password),
        topics.deadletter(settings, topics.REPLIES_DEADLETTER),
    )
    return ReplyIngester(
        app, source, deadletters, lambda t: topics.agency_of_reply_topic(settings, t)
    )


def escalation_timer(
    app: HubApplication, consumer_settings: ConsumerSettings | None = None
) -> EscalationTimer:
    """The acknowledgement timers, with the deadlines the consumer settings give."""
    return EscalationTimer(app, (consumer_settings or get_consumer_settings()).ack_deadline)


# Projections -----------------------------------------------------------------------------


def open_projection(
    settings: Settings, name: str, store: StoreKind | None = None, *, rebuilding: bool = False
) -> HubProjection[Any]:
    """The projection ``name`` with its view in the store the settings name; a view written
    by another release's rules is refused unless ``rebuilding``."""
    return _open_projection(name, settings.eventsourcing_env(store), rebuilding=rebuilding)


def open_projections(
    settings: Settings,
    names: Iterable[str],
    store: StoreKind | None = None,
    *,
    rebuilding: bool = False,
) -> list[HubProjection[Any]]:
    return [open_projection(settings, name, store, rebuilding=rebuilding) for name in names]


def start_projection_runner(settings: Settings, name: str, batch_size: int = 500) -> Runner:
    """A live runner keeping the projection ``name`` up to date with the log."""
    env = settings.eventsourcing_env()
    return start_runner(HubApplication, projection_class(name), env, batch_size=batch_size)


# The audit's sources ---------------------------------------------------------------------


class AuditTopicConflictError(HubError):
    """The audit topic holds two different records for one event."""


def log_history(settings: Settings, upto: int | None = None, case_id: str | None = None) -> History:
    """Consent, meetings and emergencies replayed from the log of record (with ``case_id``:
    only what that case's snapshot needs)."""
    with application(settings) as app:
        return replay_log(app, upto=upto, case_id=case_id)


def audit_stream(settings: Settings) -> AuditStream:
    """``audit.consent`` read from offset zero to its end."""
    return read_audit_stream(settings)


def kafka_history(settings: Settings, upto: int | None = None) -> History:
    """The same history replayed from ``audit.consent`` alone."""
    stream = audit_stream(settings)
    if stream.conflicts:
        raise AuditTopicConflictError(
            f"audit.consent holds different records under one event id "
            f"({', '.join(stream.conflicts[:3])}): it was written by someone other than the relay"
        )
    return replay(
        (
            Entry(e.position, e.payload, e.event_id)
            for e in stream.events
            if upto is None or e.position <= upto
        ),
        complete=False,
    )


def ledger_disclosures(settings: Settings) -> list[Disclosure]:
    """Every disclosure the relay recorded in its ledger."""
    return [Disclosure.from_record(row) for row in open_ledger(settings).disclosures()]


def kafka_disclosures(settings: Settings) -> list[Disclosure]:
    """Every disclosure published on ``audit.consent``."""
    return [Disclosure.from_record(r) for r in audit_stream(settings).disclosures]


def chain_verdict(
    settings: Settings, anchor: Anchor | None = None, witness: Anchor | None = None
) -> LogVerdict:
    """The log's hash chain recomputed (``anchor``: a head that must still hold; ``witness``:
    the newest head the relay published)."""
    with application(settings) as app:
        if not hasattr(app.recorder, "select_links"):
            raise ConfigurationError(
                "this store has no hash chain: the application recorder is not hub.chain's "
                "(APPLICATION_RECORDER_TOPIC)"
            )
        return verify_log(app.recorder, anchor, witness)  # type: ignore[arg-type]


def witnessed_head(settings: Settings) -> Anchor | None:
    """The newest chain head the relay published on audit.consent, if any."""
    head = read_witnessed_head(settings)
    return Anchor(head.position, head.chain_hash) if head else None


# Metrics (ops/metrics.py, docs/METRICS.md) ------------------------------------------------


def serve_metrics(
    settings: Settings, port: int | None, collectors: Callable[[], Iterable[Collector]]
) -> Any:
    """``/metrics`` of the ``collectors`` (built only here) on ``port`` (else
    ``HUB_METRICS_PORT``); the server (``shutdown()``), or None when neither names a port."""
    port = port if port is not None else settings.metrics_port
    if port is None:
        return None
    try:
        return metrics.expose(metrics.registry(*collectors()), port, settings.metrics_host)
    except OSError as error:
        raise ConfigurationError(
            f"cannot serve metrics on {settings.metrics_host}:{port} ({error.strerror})"
        ) from error


def relay_metrics(settings: Settings, relay: Relay) -> list[Collector]:
    """The relay's lag behind the log and the disclosures of its ledger."""
    return [
        metrics.RelayLag(relay.app.recorder, relay.ledger),
        metrics.Disclosures(relay.ledger.basis_counts),
    ]


def referral_metrics(app: HubApplication, *, measured: bool = False) -> list[Collector]:
    """Unanswered and overdue referrals and escalations, with the timers' deadlines; with
    ``measured``, the commands ``app`` executes from now on too."""
    deadline_of = get_consumer_settings().ack_deadline
    found: list[Collector] = [
        metrics.LogPosition(app.recorder),
        metrics.Referrals(app, deadline_of),
    ]
    if measured:
        found.append(measure_commands(app))
    return found


def reply_metrics(
    app: HubApplication, ingester: ReplyIngester, *, measured: bool = False
) -> list[Collector]:
    """The hub's side of the answers: referrals and the replies this run parked."""
    return [
        *referral_metrics(app, measured=measured),
        metrics.DeadLetters(lambda: {topics.REPLIES_DEADLETTER: ingester.report.rejected}),
    ]


def follow_metrics(settings: Settings, names: Iterable[str]) -> list[Collector]:
    """Each view's lag behind the log, and the referrals the log holds."""
    app = open_application(settings)
    views = open_projections(settings, names)

    def positions() -> dict[str, int]:
        return {p.name: p.view.max_tracking_id(app.name) or 0 for p in views}

    return [*referral_metrics(app), metrics.ProjectionLag(app.recorder, positions)]


def agency_metrics(settings: Settings, agency_id: str, group: str | None = None) -> list[Collector]:
    """The agency's consumer lag (from Kafka's committed offsets) and its parked records."""
    group = group or topics.agency_group(settings, agency_id)
    topic = topics.referrals(settings, agency_id)
    clients: list[Any] = []

    def lags() -> list[tuple[str, int]]:
        # Built on the first scrape, in the scraping thread: no network call at start-up.
        if not clients:
            clients.append(
                kafka_clients.consumer(
                    settings, agency_id, group_id=group, enable_auto_commit=False
                )
            )
        consumer = clients[0]
        try:
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            ends = consumer.end_offsets(partitions) if partitions else {}
            lag = sum(end - (consumer.committed(tp) or 0) for tp, end in ends.items())
        except Exception:
            clients.pop().close()  # a fresh client at the next scrape
            raise
        return [(agency_id, lag)]

    def parked() -> dict[str, int]:
        inbox = open_inbox(settings, agency_id)
        try:
            return {agency_id: inbox.parked_count()}
        finally:
            inbox.close()

    return [metrics.ConsumerLag(lags), metrics.DeadLetters(parked)]


def measure_commands(app: HubApplication) -> Collector:
    """Time every command ``app`` executes from now on, alone or in a group
    (``hub_command_seconds``)."""
    timer = metrics.CommandTimer()
    app.execute = timer.wrap(app.execute)  # type: ignore[method-assign]
    app.execute_many = timer.wrap_many(app.execute_many)  # type: ignore[method-assign]
    return timer
