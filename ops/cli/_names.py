"""The names of wards and agencies as the log records the network now: what the hub's own
commands validate filters against and show in tables (an agency registered by `hub network
apply` included). An agency's client (`hub agency ...`) holds no log and keeps the shipped
names (hub.labels.names)."""

from __future__ import annotations

from hub.labels import Names, names
from hub.reference import Network
from hub.settings import get_settings
from ops import wiring


def log_network() -> Network:
    """The network in force now, as the log of record holds it."""
    with wiring.application(get_settings()) as app:
        return app.network


def log_names() -> Names:
    """Ward and agency names of the network on the log, over the shipped ones; an agency the
    log retired keeps its name."""
    with wiring.application(get_settings()) as app:
        directory = app.directory
    return names(directory.network, directory.retired.values())
