"""One place for configuration: environment variables prefixed ``HUB_``.

Secrets are ``SecretStr`` so they never print; ``Settings.safe_dict`` is what may be logged.
The default of every ``SecretStr`` field is public (it is in this file) and only for
development: outside ``HUB_MODE=development`` a secret left at its default (or any secret's,
or one of those with something added), empty, shorter than 32 bytes, of fewer than 8
different characters or the value of another secret is refused (``Settings.require_secrets``),
so a secret added later is covered by being a ``SecretStr``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigurationError, InsecurePermissionsError, InsecureSecretError
from hub.files import private_dir, private_file, private_sqlite
from hub.permissions import folder_exposure
from hub.principals import DEFAULT_SUPER_USER

StoreKind = Literal["sqlite", "postgres"]
Mode = Literal["development", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
DEV_OIDC_ISSUER = "hub-dev-issuer"
# Outside development every secret is at least this long (UTF-8, surrounding space not
# counted): the README asks for 32 random bytes, and a short one can be guessed offline.
MIN_SECRET_BYTES = 32
# ... and made of at least this many different characters: 32 random bytes written in hex,
# base64 or as text have far more; "x" * 32 or a word repeated has fewer.
MIN_SECRET_CHARACTERS = 8
# A public default this long found inside a secret is one edited, not replaced; a shorter one
# ("hub") turns up by chance in random text.
MIN_EDITED_DEFAULT = 8
# A secret is used exactly as written: one with a space, tab or line break around it (an env
# file's stray space, `echo` into a file) is refused, not stripped, since stripping would
# make a key-encryption key another key than the one the store was written with.
SURROUNDED = (
    "has whitespace or a line break around it, and a secret is used as written: remove it "
    "(a key-encryption key changed so is another key: rotate to it with `hub privacy "
    "rotate-kek`, the key as written given as the previous one)"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="ignore")

    # "development" accepts the public default secrets below; "production" (the default)
    # refuses them. The README's two commands and the tests set development explicitly.
    mode: Mode = "production"

    # Where the project keeps its runtime files (data, logs); ignored by git.
    var_dir: Path = Path("var")

    # The log of record.
    store: StoreKind = "sqlite"
    sqlite_path: Path | None = None
    postgres_host: str = "127.0.0.1"
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_dbname: str = "hub"
    postgres_user: str = "hub"
    postgres_password: SecretStr = SecretStr("hub")
    # A plain lower-case identifier: the event store's library spells the schema unquoted in
    # places, so "PgWalk" or "pg-walk" would be created and then not found.
    postgres_schema: str = Field(default="", pattern=r"^([a-z_][a-z0-9_]{0,62})?$")

    # Kafka (SASL/SCRAM-SHA-512 on the client listener; over TLS with SASL_SSL, checked
    # against the CA bundle of kafka_ssl_cafile, or the system's when unset).
    kafka_bootstrap: str = "127.0.0.1:19092"
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    kafka_ssl_cafile: Path | None = None
    kafka_controller_port: int = Field(default=19093, ge=1, le=65535)
    kafka_user: str = DEFAULT_SUPER_USER
    kafka_password: SecretStr = SecretStr("admin-secret")
    # The controller listener's own PLAIN user (broker to controller); no client uses it.
    kafka_controller_secret: SecretStr = SecretStr("dev-only-controller-secret")
    kafka_topic_prefix: str = ""
    # How long a topic that may carry personal data keeps a record (retention.ms, set when
    # provisioning): long enough for an agency client to be away and catch up; the agency's
    # inbox, not the topic, is where it keeps what it received (docs/STREAMS.md).
    personal_topic_retention_days: int = Field(default=30, ge=1, le=3650)
    # Passwords of provisioned principals (agencies, relay, hub, auditor, analyst) derive from
    # this secret, so a local install needs no password file.
    provisioning_secret: SecretStr = SecretStr("dev-only-provisioning-secret")

    # Keyed pseudonyms for the analysts' stream; analysts never hold this key.
    pseudonym_key: SecretStr = SecretStr("dev-only-pseudonym-key-change-me")

    # The key-encryption key that wraps each person's data key (hub/keys.py, docs/PRIVACY.md).
    # Empty: in development a key file made once under var/keys/; refused in production.
    kek: SecretStr = SecretStr("")
    # The retention schedule (hub/retention.py, docs/PRIVACY.md): years a closed case keeps
    # the person's details after its last record before erasure is due.
    retention_closed_case_years: int = Field(default=5, ge=1, le=100)
    # Off only to measure or compare against a log without it; production always seals.
    seal_personal: bool = True

    # How far ahead of now a command's instants and dates may lie (hub/plausible.py).
    future_margin_days: int = Field(default=31, ge=0, le=3660)

    # Who the CLI and the Python API act as when a command names no actor (recorded on
    # every event; docs/AUDIT.md): the officer's own id. Unset, development mode acts as
    # "operator" and production refuses such commands (ops.wiring.configured_operator).
    operator: str | None = None

    # Identity for `hub serve`: bearer tokens of the city's OpenID Connect provider. An empty
    # JWKS URL means the local development issuer's keys (refused in production).
    oidc_issuer: str = DEV_OIDC_ISSUER
    oidc_audience: str = "kitakyushu-hub"
    oidc_jwks_url: str = ""
    # At least 1 KiB (a smaller limit refuses every command), at most 16 MiB.
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)

    # Prometheus metrics of a long-running process (docs/METRICS.md): the port its /metrics
    # listens on (unset: none; each command's --metrics-port overrides it) and the interface.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"

    # Where the process's spans go (docs/TRACING.md): none, console (stderr) or otlp.
    trace_exporter: Literal["none", "console", "otlp"] = "none"

    log_format: Literal["console", "json"] = "console"
    log_level: LogLevel = "INFO"

    @field_validator("var_dir", "sqlite_path", "kafka_ssl_cafile", mode="before")
    @classmethod
    def _a_path_names_something(cls, value: Any) -> Any:
        return refuse_empty_path(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    def insecure_secrets(self, *names: str) -> list[str]:
        """The secrets (all the hub uses, or those ``names``) empty, with whitespace or a line
        break around them (``SURROUNDED``), at their public default (whatever the case),
        shorter than ``MIN_SECRET_BYTES``, of few characters, one piece repeated or the value
        of another secret.

        The PostgreSQL password counts only when the store is PostgreSQL; every connection
        to PostgreSQL (an agency's inbox too) checks it where it is made.
        """
        found = []
        fields = type(self).model_fields
        # Every secret's default is public, so none of them is a secret of another either
        # ("dev-only-pseudonym-key-change-me" is 32 bytes long).
        public = {_default(f).strip().casefold() for f in fields.values() if _is_secret(f)}
        for name, field in fields.items():
            if (names and name not in names) or not _is_secret(field):
                continue
            if not names and name == "postgres_password" and self.store != "postgres":
                continue
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else ""
            text = raw.strip()
            default = _default(field)
            variable = f"{self.model_config.get('env_prefix', '')}{name}".upper()
            if text and raw != text:
                # Checked stripped, the secret would be used as written: refused, never
                # stripped quietly (a key-encryption key stripped is another key); what
                # the value itself breaks is said too.
                found.append(f"{variable} {SURROUNDED}")
            if not text:
                found.append(f"{variable} is missing")
            elif default and text.casefold() == default.strip().casefold():
                found.append(f"{variable} is the public development default")
            elif text.casefold() in public:
                found.append(f"{variable} is the public development default of another secret")
            elif any(len(p) >= MIN_EDITED_DEFAULT and p in text.casefold() for p in public):
                # "dev-only-pseudonym-key-change-me-2026": the public text, its end guessable.
                found.append(f"{variable} holds a public development default (edited, not new)")
            elif len(text.encode()) < MIN_SECRET_BYTES:
                found.append(f"{variable} is shorter than {MIN_SECRET_BYTES} bytes")
            elif len(set(text)) < MIN_SECRET_CHARACTERS:
                found.append(
                    f"{variable} has fewer than {MIN_SECRET_CHARACTERS} different characters"
                )
            elif text in (text + text)[1:-1]:  # a piece written again and again
                found.append(f"{variable} is one piece repeated")
            elif twin := self._same_secret(name, text):
                found.append(f"{variable} is the same as {twin} (one secret each)")
        return found

    def _same_secret(self, name: str, text: str) -> str:
        """The variable of another secret set to ``text`` ('' for none): a key reused for a
        second purpose (the KEK as the pseudonym key) falls with the first."""
        prefix = str(self.model_config.get("env_prefix", ""))
        for other, field in type(self).model_fields.items():
            value = getattr(self, other)
            if other == name or not _is_secret(field) or not isinstance(value, SecretStr):
                continue
            if value.get_secret_value().strip() == text:
                return f"{prefix}{other}".upper()
        return ""

    def require_secrets(self, *names: str) -> None:
        """Outside development mode, refuse secrets (all, or ``names``) that are public."""
        if self.mode == "development":
            return
        problems = self.insecure_secrets(*names)
        if problems:
            raise InsecureSecretError(
                f"refusing to start in {self.mode} mode: {'; '.join(problems)} "
                "(set a secret of your own, see README 'Configuration', "
                "or HUB_MODE=development on a trial machine)"
            )

    def secret(self, name: str) -> str:
        """The value of the secret ``name``, refused outside development mode if public."""
        self.require_secrets(name)
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else ""

    @property
    def sqlite_file(self) -> Path:
        return self.sqlite_path or self.var_dir / "hub.sqlite"

    def private_var_dir(self, *parts: str) -> Path:
        """``var_dir`` / ``parts``, each folder 0700 (created so, or tightened: they are the
        hub's own and hold personal data)."""
        path = private_dir(self.var_dir, tighten=True)
        for part in parts:
            path = private_dir(path / part, tighten=True)
        return path

    def eventsourcing_env(self, store: StoreKind | None = None) -> dict[str, str]:
        """The environment the eventsourcing library reads to build its recorders."""
        # Every process that opens the hub's store is the hub: all its secrets must be real.
        self.require_secrets()
        if not self.seal_personal and self.mode != "development":
            # Production seals whatever this says; said, so that no one believes otherwise.
            raise ConfigurationError(
                f"refusing to start in {self.mode} mode: HUB_SEAL_PERSONAL=false is for "
                "development only (production always seals the person's details)"
            )
        kind = store or self.store
        sealing = {
            "HUB_KEK": self.key_encryption_secret(),
            "HUB_SEAL_PERSONAL": "y" if self.seals_personal else "n",
        }
        if kind == "sqlite":
            if self.sqlite_path is None:
                self.private_var_dir()
            self._check_store_folder()
            private_sqlite(self.sqlite_file)
            return {
                **sealing,
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_file),
                "SQLITE_LOCK_TIMEOUT": "10",
                # The log's hash chain is written with the events (hub/chain.py).
                "APPLICATION_RECORDER_TOPIC": "hub.chain:ChainedSQLiteApplicationRecorder",
            }
        self.check_postgres_transport()
        env = {
            **sealing,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.secret("postgres_password"),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "5",
            "APPLICATION_RECORDER_TOPIC": "hub.chain:ChainedPostgresApplicationRecorder",
        }
        if self.postgres_schema:
            env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env

    @property
    def seals_personal(self) -> bool:
        """Whether the log's personal fields are sealed (always outside development)."""
        return self.seal_personal or self.mode != "development"

    def key_encryption_secret(self) -> str:
        """``HUB_KEK``; unset in development, the key file under ``var/keys/`` (made once)."""
        if self.kek.get_secret_value() or self.mode != "development":
            return self.secret("kek")
        path = self.private_var_dir("keys") / "kek.dev"
        if not path.exists():  # made aside and linked in: racing processes agree on one
            draft = private_file(path.with_name(f"kek.{secrets.token_hex(8)}.draft"))
            draft.write_text(secrets.token_urlsafe(32), encoding="ascii")
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text(encoding="ascii").strip()

    def _check_store_folder(self) -> None:
        """Outside development, refuses a SQLite store in a folder its group or every user
        may write to and delete from (one made 0777 or 0770; a sticky folder such as /tmp
        lets no one remove another's file): the hub leaves such a folder's mode as it is,
        and they could then delete or replace the log of record and its write-ahead log."""
        self.check_folder_of(self.sqlite_file, "the store", "HUB_VAR_DIR, HUB_SQLITE_PATH")

    def check_folder_of(self, file: Path, what: str, settings: str) -> None:
        """Outside development, refuses ``file`` (a SQLite file of personal data) in a
        folder its group or every user may write to and delete from (``hub.permissions``),
        naming ``settings`` to change."""
        if self.mode == "development":
            return
        folder = file.parent
        try:
            mode = folder.stat().st_mode
        except OSError:
            return  # not there (yet): creating the file says why
        exposed = folder_exposure(mode)
        if exposed is not None:
            raise InsecurePermissionsError(
                f"refusing to start in {self.mode} mode: the folder of {what}, {folder}, is "
                f"writable by {exposed} (mode {stat.S_IMODE(mode):04o}): give "
                f"the hub a folder of its own ({settings})"
            )

    def check_postgres_transport(self) -> None:
        """Outside development, refuses a PostgreSQL off this host's loopback unless libpq
        is told to encrypt and to check the server's certificate (``PGSSLMODE`` verify-ca
        or verify-full; its default, ``prefer``, falls back to clear text, unverified)."""
        if self.mode == "development":
            return
        away = postgres_hosts_away(self.postgres_host, os.environ)
        if not away:
            return
        mode = os.environ.get("PGSSLMODE", "").strip()
        if mode not in ("verify-ca", "verify-full"):
            raise ConfigurationError(
                f"refusing to start in {self.mode} mode: {away[0]}, and "
                f"PGSSLMODE is {mode or 'unset'}: personal data would cross the network in "
                "clear or to a server nobody checked (set PGSSLMODE=verify-full, and "
                "PGSSLROOTCERT to the city's CA)"
            )

    def postgres_connection(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` to the configured database."""
        self.check_postgres_transport()
        return {
            "host": self.postgres_host,
            "port": self.postgres_port,
            "dbname": self.postgres_dbname,
            "user": self.postgres_user,
            "password": self.secret("postgres_password"),
        }

    def principal_password(self, principal: str) -> str:
        """The SCRAM password of a provisioned principal (HMAC of the provisioning secret)."""
        secret = self.secret("provisioning_secret").encode()
        return hmac.new(secret, principal.encode(), hashlib.sha256).hexdigest()

    def safe_dict(self) -> dict[str, object]:
        """Settings as they may be shown: secrets masked by pydantic's SecretStr."""
        return {k: str(v) for k, v in self.model_dump().items()}


def postgres_hosts_away(host: str, environ: Mapping[str, str]) -> list[str]:
    """Where libpq may connect, given ``HUB_POSTGRES_HOST`` and its own environment, that is
    neither this host's loopback nor a socket folder; each said as where it comes from.

    libpq takes a comma-separated list of hosts and tries each in turn, and its
    ``PGHOSTADDR`` (or a ``PGSERVICE`` entry) replaces the address the host names; the
    eventsourcing library reads a view's own ``<VIEW>_POSTGRES_HOST`` before the hub's. So
    every one of them is judged, not the first alone."""
    hosts = [("HUB_POSTGRES_HOST", host)] + [
        (name, value)
        for name, value in sorted(environ.items())
        if name.upper().endswith("_POSTGRES_HOST") and name.upper() != "HUB_POSTGRES_HOST"
    ]
    away = [
        f"{name} names {one}, off this host"
        for name, value in hosts
        for one in (part.strip() for part in value.split(","))
        if one and not (is_loopback(one) or one.startswith("/"))
    ]
    addresses = [a.strip() for a in environ.get("PGHOSTADDR", "").split(",") if a.strip()]
    away += [f"PGHOSTADDR names {a}, off this host" for a in addresses if not is_loopback(a)]
    if environ.get("PGSERVICE", "").strip():
        away.append(
            f"PGSERVICE names the service {environ['PGSERVICE'].strip()!r}, whose host libpq "
            "reads from a file the hub does not judge"
        )
    return away


def postgres_hint(settings: Settings) -> str:
    """What to try when PostgreSQL does not answer: `hub services up` starts only a server on
    this host, and refuses another host's."""
    if is_loopback(settings.postgres_host):
        return "try `hub services up postgres`"
    return f"is {settings.postgres_host}:{settings.postgres_port} reachable from here?"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name, an IPv4 or a bracketed IPv6 address) is this host's loopback:
    what travels there in clear never crosses a network."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_empty_path(value: Any) -> Any:
    """An empty (or blank) path is refused rather than read as ``Path("")``, the current
    folder: ``HUB_SQLITE_PATH=`` would have the hub take the folder it runs in for its
    store, ``HUB_VAR_DIR=`` fill it with the hub's files and make it 0700."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("an empty path names no file or folder (unset it for the default)")
    return value


def _is_secret(field: FieldInfo) -> bool:
    return field.annotation is SecretStr or SecretStr in get_args(field.annotation)


def _default(field: FieldInfo) -> str:
    return field.default.get_secret_value() if isinstance(field.default, SecretStr) else ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise invalid_settings(error) from None


def invalid_settings(error: ValidationError) -> ConfigurationError:
    """One line naming each ``HUB_`` variable a settings class refused, and why."""
    # A value of a list names its variable alone (its place in the list is not a name).
    problems = "; ".join(
        f"HUB_{'_'.join(str(p) for p in e['loc'] if isinstance(p, str)).upper()}: "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in error.errors()
    )
    return ConfigurationError(f"invalid settings: {problems}")
