"""The ``--metrics-port`` option every long-running command shares (docs/METRICS.md)."""

from __future__ import annotations

from typing import Annotated

import typer

MetricsPortOpt = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        min=1,
        max=65535,
        help="Serve Prometheus metrics on this port (default HUB_METRICS_PORT; unset: none).",
        show_default=False,
    ),
]
