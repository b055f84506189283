"""kafka-python client settings shared by every component that talks to the broker.

The broker's client listener speaks SASL_PLAINTEXT with SCRAM-SHA-512; kafka-python takes the
SCRAM user and password through its ``sasl_plain_*`` options (the names are historical).
"""

from __future__ import annotations

from typing import Any

from hub import topics
from hub.settings import Settings

SECURITY_PROTOCOL = "SASL_PLAINTEXT"
SASL_MECHANISM = "SCRAM-SHA-512"


def client_config(
    settings: Settings, user: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``KafkaProducer``/``KafkaConsumer``/``KafkaAdminClient``.

    Without ``user`` the hub's own (super) user from the settings is used, which only the
    hub holds: then every secret of the hub must be real outside development mode.
    """
    if user is None:
        settings.require_secrets()
    return {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": SECURITY_PROTOCOL,
        "sasl_mechanism": SASL_MECHANISM,
        "sasl_plain_username": user if user is not None else settings.kafka_user,
        "sasl_plain_password": (
            password if password is not None else settings.secret("kafka_password")
        ),
    }


def principal_credentials(settings: Settings, who: str) -> tuple[str, str]:
    """The SCRAM user and password of the tenant's principal ``who`` (e.g. relay, an agency).

    The user carries the tenant's prefix (``topics.principal``). ``HUB_KAFKA_USER`` and
    ``HUB_KAFKA_PASSWORD`` are used when they name that user (a secret handed out by the
    operator); otherwise the password derived from the provisioning secret.
    """
    user = topics.principal(settings, who)
    if settings.kafka_user == user:
        return user, settings.secret("kafka_password")
    return user, settings.principal_password(user)


def principal_config(settings: Settings, who: str) -> dict[str, Any]:
    """``client_config`` as the tenant's principal ``who``."""
    return client_config(settings, *principal_credentials(settings, who))
