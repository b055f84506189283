"""A real single-node Apache Kafka broker (KRaft), assembled from Maven Central jars.

Jars are fetched once into ``~/.cache/kitakyushu-hub/kafka-<version>/lib``; configuration,
data, logs and the pid file live under ``<var_dir>/kafka/``. The client listener speaks
SASL_PLAINTEXT with SCRAM-SHA-512 and the StandardAuthorizer denies anything without an ACL,
so only the super user (``HUB_KAFKA_USER``) can do anything until ACLs are granted. The
controller listener speaks SASL_PLAINTEXT with PLAIN: KRaft keeps SCRAM credentials in the
metadata log the controller serves, so a controller cannot authenticate its own quorum with
SCRAM; its one user (``controller``, ``HUB_KAFKA_CONTROLLER_SECRET``) lives in the JAAS line.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import ConfigurationError, ServiceUnavailableError
from hub.files import private_dir, private_file, tighten_tree
from hub.kafka_config import SASL_MECHANISM, check_transport, client_config
from hub.principals import CONTROLLER_USER
from hub.settings import Settings
from ops.services import tls

POM = Path(__file__).resolve().parents[1] / "kafka" / "pom.xml"
INSTALL_HINT = "install them with: apt-get install openjdk-17-jre-headless maven"
CLIENT_LISTENER = "CLIENT"
CONTROLLER_LISTENER = "CONTROLLER"
# The broker reaches its own controller as the PLAIN user CONTROLLER_USER; the
# StandardAuthorizer lets it through (CLUSTER_ACTION) as a super user. No client credential
# opens that listener.
CONTROLLER_MECHANISM = "PLAIN"
HEAP = ("-Xms256m", "-Xmx768m")
START_TIMEOUT_S = 120.0
DEAD_CONFIRM_S = 2.0
PRIVATE_UMASK = 0o077  # the broker's own files: segments hold personal data
STOP_TIMEOUT_S = 30.0


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if not match:
        raise ServiceUnavailableError(f"{POM} does not name a kafka.version")
    return match.group(1)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kitakyushu-hub" / f"kafka-{kafka_version()}"


def jar_dir() -> Path:
    return cache_dir() / "lib"


@dataclass(frozen=True)
class KafkaPaths:
    home: Path

    @classmethod
    def of(cls, settings: Settings) -> KafkaPaths:
        return cls(settings.var_dir.resolve() / "kafka")

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def server_properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.home / "log4j2.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def console_log(self) -> Path:
        return self.logs / "kafka.out"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"


@dataclass(frozen=True)
class KafkaStatus:
    running: bool
    pid: int | None
    bootstrap: str
    started: bool = False
    seconds: float = 0.0
    cluster_id: str | None = None
    detail: str = ""


# ---------------------------------------------------------------- configuration


def _host_port(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    return host or "127.0.0.1", int(port)


def _quoted(text: str) -> str:
    """``text`` as a quoted JAAS value: Kafka's tokenizer takes a backslash as an escape
    and ends the value at a quote or a line's end."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
    return '"' + "".join(escapes.get(c, c) for c in text) + '"'


def _jaas(settings: Settings) -> str:
    password = _quoted(settings.secret("kafka_password"))
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f"username={_quoted(settings.kafka_user)} password={password};"
    )


def _controller_jaas(settings: Settings) -> str:
    password = _quoted(settings.secret("kafka_controller_secret"))
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{CONTROLLER_USER}" password={password} '
        f"user_{CONTROLLER_USER}={password};"
    )


