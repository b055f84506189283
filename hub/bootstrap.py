"""The composition root: builds the application on the store the settings name."""

from __future__ import annotations

from eventsourcing.persistence import PersistenceError

from hub.application import HubApplication
from hub.errors import StoreUnavailableError
from hub.identity import DEVELOPMENT_OPERATOR, Actor, operator
from hub.settings import Settings, StoreKind, get_settings


def open_application(
    settings: Settings | None = None, store: StoreKind | None = None
) -> HubApplication:
    settings = settings or get_settings()
    kind = store or settings.store
    try:
        return HubApplication(
            env=settings.eventsourcing_env(kind), operator=configured_operator(settings)
        )
    except PersistenceError as error:
        raise StoreUnavailableError(
            f"the {kind} event store is unavailable ({type(error).__name__}); is it running? "
            "try `hub services up postgres`"
        ) from error


def configured_operator(settings: Settings) -> Actor | None:
    """``HUB_OPERATOR``; unset, the development operator in development mode, else no one."""
    if settings.operator:
        return operator(settings.operator)
    return DEVELOPMENT_OPERATOR if settings.mode == "development" else None
