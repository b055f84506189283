"""Closing the relay's librdkafka producer ends its threads at once.

librdkafka is not fork-safe: a process that forks a component (the crash tests do) must not
carry another client's threads, and a closed producer left for the collector kept them."""

from __future__ import annotations

import time

from hub.rdkafka import RdProducer
from tests.faults.kill import librdkafka_threads
from tests.ports import free_port


def test_a_closed_producer_leaves_no_librdkafka_thread_even_with_records_undelivered() -> None:
    before = set(librdkafka_threads())  # another test's producer may end meanwhile
    producer = RdProducer({"bootstrap.servers": f"127.0.0.1:{free_port()}"})  # no broker
    producer.send("t", key=b"k", value=b"v")  # queued; nothing can deliver it
    assert set(librdkafka_threads()) - before
    began = time.monotonic()
    producer.close(timeout=0.2)
    assert time.monotonic() - began < 10  # the undelivered record is dropped, not waited for
    assert set(librdkafka_threads()) - before == set()
    producer.close()  # a second close does nothing
