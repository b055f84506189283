"""``hub demo``: play the generated year through the real pipeline, month by month.

commands → log of record → relay → Kafka → every agency's client (inbox) → the agencies'
answers on their reply topics → the hub's reply ingester → the log; acknowledgement timers at
each month's end; then the projections, the audit and the report. This module only wires the
other parts together: each phase calls their public functions.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from time import monotonic, sleep
from typing import Any

from hub import events as ev
from hub.application import HubApplication
from hub.errors import ConfigurationError, ServiceUnavailableError
from hub.files import private_dir, private_file
from hub.fiscal import JST
from hub.logging import get_logger
from hub.reference import load_network
from hub.settings import Settings, StoreKind, get_settings
from ops import wiring
from ops.demo import calibration as cal
from ops.demo.actors import demo_actor
from ops.demo.generator import DEFAULT_SEED, DemoYear, generate_year
from ops.demo.runs import earlier_runs_topics, new_run_id

log = get_logger("ops.demo")

RETRIES = 4
RETRY_PAUSE_S = 3.0

PHASES: tuple[str, ...] = (
    "services",
    "provision",
    "generate",
    "year",
    "projections",
    "audit",
    "report",
)


@dataclass(frozen=True)
class DemoOptions:
    scale: int = 1
    store: StoreKind = "sqlite"
    until: date | None = None
    seed: int = DEFAULT_SEED
    home: Path = Path("var/demo")
    start_services: bool = True


@dataclass
class AgencyFigures:
    agency_id: str
    inbox_records: int  # records applied to the agency's own inbox
    referrals: int  # referrals the hub sent it (hub-side inbox)
    answered: int
    closed: int  # declined or completed
    escalated: int
    median_minutes: float | None


@dataclass
class AuditFigures:
    log_intact: bool
    log_events: int
    log_first_finding: str | None
    disclosures_checked: int
    disclosures_by_basis: dict[str, int]
    refuted: list[str]
    unchecked: int = 0
    acted_by_role: dict[str, int] = field(default_factory=dict)  # events by who recorded them
    subjects: int = 0

    @property
    def valid(self) -> bool:
        return self.log_intact and not self.refuted


@dataclass
class DemoOutcome:
    options: DemoOptions
    settings: Settings
    year: DemoYear | None = None
    expected: dict[str, int] = field(default_factory=dict)
    indicators: list[Any] = field(default_factory=list)  # projections.indicators.ReportRow
    # The same table cut where the plan counted its R7 actuals (when the run got that far).
    indicators_at_actuals: list[Any] = field(default_factory=list)
    expected_at_actuals: dict[str, int] = field(default_factory=dict)
    agencies: list[AgencyFigures] = field(default_factory=list)
    consent: dict[str, int] = field(default_factory=dict)
    relay: dict[str, int] = field(default_factory=dict)
    replies: dict[str, int] = field(default_factory=dict)
    audit: AuditFigures | None = None
    files: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # phase → why
    timings: dict[str, float] = field(default_factory=dict)  # phase → seconds
    loop_timings: dict[str, float] = field(default_factory=dict)  # step of the year → seconds

    @property
    def cut_day(self) -> date:
        return min(self.options.until or cal.LAST_DAY, cal.LAST_DAY)


Step = Callable[[str, int, int], None]  # (phase, done, total)


def demo_settings(options: DemoOptions, run_id: str) -> Settings:
    """The demo's own store and files under ``home``, on its own topics."""
    base = get_settings()
    update: dict[str, Any] = {
        "store": options.store,
        "var_dir": options.home,
        "sqlite_path": options.home / "hub.sqlite",
        "kafka_topic_prefix": f"{base.kafka_topic_prefix}demo-{run_id}.",
    }
    if options.store == "postgres":
        update["postgres_schema"] = demo_schema(base.postgres_schema)
    return base.model_copy(update=update)


def demo_schema(schema: str) -> str:
    """The PostgreSQL schema the demo drops and creates: ``demo``, or ``<schema>_demo`` when
    HUB_POSTGRES_SCHEMA keeps this user's stores apart on a shared database (never that
    schema itself), so that one user's demo does not drop another's while it runs."""
    return f"{schema[:58]}_demo" if schema else "demo"


