"""Where a leak-impact assessment reads the leaked records from: a Kafka topic, an agency
client's inbox file, or a copy of the store (log of record)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hub import codec, confluent_wire, kafka_clients
from hub.codec import event_record
from hub.errors import InvalidCommandError, NotFoundError
from hub.quarantine import stop_on_keys
from hub.settings import Settings
from ops.wiring import open_application
from projections.audit.leak import Exposure, disclosed_exposures, exposures
from projections.audit.source import UnreadableLogError
from projections.discoveries import discoveries

Leaked = Iterator[tuple[datetime, list[Exposure]]]


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def from_topic(settings: Settings, topic: str, unreadable: list[int] | None = None) -> Leaked:
    """Every record of ``topic`` (read from offset zero, no consumer group), in either
    framing (an agency's reply may come Confluent-framed); the offsets of records no schema
    of the hub reads go to ``unreadable``, for the assessment to say so, not to stop."""
    _topic_exists(settings, topic)
    for message in kafka_clients.read_to_end(settings, [topic], client_id="hub-leak-impact"):
        try:
            if message.value[:1] == confluent_wire.MAGIC:
                schema, record = confluent_wire.decode(message.value)
            else:
                schema, record = codec.decode(message.value)
        except (codec.CodecError, TypeError):  # TypeError: no value at all (a tombstone)
            if unreadable is not None:
                unreadable.append(message.offset)
            continue
        if "occurred_at" in record:
            at = _instant(record["occurred_at"])
            yield at, exposures(schema, record, at)


def _topic_exists(settings: Settings, topic: str) -> None:
    """A topic the broker does not have is not found (exit 3), not a broker away (exit 4);
    a tenant's topics carry its prefix, which the name given may lack."""
    client = kafka_clients.admin(settings)
    try:
        known = set(client.list_topics())
    finally:
        client.close()
    if topic in known:
        return
    prefixed = f"{settings.kafka_topic_prefix}{topic}"
    hint = f"; did you mean {prefixed}?" if prefixed in known else ""
    raise NotFoundError(f"--topic: no topic {topic} on the broker{hint}")


def from_inbox(path: Path) -> Leaked:
    """An agency client's SQLite inbox: the personal fields each row was given."""
    if not path.is_file():
        raise InvalidCommandError(f"--inbox: no such file: {path}")
    # A leaked file alone is read as immutable: read-only would still make -wal and -shm
    # files beside it. One that came with its -wal is read with it (rows may be there only).
    alone = not path.with_name(f"{path.name}-wal").exists()
    with sqlite3.connect(f"file:{path}?{'immutable=1' if alone else 'mode=ro'}", uri=True) as db:
        try:
            rows = db.execute(
                "SELECT case_id, event_type, occurred_at, disclosed FROM inbox_events"
            ).fetchall()
        except sqlite3.DatabaseError as error:
            raise InvalidCommandError(f"--inbox: {path} is not an agency inbox ({error})") from None
    for case_id, event_type, occurred_at, disclosed in rows:
        at = _instant(occurred_at)
        found = (
            disclosed_exposures(event_type, case_id, json.loads(disclosed or "{}"), at)
            if case_id
            else []
        )
        yield at, found


def from_store(path: Path) -> Leaked:
    """A copy of a SQLite store: every event of the log of record (nothing is written)."""
    if not path.is_file():
        raise InvalidCommandError(f"--store: no such file: {path}")
    app = open_application(Settings(store="sqlite", sqlite_path=path), seed_network=False)
    try:
        linked = _cases_of_discoveries(app)
        after: int | None = None
        while True:
            batch = app.recorder.select_notifications(
                start=after, limit=500, inclusive_of_start=after is None
            )
            if not batch:
                return
            for notification in batch:
                try:
                    domain_event = app.mapper.to_domain_event(notification)
                except Exception as error:
                    stop_on_keys(error)  # a copy whose keys this hub cannot unwrap: say so
                    raise UnreadableLogError(
                        f"--store: the event at position {notification.id} cannot be read "
                        f"({type(error).__name__}); `HUB_SQLITE_PATH={path} hub audit "
                        "verify-log --no-witness` names what changed in the copy"
                    ) from error
                payload = getattr(domain_event, "payload", None)
                if payload is None:
                    continue
                record = event_record(domain_event)
                found = exposures(type(payload).__name__, record, payload.occurred_at)
                yield (
                    payload.occurred_at,
                    [
                        replace(e, person=linked[e.person]) if e.person in linked else e
                        for e in found
                    ],
                )
            after = batch[-1].id
    finally:
        app.close()


def _cases_of_discoveries(app: Any) -> dict[str, str]:
    """The case each discovery linked to one was opened as: its report's details are that
    person's, whom the case names (a case opened from a discovery holds them too), so one
    person is never counted twice. Empty when the discoveries do not read: the full read
    names the event that does not."""
    try:
        found = discoveries(app)
    except Exception as error:
        stop_on_keys(error)
        return {}
    return {key: d.case_id for key, d in found.items() if d.case_id is not None}
