"""``hub relay`` (publish the governed streams) and ``hub kafka provision``."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import typer

from consumers.stopping import set_on_signals
from hub.settings import get_settings
from ops.cli._metrics import MetricsPortOpt


def _print_counts(counts: Any) -> None:
    typer.echo(
        f"events={counts.events} agency_records={counts.agency_records} "
        f"redacted={counts.redacted} disclosures={counts.disclosures} "
        f"audit={counts.audit_records} analytics={counts.analytics_records} "
        f"witnessed={counts.witnessed} quarantined={counts.quarantined} "
        f"position={counts.position}"
    )


def relay(
    once: Annotated[
        bool, typer.Option("--once", help="Publish up to the end of the log, then exit.")
    ] = False,
    principal: Annotated[
        str,
        typer.Option(
            "--principal",
            help="Connect as this provisioned principal of the prefix (never the super user).",
        ),
    ] = "relay",
    batch_size: Annotated[int, typer.Option(help="Events per batch.", min=1)] = 500,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Publish the agencies', auditors' and analysts' streams from the log of record.

    Every personal field goes out only where a legal basis is in force."""
    from ops import heap
    from ops.wiring import open_relay, relay_metrics, serve_metrics

    settings = get_settings()
    relay_ = open_relay(settings, principal=principal, batch_size=batch_size)
    server = None
    try:
        server = serve_metrics(settings, metrics_port, lambda: relay_metrics(settings, relay_))
        if once:
            counts = relay_.drain()
        else:
            stop = threading.Event()
            set_on_signals(stop)
            typer.echo("relay following the log; Ctrl-C to stop", err=True)
            counts = relay_.follow(stop, caught_up=heap.settle)
    finally:
        if server is not None:
            server.shutdown()
        relay_.close()
    _print_counts(counts)


def provision(
    agency: Annotated[
        list[str] | None,
        typer.Option("--agency", help="Only these agencies (default: the whole network)."),
    ] = None,
) -> None:
    """Create the topics, the SCRAM users and the ACLs of STREAMS.md on the broker."""
    from ops import wiring
    from producers.provision import provision as provision_broker

    settings = get_settings()
    # The network in force, as the log records it: an agency that joined gets its topics.
    report = provision_broker(settings, agency or None, wiring.network(settings))
    typer.echo(
        f"topics created={len(report.topics_created)} existing={report.topics_existing} "
        f"users={len(report.users)} acls={report.acls}"
    )


def register(app: typer.Typer) -> None:
    app.command("relay")(relay)
    kafka = typer.Typer(help="The broker: provisioning of topics, users and ACLs.")
    kafka.command("provision")(provision)
    app.add_typer(kafka, name="kafka")