class DemoOutsideHomeError(ConfigurationError):
    """Outside development mode the demo keeps to its home: the agencies' inboxes that
    ``HUB_AGENCY_INBOX_PATH`` or ``HUB_AGENCY_INBOX_STORE=postgres`` name are the host's own
    (an agency client's), which the demo would wipe or fill with its synthetic people."""


def check_inboxes_at_home(settings: Settings, home: Path) -> None:
    """Refuses, outside development mode, agencies' inboxes the settings put outside
    ``home``: a demo tried on a host of the hub would take them for its own."""
    from consumers.config import get_consumer_settings
    from consumers.inbox import inbox_path

    if settings.mode == "development":
        return
    consumer_settings = get_consumer_settings()
    if consumer_settings.agency_inbox_store == "postgres":
        where = (
            "HUB_AGENCY_INBOX_STORE=postgres puts the agencies' inboxes in the schemas "
            f"{consumer_settings.agency_inbox_schema or 'inbox_{agency}'}, where the demo "
            "would write its synthetic people"
        )
    elif consumer_settings.agency_inbox_path is not None:
        path = inbox_path(settings, consumer_settings, "{agency}")
        if path.resolve().is_relative_to(home.resolve()):
            return
        where = (
            f"HUB_AGENCY_INBOX_PATH puts the agencies' inboxes at {path}, outside --home, "
            "where the demo would wipe them"
        )
    else:
        return
    raise DemoOutsideHomeError(
        f"refusing to start in {settings.mode} mode: {where} (unset it for the demo, or "
        "run the demo with HUB_MODE=development on a trial machine)"
    )


def run_demo(options: DemoOptions, step: Step | None = None) -> DemoOutcome:
    run_id = new_run_id(options.home, datetime.now(UTC))
    settings = demo_settings(options, run_id)
    settings.require_secrets()  # before anything is started or wiped
    check_inboxes_at_home(settings, options.home)
    outcome = DemoOutcome(options, settings)
    started: dict[str, float] = {}

    def tick(phase: str, done: int, total: int) -> None:
        now = monotonic()
        outcome.timings[phase] = round(now - started.setdefault(phase, now), 1)
        if step is not None:
            step(phase, done, total)

    tick("services", 0, 1)
    if options.start_services:
        _start_services(options)
    tick("services", 1, 1)

    tick("provision", 0, 1)
    _wipe(settings, options)
    _forget_earlier_runs(settings, run_id)
    from producers.provision import provision

    agency_ids = [a.id for a in load_network().agencies]
    provision(settings, agency_ids)
    tick("provision", 1, 1)

    tick("generate", 0, 1)
    year = generate_year(options.seed, options.scale, outcome.cut_day)
    outcome.year = year
    outcome.expected = year.counts()
    tick("generate", 1, 1)

    app = _writing_application(settings, options.store)
    try:
        _play(outcome, app, agency_ids, run_id, tick)
        _projections(outcome, app, tick)
        _audit(outcome, app, tick)
    finally:
        app.close()
    _report_files(outcome)
    return outcome


def _writing_application(settings: Settings, store: StoreKind) -> HubApplication:
    """The hub application the demo writes with: the same composition root as the CLI."""
    return wiring.open_application(settings, store)


# Phases -------------------------------------------------------------------------------------


def _start_services(options: DemoOptions) -> None:
    from ops.services import kafka

    base = get_settings()
    try:
        kafka.up(base)
    except ServiceUnavailableError as error:
        # A broker this checkout did not start (another var dir) may already serve the
        # address: use it if the settings' credentials work on it.
        try:
            kafka.probe(base)
        except Exception:
            raise error from None
        log.info("demo.kafka.foreign_broker", bootstrap=base.kafka_bootstrap)
    if options.store == "postgres":
        from ops.services import postgres

        postgres.up(base)


