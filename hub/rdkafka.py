"""A producer on librdkafka (confluent-kafka) behind kafka-python's ``send``/``flush``.

The relay's records go out through it: librdkafka encodes, batches and sends on its own
threads outside the interpreter, where kafka-python's sender thread waits for the GIL
while the relay prepares the rest of a batch (BENCHMARKS.md, end to end). It keeps the
producer's promises: idempotent, acks from every in-sync replica, order per partition.

A record that is not acknowledged fails the ``flush`` that waits for it, as kafka-python's
futures do: the caller then stores nothing and sends the batch again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException, Producer
from kafka.errors import KafkaError, KafkaTimeoutError

# As long as kafka-python's ``delivery_timeout_ms``: a broker away for less than this is
# waited for; longer, and the batch is refused and sent again by the next step.
DELIVERY_TIMEOUT_MS = 120_000
CONNECT_TIMEOUT_S = 10.0

log = logging.getLogger("librdkafka")
# The login probe's own lines (librdkafka logs every refusal it meets) are not the user's.
_probe_log = logging.getLogger("hub.rdkafka.probe")
_probe_log.addHandler(logging.NullHandler())
_probe_log.propagate = False
PROBE_S = 5.0
PROBE_ERRORS = 3  # errors of other kinds before the probe concludes no login was refused


def _reason(error: KafkaException) -> str:
    """librdkafka's own words for ``error`` (its KafkaError, when it carries one)."""
    cause = error.args[0] if error.args else error
    return cause.str() if isinstance(cause, RdKafkaError) else str(cause)


def login_refused(config: dict[str, Any], timeout_s: float = PROBE_S) -> bool:
    """Whether the broker refuses this login (``config``: its address and SASL settings),
    asked once through librdkafka, which reports a refused password as such where
    kafka-python retries it as if the broker were away. False when only other errors
    come (no broker listens) or nothing within ``timeout_s``."""
    seen: list[int] = []
    probe = Producer(
        {**config, "error_cb": lambda error: seen.append(error.code()), "logger": _probe_log}
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        probe.poll(0.1)
        if RdKafkaError._AUTHENTICATION in seen:
            return True
        if len(seen) >= PROBE_ERRORS:
            return False
    return False


class _Sent:
    """What ``send`` returns: ``get`` as a kafka-python future, after ``flush`` ran."""

    __slots__ = ()

    def get(self, timeout: float | None = None) -> None:
        return None


SENT = _Sent()


class RdProducer:
    """``send``, ``flush`` and ``close`` as the relay calls them on a ``KafkaProducer``."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._failed: list[RdKafkaError] = []
        self._closed = False
        self._producer = Producer({**config, "logger": log})

    def connect(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Fails now, as kafka-python's constructor does, when no broker lets us in."""
        try:
            self._producer.list_topics(timeout=timeout_s)
        except KafkaException as error:
            raise KafkaError(f"no broker answered: {_reason(error)}") from None

    def _delivered(self, error: RdKafkaError | None, _message: Any) -> None:
        if error is not None:
            self._failed.append(error)

    def send(
        self,
        topic: str,
        value: bytes | None = None,  # kafka-python's order: a value given by position
        key: bytes | None = None,
        headers: Any = None,  # (name, bytes) pairs, as kafka-python takes them
    ) -> _Sent:
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._delivered
                )
                return SENT
            except BufferError:  # the local queue is full: let librdkafka deliver some
                self._producer.poll(0.05)
            except KafkaException as error:
                raise KafkaError(f"cannot queue for {topic} ({_reason(error)})") from None

    def flush(self, timeout: float | None = None) -> None:
        """Waits for every record sent so far; raises if one was not acknowledged."""
        wait = timeout if timeout is not None else DELIVERY_TIMEOUT_MS / 1000 + 5
        left = self._producer.flush(wait)
        failed, self._failed = self._failed, []
        if failed:
            raise KafkaError(f"{len(failed)} records not acknowledged ({failed[0].str()})")
        if left:
            raise KafkaTimeoutError(f"{left} records not acknowledged within {wait:.0f}s")

    def close(self, timeout: float | None = None) -> None:
        """Delivers what is queued (within ``timeout``), drops what is left (no position was
        stored for it: it is sent again), and ends librdkafka's threads now rather than when
        the object is collected: a process that forks must not carry them (librdkafka is
        not fork-safe). Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        self._producer.flush(timeout if timeout is not None else 30.0)
        self._producer.purge()
        self._producer.close()
        self._failed = []