def security_properties(settings: Settings) -> dict[str, str]:
    """The settings that must be the same wherever the broker runs (here or in Docker)."""
    host, port = _host_port(settings.kafka_bootstrap)
    ctrl = settings.kafka_controller_port
    client = CLIENT_LISTENER.lower()
    controller = CONTROLLER_LISTENER.lower()
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{ctrl}",
        "controller.listener.names": CONTROLLER_LISTENER,
        "inter.broker.listener.name": CLIENT_LISTENER,
        "advertised.listeners": f"{CLIENT_LISTENER}://{host}:{port}",
        "listener.security.protocol.map": (
            f"{CLIENT_LISTENER}:{settings.kafka_security_protocol},"
            f"{CONTROLLER_LISTENER}:SASL_PLAINTEXT"
        ),
        "sasl.enabled.mechanisms": SASL_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
        f"listener.name.{client}.{SASL_MECHANISM.lower()}.sasl.jaas.config": _jaas(settings),
        f"listener.name.{controller}.sasl.enabled.mechanisms": CONTROLLER_MECHANISM,
        "sasl.mechanism.controller.protocol": CONTROLLER_MECHANISM,
        f"listener.name.{controller}.{CONTROLLER_MECHANISM.lower()}.sasl.jaas.config": (
            _controller_jaas(settings)
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{settings.kafka_user};User:{CONTROLLER_USER}",
        "allow.everyone.if.no.acl.found": "false",
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # An offset commit is written at once, not held up to 5 ms for others to join it:
        # each consumer commits after each poll and waits for the answer before the next.
        "group.coordinator.append.linger.ms": "0",
    }


def server_properties(
    settings: Settings, paths: KafkaPaths, tls_material: tls.BrokerTls | None = None
) -> dict[str, str]:
    host, port = _host_port(settings.kafka_bootstrap)
    props = {
        "listeners": (
            f"{CLIENT_LISTENER}://{host}:{port},"
            f"{CONTROLLER_LISTENER}://127.0.0.1:{settings.kafka_controller_port}"
        ),
        "log.dirs": str(paths.data),
    }
    props.update(security_properties(settings))
    if tls_material is not None:
        props.update(tls_material.properties())
    return props


def _tls(settings: Settings, paths: KafkaPaths) -> tls.BrokerTls | None:
    """The client listener's TLS material when it speaks SASL_SSL (``ops.services.tls``)."""
    if settings.kafka_security_protocol != "SASL_SSL":
        return None
    return tls.broker_tls(paths.home, _host_port(settings.kafka_bootstrap)[0])


def log4j2_properties(paths: KafkaPaths) -> str:
    return f"""\
status = warn
name = hub-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {paths.server_log}
appender.file.filePattern = {paths.logs}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = kafka.controller
logger.controller.level = INFO
logger.clients.name = org.apache.kafka
logger.clients.level = INFO
"""


def _write_properties(path: Path, props: dict[str, str]) -> None:
    lines = ["# Written by ops/services/kafka.py from hub.settings; edits are overwritten."]
    lines += [f"{_escaped(key)}={_escaped(value)}" for key, value in props.items()]
    # Holds the passwords of the inter-broker and the controller users: private before
    # anything is written.
    private_file(path).write_text("\n".join(lines) + "\n")


def _escaped(text: str) -> str:
    """``text`` as java.util.Properties reads it back from the file the broker loads
    (ISO-8859-1, a backslash an escape): a secret's quote, backslash or kanji intact."""
    named = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}
    out = []
    for i, c in enumerate(text):
        if c in named:
            out.append(named[c])
        elif c == " " and i == 0:
            out.append("\\ ")  # leading spaces of a value are skipped
        elif not " " <= c <= "~":
            # \uXXXX of UTF-16 units: a character beyond the BMP is a surrogate pair
            data = c.encode("utf-16-be")
            out += [f"\\u{data[j]:02x}{data[j + 1]:02x}" for j in range(0, len(data), 2)]
        else:
            out.append(c)
    return "".join(out)


def write_config(settings: Settings, paths: KafkaPaths) -> None:
    # The broker's segments hold personal data: its folders 0700, files 0600 (it runs with
    # umask 077; what an earlier run left is tightened here). Its own folders first: one
    # left open would make the broker's folder look shared, and leave it open.
    tighten_tree([paths.data, paths.logs, tls.folder(paths.home)])
    settings.private_var_dir("kafka")
    private_dir(paths.logs, tighten=True)
    _write_properties(
        paths.server_properties, server_properties(settings, paths, _tls(settings, paths))
    )
    private_file(paths.log4j).write_text(log4j2_properties(paths))


# ---------------------------------------------------------------- jars


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise ServiceUnavailableError(
            f"The Kafka broker needs Java 17 and Maven; missing: {', '.join(missing)}; "
            + INSTALL_HINT
        )


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def jars_ready() -> bool:
    marker = cache_dir() / "complete"
    return marker.is_file() and marker.read_text().strip() == _pom_digest()


