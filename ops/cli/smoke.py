"""``hub smoke``: one event through eventsourcing, one record through the real broker.

The event goes to a separate SQLite file (``<var_dir>/smoke.sqlite``) so the hub's log of
record never holds anything but domain events.
"""

from __future__ import annotations

import uuid

import typer
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.console import Console

from hub.errors import ServiceUnavailableError
from hub.settings import Settings, get_settings

console = Console()
SMOKE_TOPIC = "ops.smoke"


class SmokeCheck(Aggregate):
    @event("Ran")
    def __init__(self, note: str) -> None:
        self.note = note


def store_round_trip(settings: Settings) -> tuple[uuid.UUID, int]:
    smoke = settings.model_copy(update={"sqlite_path": settings.var_dir / "smoke.sqlite"})
    app: Application = Application(env=smoke.eventsourcing_env("sqlite"))
    try:
        check = SmokeCheck(note="smoke")
        app.save(check)
        copy: SmokeCheck = app.repository.get(check.id)
        return copy.id, app.recorder.max_notification_id() or 0
    finally:
        app.close()


def kafka_round_trip(settings: Settings) -> tuple[str, int, int, bytes]:
    from kafka import TopicPartition
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from hub import kafka_clients

    topic = settings.kafka_topic_prefix + SMOKE_TOPIC
    admin = kafka_clients.admin(settings, client_id="hub-smoke")
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    payload = f"smoke {uuid.uuid4()}".encode()
    producer = kafka_clients.producer(settings, acks="all", client_id="hub-smoke")
    try:
        sent = producer.send(topic, payload).get(timeout=30)
    finally:
        producer.close()
    consumer = kafka_clients.consumer(
        settings, client_id="hub-smoke", enable_auto_commit=False, consumer_timeout_ms=15000
    )
    try:
        partition = TopicPartition(topic, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        for record in consumer:
            if record.value == payload:
                return topic, sent.partition, sent.offset, record.value
    finally:
        consumer.close()
    raise ServiceUnavailableError(f"Produced to {topic} but could not consume the record back")


def smoke() -> None:
    """Write one event to an SQLite store and send one record through Kafka."""
    settings = get_settings()
    aggregate_id, position = store_round_trip(settings)
    console.print(
        f"[green]store[/] saved and read back aggregate {aggregate_id} "
        f"(SQLite {settings.var_dir / 'smoke.sqlite'}, notification {position})"
    )
    topic, partition, offset, value = kafka_round_trip(settings)
    console.print(
        f"[green]kafka[/] produced and consumed {value.decode()!r} on {topic}[{partition}] "
        f"at offset {offset} via {settings.kafka_bootstrap} as {settings.kafka_user}"
    )


def register(app: typer.Typer) -> None:
    app.command(name="smoke")(smoke)