def _wipe(settings: Settings, options: DemoOptions) -> None:
    """A fresh store: the demo's files (and its PostgreSQL schema) from scratch."""
    home = options.home
    if home.exists():
        for path in home.glob("hub*.sqlite*"):
            path.unlink()
        shutil.rmtree(home / "agency", ignore_errors=True)
    _wipe_configured_inboxes(settings)
    private_dir(home, tighten=True)  # its store and inboxes hold (synthetic) personal data
    if options.store == "postgres":
        import psycopg

        with psycopg.connect(**settings.postgres_connection(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{settings.postgres_schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{settings.postgres_schema}"')


def _wipe_configured_inboxes(settings: Settings) -> None:
    """Inboxes that HUB_AGENCY_INBOX_PATH puts outside the demo's folder are the demo's too:
    a rerun starts them afresh instead of mixing into the last run's."""
    from consumers.config import get_consumer_settings
    from consumers.inbox import inbox_path

    consumer_settings = get_consumer_settings()
    if consumer_settings.agency_inbox_path is None:
        return
    for agency in load_network().agencies:
        path = inbox_path(settings, consumer_settings, agency.id)
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)


def inbox_location(settings: Settings, home: Path) -> str:
    """Where the demo's agency inboxes are, as the settings say (``{agency}`` per agency)."""
    from consumers.config import get_consumer_settings
    from consumers.inbox import inbox_path

    consumer_settings = get_consumer_settings()
    if consumer_settings.agency_inbox_store == "postgres":
        return f"PostgreSQL schemas {consumer_settings.agency_inbox_schema or 'inbox_{agency}'}"
    if consumer_settings.agency_inbox_path is None:
        return str(home / "agency")
    return str(inbox_path(settings, consumer_settings, "{agency}"))


def _forget_earlier_runs(settings: Settings, run_id: str) -> None:
    """Delete the topics of earlier demo runs (each run writes its own, ``ops.demo.runs``):
    this home's, and those of runs long ended; another home's run may still be playing."""
    from kafka.errors import KafkaError

    from hub import kafka_clients

    base = get_settings().kafka_topic_prefix
    admin = kafka_clients.admin(settings, client_id="hub-demo")
    try:
        earlier = earlier_runs_topics(admin.list_topics(), base, run_id, datetime.now(UTC))
        if earlier:
            admin.delete_topics(earlier)
            log.info("demo.topics.deleted", topics=len(earlier))
    except KafkaError as error:  # housekeeping only: the run goes on
        log.warning("demo.topics.not_deleted", error=type(error).__name__)
    finally:
        admin.close()


def _month_ends(last_day: date) -> list[datetime]:
    """The instants that end each round: every month's end, the last one cut at the day."""
    stop = last_day + timedelta(days=1)
    ends = []
    for index in range(12):
        end = min(cal.month_end(index), stop)
        ends.append(datetime.combine(end, time(0), tzinfo=JST))
        if end == stop:
            break
    return ends


def _play(
    outcome: DemoOutcome, app: HubApplication, agency_ids: list[str], run_id: str, tick: Step
) -> None:
    """The year, month by month, through the whole loop."""
    from consumers.config import get_consumer_settings
    from consumers.stopping import StopFlag
    from ops.demo.agencies import AgencyClients

    assert outcome.year is not None
    settings = outcome.settings
    consumer_settings = get_consumer_settings()
    commands = list(outcome.year.commands)
    answers = list(outcome.year.answers)
    total = len(commands) + len(answers)
    relay = wiring.open_relay(settings, app, principal="relay")
    clients = AgencyClients(settings, consumer_settings, agency_ids, f"demo-{run_id}")
    ingester = wiring.open_reply_ingester(settings, app)
    timer = wiring.escalation_timer(app, consumer_settings)

    @contextmanager
    def clock(name: str) -> Iterator[None]:
        began = monotonic()
        try:
            yield
        finally:
            spent = monotonic() - began
            outcome.loop_timings[name] = outcome.loop_timings.get(name, 0.0) + spent

    relayed: Counter[str] = Counter()
    escalated = 0
    done = 0
    try:
        for month_end in _month_ends(outcome.cut_day):
            with clock("commands"):
                while commands and commands[0].occurred_at < month_end:
                    command = commands.pop(0)
                    app.execute(command, demo_actor(command, app))
                    done += 1
                    if done % 200 == 0:
                        tick("year", done, total)
            with clock("relay"):
                _retrying("relay", lambda: _relay(relay, relayed))
            with clock("agency clients"):
                _retrying("agency clients", clients.catch_up)
            with clock("answers"):
                while answers and answers[0].at < month_end:
                    planned = answers.pop(0)
                    _retrying("an agency's answer", partial(clients.answer, planned))
                    done += 1
            tick("year", done, total)
            with clock("reply ingestion"):
                _retrying("reply ingestion", lambda: ingester.run(StopFlag(), once=True))
            with clock("timers"):
                escalated += sum(not e.outcome.duplicate for e in timer.tick(month_end))
        with clock("relay"):
            # The last answers and escalations reach the agencies too.
            _retrying("relay", lambda: _relay(relay, relayed))
        with clock("agency clients"):
            _retrying("agency clients", clients.catch_up)
        tick("year", total, total)
    finally:
        outcome.agencies = [
            AgencyFigures(agency_id, client.report.applied, 0, 0, 0, 0, None)
            for agency_id, client in clients.clients.items()
        ]
        clients.close()
        ingester.close()
        relay.producer.close()  # not relay.close(): the application is the demo's
    outcome.relay = dict(relayed)
    outcome.replies = {
        "sent": clients.answers.sent,
        "not_in_inbox": clients.answers.not_in_inbox,
        "applied": ingester.report.applied,
        "duplicates": ingester.report.duplicates,
        "rejected": ingester.report.rejected,
        "escalated": escalated,
    }


def _retrying(what: str, work: Callable[[], object]) -> None:
    """Run a step again when the broker hiccups; every step is idempotent (the relay stores
    its position after the broker took a batch, inboxes and the hub apply each id once)."""
    from kafka.errors import KafkaError

    for attempt in range(1, RETRIES + 1):
        try:
            work()
            return
        except (KafkaError, ServiceUnavailableError) as error:
            if attempt == RETRIES:
                raise ServiceUnavailableError(
                    f"Kafka: {what} failed {RETRIES} times, last {type(error).__name__}: {error}"
                ) from error
            log.warning("demo.retry", step=what, attempt=attempt, error=type(error).__name__)
            sleep(RETRY_PAUSE_S * attempt)


def _relay(relay: Any, relayed: Counter[str]) -> None:
    counts = relay.drain()  # a failed batch is folded again and resent by the next drain
    for item in fields(counts):
        if item.name != "position":
            relayed[item.name] += getattr(counts, item.name)


def _projections(outcome: DemoOutcome, app: HubApplication, tick: Step) -> None:
    from hub.labels import names as network_names
    from projections import chart, report
    from projections.indicators import Cut
    from projections.runner import PROJECTIONS, catch_up_all

    names = list(PROJECTIONS)
    tick("projections", 0, len(names))
    projections = wiring.open_projections(outcome.settings, names, outcome.options.store)
    catch_up_all(projections, app)
    views: dict[str, Any] = {p.name: p.view for p in projections}
    tick("projections", len(names), len(names))
    cut = Cut.of(cal.FISCAL_YEAR, outcome.cut_day)
    outcome.indicators = report.from_view(views["indicators"], cut)
    if outcome.cut_day > cal.ACTUALS_CUT and outcome.year is not None:
        december = Cut.of(cal.FISCAL_YEAR, cal.ACTUALS_CUT)
        outcome.indicators_at_actuals = report.from_view(views["indicators"], december)
        outcome.expected_at_actuals = outcome.year.counts(cal.ACTUALS_CUT)
    monthly = report.from_view(views["indicators"], cut, "month")
    home = outcome.options.home
    wards = network_names().wards
    heading = report.title(cut)
    # Files of the demo's home, a var folder: 0600 before a byte is in them, whatever the
    # umask (the workbook and the chart are written into the file as it is).
    csv_path = private_file(home / "indicators-R7.csv")
    csv_path.write_bytes(report.to_csv(outcome.indicators, wards))
    wide = report.wide(monthly, outcome.indicators, wards)
    xlsx_path = private_file(home / "indicators-R7.xlsx")
    report.to_xlsx(wide, outcome.indicators, heading, xlsx_path, wards)
    chart_path = private_file(home / "indicators-R7.png")
    chart.draw(monthly, cut, chart_path, heading, wards)
    outcome.files["評価指標（CSV）"] = str(csv_path)
    outcome.files["評価指標（Excel）"] = str(xlsx_path)
    outcome.files["グラフ（PNG）"] = str(chart_path)
    end = datetime.combine(outcome.cut_day + timedelta(days=1), time(0), tzinfo=JST)
    for figures in outcome.agencies:
        rows = views["inbox"].inbox(figures.agency_id)
        figures.referrals = len(rows)
        figures.answered = sum(1 for r in rows if r["answers"])
        figures.closed = sum(1 for r in rows if r["status"] in ("declined", "completed"))
        figures.escalated = sum(1 for r in rows if r.get("escalated_at"))
        waits = sorted(
            (
                datetime.fromisoformat(r["first_answer_at"]) - datetime.fromisoformat(r["sent_at"])
            ).total_seconds()
            / 60
            for r in rows
            if r["first_answer_at"] and datetime.fromisoformat(r["first_answer_at"]) < end
        )
        figures.median_minutes = round(_median(waits), 1) if waits else None


def _median(values: list[float]) -> float:
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _audit(outcome: DemoOutcome, app: HubApplication, tick: Step) -> None:
    """Consent figures from the log, then `hub audit verify` and `hub audit verify-log`."""
    tick("audit", 0, 2)
    from projections.audit.source import log_entries
    from projections.audit.verify import verify

    settings = outcome.settings
    payloads = [entry.payload for entry in log_entries(app)]
    outcome.consent = _consent_figures(payloads)
    acts = [p.actor for p in payloads if not isinstance(p, ev.CommandAccepted)]
    log_verdict = wiring.chain_verdict(settings)
    tick("audit", 1, 2)
    verdict = verify(wiring.log_history(settings), wiring.ledger_disclosures(settings))
    first = log_verdict.first
    outcome.audit = AuditFigures(
        log_intact=log_verdict.intact,
        log_events=log_verdict.events,
        log_first_finding=first.line() if first else None,
        disclosures_checked=verdict.checked,
        disclosures_by_basis=dict(sorted(verdict.by_basis.items())),
        refuted=[r.line() for r in verdict.refuted[:10]],
        unchecked=len(verdict.unchecked),
        acted_by_role=dict(Counter(a.role if a else "(none)" for a in acts).most_common()),
        subjects=len({a.subject for a in acts if a}),
    )
    tick("audit", 2, 2)


def _consent_figures(payloads: Iterator[ev.Event] | Any) -> dict[str, int]:
    figures: Counter[str] = Counter()
    for payload in payloads:
        name = type(payload).__name__
        if isinstance(payload, ev.MeetingHeld):
            figures[f"MeetingHeld:{payload.kind}"] += 1
        elif name in (
            "ConsentGiven",
            "ConsentRefused",
            "ConsentWithdrawn",
            "UseStopRequested",
            "MovedToSupportMeeting",
            "EmergencyDeclared",
            "EmergencyEnded",
            "ReferralEscalated",
        ):
            figures[name] += 1
    return dict(figures)


def _report_files(outcome: DemoOutcome) -> None:
    settings = outcome.settings
    if outcome.options.store == "sqlite":
        outcome.files["記録（log of record）"] = str(settings.sqlite_file)
    else:
        outcome.files["記録（log of record）"] = (
            f"postgresql://{settings.postgres_host}:{settings.postgres_port}/"
            f"{settings.postgres_dbname} (schema {settings.postgres_schema})"
        )
    outcome.files["機関の受信箱"] = inbox_location(settings, outcome.options.home)
    topics_at = f"{settings.kafka_topic_prefix}* on {settings.kafka_bootstrap}"
    outcome.files["Kafkaのトピック"] = topics_at
