"""``hub serve`` (the HTTP API on uvicorn) and ``hub dev token`` (development tokens only)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.identity import Role
from hub.settings import get_settings
from ops.cli._metrics import MetricsPortOpt


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json) until Ctrl-C / SIGTERM."""
    import uvicorn

    from ops import heap
    from ops.api.app import create_app
    from ops.identity.tokens import check_identity_settings
    from ops.wiring import open_service, referral_metrics, serve_metrics

    settings = get_settings()
    check_identity_settings(settings)
    service = open_service(settings)
    server = None
    try:
        server = serve_metrics(
            settings, metrics_port, lambda: referral_metrics(service.app, measured=True)
        )
        api = create_app(service, settings)
        heap.settle()  # started: the service and the app live as long as it serves
        uvicorn.run(
            api,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # paths hold case ids only, but the hub logs through structlog
        )
    finally:
        if server is not None:
            server.shutdown()
        service.close()


def token(
    role: Annotated[Role, typer.Option(help="The hub role the token grants.")],
    subject: Annotated[str, typer.Option(help="Who (the token's sub), e.g. officer-1.")],
    ward: Annotated[str | None, typer.Option(help="Ward code (ward officer, coordinator).")] = None,
    agency: Annotated[
        str | None, typer.Option(help="Agency id (member agency, contractor).")
    ] = None,
    minutes: Annotated[int, typer.Option(min=1, max=24 * 60, help="Lifetime.")] = 60,
) -> None:
    """Print a bearer token of the local development issuer (refused in production)."""
    from ops.identity import dev_issuer

    typer.echo(
        dev_issuer.issue(
            get_settings(),
            subject=subject,
            role=role,
            ward=ward,
            agency_id=agency,
            minutes=minutes,
        )
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    dev = typer.Typer(help="Development helpers (refused in production).", no_args_is_help=True)
    dev.command("token")(token)
    app.add_typer(dev, name="dev")
