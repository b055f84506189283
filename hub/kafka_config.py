"""kafka-python client settings shared by every component that talks to the broker.

The broker's client listener speaks SCRAM-SHA-512 over SASL_PLAINTEXT (the local broker, on
loopback) or SASL_SSL (``HUB_KAFKA_SECURITY_PROTOCOL``); kafka-python takes the SCRAM user
and password through its ``sasl_plain_*`` options (the names are historical). Outside
development mode records, which carry personal data, cross no network in clear: plaintext
is refused for a broker that is not on this host's loopback (``check_transport``).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from hub import topics
from hub.errors import ConfigurationError
from hub.settings import Settings, is_loopback

SECURITY_PROTOCOL = "SASL_PLAINTEXT"
SASL_MECHANISM = "SCRAM-SHA-512"


def check_transport(settings: Settings) -> None:
    """Refuses Kafka settings no client should start with: a topic prefix another tenant's
    names could overlap (a client would log in as a principal no one provisioned and wait
    for its timeout), a CA file that is not there or holds no certificate, and, outside
    development,
    SASL_PLAINTEXT to a broker off this host's loopback."""
    _check_prefix(settings.kafka_topic_prefix, settings)
    cafile = settings.kafka_ssl_cafile
    if settings.kafka_security_protocol == "SASL_SSL" and cafile and not _readable(cafile):
        raise ConfigurationError(f"HUB_KAFKA_SSL_CAFILE {str(cafile)!r} is no readable file")
    if settings.kafka_security_protocol == "SASL_SSL" and cafile:
        _check_certificates(cafile)
    if settings.mode == "development" or settings.kafka_security_protocol != SECURITY_PROTOCOL:
        return
    remote = [
        address.strip()
        for address in settings.kafka_bootstrap.split(",")
        if not is_loopback(address.strip().rpartition(":")[0])
    ]
    if remote:
        raise ConfigurationError(
            f"refusing to start in {settings.mode} mode: HUB_KAFKA_BOOTSTRAP names "
            f"{', '.join(remote)}, off this host, and HUB_KAFKA_SECURITY_PROTOCOL is "
            "SASL_PLAINTEXT: records would cross the network in clear (set SASL_SSL, and "
            "HUB_KAFKA_SSL_CAFILE for a CA of the city's own)"
        )


_PREFIXES_CHECKED: set[str] = set()


def _check_prefix(prefix: str, settings: Settings) -> None:
    if prefix not in _PREFIXES_CHECKED:  # the check reads the network's reference file
        topics.check_prefix(settings)
        _PREFIXES_CHECKED.add(prefix)


def _check_certificates(cafile: Path) -> None:
    """Refuses a CA file with no certificate in it (a key, a DER file, a truncated copy):
    kafka-python only fails its handshakes, so a client waits for its timeout, and
    librdkafka refuses to start with an exception no line of the hub's said."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(cafile))
    except ssl.SSLError as error:
        raise ConfigurationError(
            f"HUB_KAFKA_SSL_CAFILE {str(cafile)!r} holds no CA certificate that can be read "
            f"({error.reason or type(error).__name__}; a PEM file is expected)"
        ) from None


def _readable(path: Path) -> bool:
    try:
        with path.open("rb"):
            return path.is_file()
    except OSError:
        return False


def rdkafka_security(settings: Settings) -> dict[str, str]:
    """The same transport for librdkafka (``hub.rdkafka``)."""
    check_transport(settings)
    found: dict[str, str] = {"security.protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_ssl_cafile:
        found["ssl.ca.location"] = str(settings.kafka_ssl_cafile)
    return found


def client_config(
    settings: Settings, user: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``KafkaProducer``/``KafkaConsumer``/``KafkaAdminClient``.

    Without ``user`` the hub's own (super) user from the settings is used, which only the
    hub holds: then every secret of the hub must be real outside development mode.
    """
    if user is None:
        settings.require_secrets()
    check_transport(settings)
    config = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": SASL_MECHANISM,
        "sasl_plain_username": user if user is not None else settings.kafka_user,
        "sasl_plain_password": (
            password if password is not None else settings.secret("kafka_password")
        ),
    }
    if settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_ssl_cafile:
        config["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return config


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
