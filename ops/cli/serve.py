"""``hub serve`` (the HTTP API on uvicorn) and ``hub dev token`` (development tokens only)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Annotated

import typer

from hub.errors import ConfigurationError, InvalidCommandError
from hub.identity import Role
from hub.permissions import check_private_key
from hub.settings import Settings, get_settings, is_loopback
from ops.cli._metrics import MetricsPortOpt
from ops.cli._output import a_path


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    metrics_port: MetricsPortOpt = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(
            help="Serve HTTPS with this certificate (PEM).",
            parser=a_path,
        ),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(
            help="The certificate's key (PEM).",
            parser=a_path,
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) until Ctrl-C / SIGTERM."""
    import uvicorn

    from ops import heap
    from ops.api.app import create_app
    from ops.identity.tokens import check_identity_settings
    from ops.wiring import open_service, referral_metrics, serve_metrics

    settings = get_settings()
    check_identity_settings(settings)
    check_listener(settings, host, ssl_certfile, ssl_keyfile)
    listener = bind_listener(host, port)
    service = open_service(settings)
    server = None
    try:
        server = serve_metrics(
            settings, metrics_port, lambda: referral_metrics(service.app, measured=True)
        )
        api = create_app(service, settings)
        heap.settle()  # started: the service and the app live as long as it serves
        config = uvicorn.Config(
            api,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # paths hold case ids only, but the hub logs through structlog
            server_header=False,  # no product and version for a scanner to match
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        scheme = "https" if ssl_certfile is not None else "http"
        typer.echo(f"serving the API on {scheme}://{_netloc(host, port)}; Ctrl-C to stop", err=True)
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        if server is not None:
            server.shutdown()
        service.close()
        listener.close()


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_listener(host: str, port: int) -> socket.socket:
    """The API's socket, bound before the store opens: a port another process holds (a
    second ``hub serve``) is one error line, as a metrics port is, not uvicorn's log line
    and its exit code 3 (which the hub's commands use for "not found")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise ConfigurationError(
            f"cannot serve the API on {_netloc(host, port)} ({error.strerror})"
        ) from error
    return listener


def check_listener(
    settings: Settings, host: str, certfile: Path | None, keyfile: Path | None
) -> None:
    """Outside development, plain HTTP only on loopback (behind a TLS proxy on this host):
    bearer tokens, session cookies and people's details never cross a network in clear."""
    if (certfile is None) != (keyfile is None):
        raise ConfigurationError("--ssl-certfile and --ssl-keyfile go together")
    if certfile is not None and keyfile is not None:
        check_certificate(certfile, keyfile)
        if settings.mode != "development":
            check_key_is_private(keyfile)
    if settings.mode == "development" or certfile is not None or is_loopback(host):
        return
    raise ConfigurationError(
        f"refusing to start in {settings.mode} mode: --host {host} is off this host and the "
        "API would answer in plain HTTP (give --ssl-certfile and --ssl-keyfile, or listen on "
        "127.0.0.1 behind a TLS proxy)"
    )


def check_key_is_private(keyfile: Path) -> None:
    """Outside development, a TLS key others may read or replace is refused
    (``hub.permissions``): whoever copies it can pose as the hub and read the tokens, cookies
    and people's details sent to it. A group's read, Debian's ``ssl-cert``, only of a key
    another user (root) owns."""
    check_private_key(keyfile, "--ssl-keyfile", "production")


class _Encrypted(Exception):
    """The key asks for a passphrase: uvicorn asks for it when it loads the key, as before."""


def _passphrase() -> bytes:
    raise _Encrypted


def check_certificate(certfile: Path, keyfile: Path) -> None:
    """Loads the certificate and its key as uvicorn will, before the store opens: a missing,
    unreadable or mismatched file is one line, not a traceback after "serving the API"."""
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile, password=_passphrase)
    except _Encrypted:
        return
    except OSError as error:  # ssl.SSLError is an OSError too
        why = error.strerror or getattr(error, "reason", None) or type(error).__name__
        raise ConfigurationError(
            f"--ssl-certfile {certfile} / --ssl-keyfile {keyfile}: cannot be loaded ({why})"
        ) from error


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
    from ops.cli._names import log_names
    from ops.cli._output import check_choice
    from ops.identity import dev_issuer

    settings = get_settings()
    dev_issuer.refuse_in_production(settings)
    if not subject.strip():
        raise InvalidCommandError("--subject: name who the token is for, e.g. officer-1")
    if ward is not None or agency is not None:
        # A token for a ward or agency the network lacks is refused by every route it is sent
        # to, with a 403 that does not say why.
        known = log_names()
        check_choice("--ward", ward, list(known.wards))
        check_choice("--agency", agency, list(known.agencies))
    typer.echo(
        dev_issuer.issue(
            settings,
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