def fetch_jars() -> Path:
    """Copy the broker's runtime jars from Maven Central into the cache (once)."""
    if jars_ready():
        return jar_dir()
    _require("java", "mvn")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    partial = root / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise ServiceUnavailableError(f"mvn could not fetch the Kafka jars:\n{tail}")
    shutil.rmtree(jar_dir(), ignore_errors=True)
    partial.rename(jar_dir())
    (root / "complete").write_text(_pom_digest() + "\n")
    return jar_dir()


# ---------------------------------------------------------------- process


def _java(*args: str, log4j: Path | None = None, heap: tuple[str, ...] = HEAP) -> list[str]:
    cmd = ["java", *heap, "-XX:+UseG1GC", "-Djava.awt.headless=true"]
    if log4j is not None:
        cmd.append(f"-Dlog4j2.configurationFile={log4j}")
    return [*cmd, "-cp", f"{jar_dir()}/*", *args]


def _alive(pid: int) -> bool:
    return _not_alive(pid) is None


def _not_alive(pid: int) -> str | None:
    """Why ``pid`` is not a running broker (None: it is one)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own child if it has exited
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"no process {pid}"
    if stat.rpartition(")")[2].split()[0] == "Z":
        return f"process {pid} has exited"
    if b"kafka.Kafka" not in cmdline:
        return f"process {pid} is not a broker"
    return None


class Gone:
    """A broker that is starting and seen gone is looked at again for ``DEAD_CONFIRM_S``
    before its start is declared failed: twice in CI a node that was starting (and ran
    on) was seen gone once just after it was started, cause not found."""

    def __init__(self) -> None:
        self.since: float | None = None

    def confirmed(self, why: str | None) -> str | None:
        """``why`` once it has held for ``DEAD_CONFIRM_S``; None before, or once it runs."""
        if why is None:
            self.since = None
            return None
        now = time.monotonic()
        if self.since is None:
            self.since = now
        return why if now - self.since >= DEAD_CONFIRM_S else None


def running_pid(paths: KafkaPaths) -> int | None:
    pid = _pid(paths)
    return pid if pid is not None and _not_alive(pid) is None else None


def _pid(paths: KafkaPaths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def why_not_running(paths: KafkaPaths) -> str | None:
    """Why the broker of ``paths`` is not running (None: it runs)."""
    pid = _pid(paths)
    return f"no pid in {paths.pid_file}" if pid is None else _not_alive(pid)


def log_tail(paths: KafkaPaths, lines: int = 25) -> str:
    chunks = []
    for log in (paths.console_log, paths.server_log):
        if log.is_file():
            text = log.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {log} ---\n" + "\n".join(line[:400] for line in text))
    return "\n".join(chunks) or f"(no logs under {paths.logs})"


def _cluster_id() -> str:
    # Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding; like Kafka's
    # own Uuid.randomUuid, never one starting with "-" (the tool would read it as an option).
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def format_storage(
    settings: Settings,
    paths: KafkaPaths,
    cluster_id: str | None = None,
    quorum: tuple[str, ...] = ("--standalone",),
) -> None:
    """Format the data directory once, bootstrapping the SCRAM credentials of the super user.

    A node of a cluster passes the cluster's id and no ``--standalone`` (its voters are static).
    """
    if (paths.data / "meta.properties").is_file():
        return
    scram = _scram_credential(settings)
    tool = (
        "kafka.tools.StorageTool",
        "format",
        *quorum,
        f"--cluster-id={cluster_id or _cluster_id()}",
        "-c",
        str(paths.server_properties),
        "--add-scram",
        scram,
    )
    # The salted password (enough to log in with SCRAM) must not be in the process's arguments
    # (ps, /proc/<pid>/cmdline): the java launcher reads them from an @argfile, which it
    # expands only before the main class, so the main class is in the file too.
    with _argfile(paths.home, tool) as argfile:
        result = subprocess.run(
            _java(f"@{argfile}", log4j=paths.log4j),
            capture_output=True,
            text=True,
            check=False,
            umask=PRIVATE_UMASK,
        )
    if result.returncode != 0:
        shutil.rmtree(paths.data, ignore_errors=True)
        output = without_credential(result.stdout + result.stderr, settings)
        raise ServiceUnavailableError(f"Kafka storage format failed:\n{output.strip()}")


_SALTED = re.compile(r"\b(salt|saltedpassword)=[A-Za-z0-9+/=]+")


def without_credential(output: str, settings: Settings) -> str:
    """The storage tool's output as it may be shown: a tool that echoes its ``--add-scram``
    argument on failure would print the salted password, enough to log in with SCRAM."""
    masked = _SALTED.sub(r"\1=***", output)
    password = settings.secret("kafka_password")
    return masked.replace(password, "***") if password else masked


SCRAM_ITERATIONS = 4096  # SCRAM-SHA-512's least, Kafka's default


def _scram_credential(settings: Settings) -> str:
    """The super user's ``--add-scram`` argument: the salted password (RFC 5802), never the
    password. The storage tool parts its argument at commas and takes quotes off a value, and
    the java launcher reads an argument file in the locale's encoding (ASCII under ``C``): a
    password given as such reached the credential changed, or refused with a piece of it
    quoted in the error."""
    salt = os.urandom(32)
    salted = hashlib.pbkdf2_hmac(
        "sha512", settings.secret("kafka_password").encode(), salt, SCRAM_ITERATIONS
    )
    return (
        f"{SASL_MECHANISM}=[name={settings.kafka_user},"
        f"salt={base64.b64encode(salt).decode()},"
        f"saltedpassword={base64.b64encode(salted).decode()},iterations={SCRAM_ITERATIONS}]"
    )


@contextlib.contextmanager
def _argfile(folder: Path, args: tuple[str, ...]) -> Iterator[Path]:
    """A java launcher argument file of ``args`` (0600), removed when the block ends.

    Each argument is double-quoted; inside quotes the launcher unescapes backslashes.
    """
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    lines = ['"' + "".join(escapes.get(c, c) for c in arg) + '"' for arg in args]
    path = private_file(folder / f".java-args-{uuid.uuid4().hex}")
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet_kafka_python() -> Iterator[None]:
    logger = logging.getLogger("kafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def probe(settings: Settings, timeout_s: float = 3.0) -> dict[str, Any]:
    """Connect as the super user and describe the cluster; raises if the broker is not ready."""
    from hub.kafka_clients import AdminClient  # stops its thread when it cannot connect

    ms = int(timeout_s * 1000)
    with _quiet_kafka_python():
        admin = AdminClient(
            **client_config(settings),
            client_id="hub-services",
            bootstrap_timeout_ms=ms,
            request_timeout_ms=ms,
        )
        try:
            cluster: dict[str, Any] = admin.describe_cluster()
        finally:
            admin.close()
    if cluster.get("controller_id", -1) == -1 or not cluster.get("brokers"):
        raise ServiceUnavailableError(f"Kafka has no active controller yet: {cluster}")
    return cluster


def _port_open(settings: Settings) -> bool:
    host, port = _host_port(settings.kafka_bootstrap)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _require_bindable(settings: Settings) -> None:
    """Refuse at once, naming it, a port the broker could not bind (it would start and exit:
    "exited while starting"). A port in the kernel's ephemeral range can be held without
    anyone listening: any outgoing connection may be given it, even one of our own clients
    reconnecting to it while the broker is away (a TCP self-connect)."""
    host, port = _host_port(settings.kafka_bootstrap)
    for where, number in ((host, port), ("127.0.0.1", settings.kafka_controller_port)):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM binds
            try:
                sock.bind((where, number))
            except OSError as error:
                raise ServiceUnavailableError(
                    f"Kafka cannot listen on {where}:{number}: the port is taken "
                    f"({error.strerror}) though nothing answers there; give the broker ports "
                    "outside the kernel's "
                    "ephemeral range (/proc/sys/net/ipv4/ip_local_port_range)"
                ) from error


def _wait_ready(settings: Settings, paths: KafkaPaths, pid: int, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    last_error = "not tried"
    gone = Gone()
    while time.monotonic() < deadline:
        why = gone.confirmed(_not_alive(pid))
        if why is not None:
            raise ServiceUnavailableError(
                f"The Kafka broker exited while starting ({why}).\n{log_tail(paths)}"
            )
        if _port_open(settings):
            try:
                return str(probe(settings).get("cluster_id"))
            except Exception as error:
                last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.25)
    raise ServiceUnavailableError(
        f"The Kafka broker did not become ready within {timeout_s:.0f}s "
        f"(last error: {last_error}).\n{log_tail(paths)}"
    )


@contextlib.contextmanager
def _locked(paths: KafkaPaths) -> Iterator[None]:
    """One ``up``/``down`` at a time per var dir (parallel test runs start it once)."""
    private_dir(paths.home)
    with private_file(paths.home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def up(settings: Settings, timeout_s: float = START_TIMEOUT_S) -> KafkaStatus:
    """Start the broker unless it already runs; returns once a SCRAM client can use it."""
    # Its client listener is HUB_KAFKA_BOOTSTRAP's address: off loopback in clear is refused
    # before anything is written or started, as the hub's clients refuse it.
    check_transport(settings)
    with _locked(KafkaPaths.of(settings)):
        return _up(settings, timeout_s)


def _up(settings: Settings, timeout_s: float) -> KafkaStatus:
    began = time.monotonic()
    paths = KafkaPaths.of(settings)
    pid = running_pid(paths)
    if pid is not None:
        cluster_id = _wait_ready(settings, paths, pid, timeout_s)
        return KafkaStatus(
            True, pid, settings.kafka_bootstrap, False, time.monotonic() - began, cluster_id
        )
    if _port_open(settings):
        raise ServiceUnavailableError(
            f"Something else listens on {settings.kafka_bootstrap} (not our broker: no live pid "
            f"in {paths.pid_file}); stop it or set HUB_KAFKA_BOOTSTRAP."
        )
    if settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_ssl_cafile is None:
        _tls(settings, paths)  # the file named below exists from now on
        raise ConfigurationError(
            "HUB_KAFKA_SECURITY_PROTOCOL is SASL_SSL: the local broker's certificate is "
            "signed by a CA of its own; clients trust it with "
            f"HUB_KAFKA_SSL_CAFILE={tls.ca_file(paths.home)}"
        )
    _require_bindable(settings)
    _require("java")
    fetch_jars()
    write_config(settings, paths)
    format_storage(settings, paths)
    pid = start_process(paths)
    cluster_id = _wait_ready(settings, paths, pid, timeout_s)
    return KafkaStatus(
        True, pid, settings.kafka_bootstrap, True, time.monotonic() - began, cluster_id
    )


def start_process(paths: KafkaPaths, heap: tuple[str, ...] = HEAP) -> int:
    """Start the broker of a configured, formatted ``paths``; its pid goes into the pid file."""
    with private_file(paths.console_log).open("ab") as out:
        process = subprocess.Popen(
            _java("kafka.Kafka", str(paths.server_properties), log4j=paths.log4j, heap=heap),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=paths.home,
            umask=PRIVATE_UMASK,
        )
    private_file(paths.pid_file).write_text(f"{process.pid}\n")
    return process.pid


def status(settings: Settings) -> KafkaStatus:
    paths = KafkaPaths.of(settings)
    pid = running_pid(paths)
    if pid is None and _port_open(settings):
        # Not ours (no live pid under this var dir): another var dir's broker, or else.
        return KafkaStatus(
            False,
            None,
            settings.kafka_bootstrap,
            detail=f"not started from {paths.home}; something else listens on the port",
        )
    if pid is None:
        return KafkaStatus(False, None, settings.kafka_bootstrap, detail="stopped")
    try:
        cluster_id = str(probe(settings).get("cluster_id"))
    except Exception as error:
        return KafkaStatus(
            False,
            pid,
            settings.kafka_bootstrap,
            detail=f"process runs but is not ready: {type(error).__name__}",
        )
    return KafkaStatus(
        True, pid, settings.kafka_bootstrap, cluster_id=cluster_id, detail=f"data {paths.data}"
    )


def down(settings: Settings, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop the broker (SIGTERM, then SIGKILL after ``timeout_s``); False if it was not running."""
    paths = KafkaPaths.of(settings)
    with _locked(paths):
        return _down(paths, timeout_s)


def stop_process(paths: KafkaPaths, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop the broker of ``paths`` (SIGTERM, then SIGKILL); False if it was not running."""
    return _down(paths, timeout_s)


def _down(paths: KafkaPaths, timeout_s: float) -> bool:
    pid = running_pid(paths)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.1)
    paths.pid_file.unlink(missing_ok=True)
    return True
