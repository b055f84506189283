"""``hub services up|status|down|fetch``: the local Kafka broker and PostgreSQL."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.settings import Settings, get_settings
from ops.services import kafka, kafka_cluster, postgres

console = Console()


class Service(StrEnum):
    kafka = "kafka"
    postgres = "postgres"
    all = "all"


def _chosen(service: Service) -> list[str]:
    return ["kafka", "postgres"] if service is Service.all else [service.value]


ServiceArg = Annotated[Service, typer.Argument(help="Which service.")]


BrokersOpt = Annotated[
    int,
    typer.Option(
        "--brokers",
        min=1,
        max=kafka_cluster.MAX_BROKERS,
        help="Kafka nodes: 3 starts a local KRaft cluster (ports counted up from the settings').",
    ),
]


def up(service: ServiceArg = Service.all, brokers: BrokersOpt = 1) -> None:
    """Start the service(s) unless already running; wait until they answer."""
    settings = get_settings()
    # The local services are the hub's: its secrets become their passwords.
    settings.require_secrets(*(["postgres_password"] if service is Service.postgres else []))
    for name in _chosen(service):
        if name == "postgres":
            pg = postgres.up(settings)
            verb = "started" if pg.started else "already running"
            console.print(
                f"[green]PostgreSQL[/] {verb} on {settings.postgres_host}:{pg.port} "
                f"(db {settings.postgres_dbname}, user {settings.postgres_user}) "
                f"in {pg.seconds:.1f}s"
            )
        elif brokers > 1:
            _cluster_up(settings, brokers)
        else:
            with console.status("Starting Kafka…"):
                k = kafka.up(settings)
            verb = "started" if k.started else "already running"
            console.print(
                f"[green]Kafka[/] {verb} on {k.bootstrap} (pid {k.pid}, cluster {k.cluster_id}) "
                f"in {k.seconds:.1f}s"
            )


def _cluster_up(settings: Settings, brokers: int) -> None:
    with console.status(f"Starting a Kafka cluster of {brokers}…"):
        c = kafka_cluster.up(settings, brokers)
    verb = f"started nodes {list(c.started)}" if c.started else "already running"
    console.print(
        f"[green]Kafka cluster[/] of {brokers} {verb} (cluster {c.cluster_id}) in {c.seconds:.1f}s"
    )
    console.print(f"Point the hub at every node: HUB_KAFKA_BOOTSTRAP={c.bootstrap}", soft_wrap=True)


def status() -> None:
    """Show whether Kafka and PostgreSQL run and answer."""
    settings = get_settings()
    k, pg = kafka.status(settings), postgres.status(settings)
    table = Table("service", "state", "where", "detail")
    table.add_row(
        "kafka",
        _state(k.running),
        k.bootstrap,
        f"pid {k.pid} · {k.detail}" if k.pid else k.detail,
    )
    cluster = kafka_cluster.status(settings)
    if cluster.pids:
        table.add_row(
            "kafka cluster",
            _state(cluster.running),
            cluster.bootstrap,
            f"pids {sorted(cluster.pids.values())} · {cluster.detail}",
        )
    table.add_row("postgres", _state(pg.running), f"{settings.postgres_host}:{pg.port}", pg.detail)
    console.print(table)
    console.print(f"Kafka logs: {kafka.KafkaPaths.of(settings).logs}")


def _state(running: bool) -> str:
    return "[green]running[/]" if running else "[red]stopped[/]"


def down(
    service: Annotated[
        Service,
        typer.Argument(
            help="Which service. PostgreSQL only when named (postgres, all), in development "
            "mode: its cluster may hold other databases."
        ),
    ] = Service.kafka,
) -> None:
    """Stop the service(s): Kafka unless another is named."""
    settings = get_settings()
    if service is not Service.kafka:
        postgres.check_may_stop(settings)  # before Kafka is stopped: all or nothing
    for name in _chosen(service):
        if name == "kafka":
            stopped = kafka_cluster.down(settings) | kafka.down(settings)
        else:
            stopped = postgres.down(settings)
        console.print(f"{name}: {'stopped' if stopped else 'was not running'}")


def fetch() -> None:
    """Fetch the Kafka broker's jars from Maven Central into the cache (once)."""
    lib = kafka.fetch_jars()
    console.print(f"Kafka {kafka.kafka_version()} jars in {lib}")


def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines per log.")] = 40,
) -> None:
    """Print the tail of the services' logs."""
    settings = get_settings()
    print(kafka.log_tail(kafka.KafkaPaths.of(settings), lines))
    print(postgres.log_tail(lines=lines))


def register(app: typer.Typer) -> None:
    services = typer.Typer(help="Start, check and stop the local Kafka and PostgreSQL.")
    for command in (up, status, down, fetch, logs):
        services.command()(command)
    app.add_typer(services, name="services")
