"""A large log built in minutes: a slice of the demo year written many times over.

The slice (the demo year ×k) runs once through the hub's command path in memory, so its
events are the real mix the handlers make. Copy ``c`` of it is then written straight
through the target store's recorder, in large transactions (the hash chain is written by
the recorder, as for any insert):

- every identifier is remapped per copy (``uuid5`` of the copy and the old id): originator
  ids and every UUID field of a payload (case, referral, consent, meeting, command ids…),
  and the subjects an erasure names; a receipt's id is derived again from its remapped
  command id (``receipt_id``), as the hub derives it. Copy 0 keeps the slice's ids. The
  network's own events (agencies, wards) are written once, by copy 0: copies are more
  people in the same city, not more cities.
- times are kept: event ``i`` of the slice is written for every copy before event
  ``i + 1``, so the log stays in business-time order and each copy in its own order.
- personal fields are sealed again, with the remapped subject bound in the associated data
  (``hub.sealing``), under a data key per subject that is wrapped with the store's own
  key-encryption key and stored in its key table before the events it seals. The data keys
  are derived (HMAC-SHA-256 of a random secret of this build and the subject) so that
  worker processes need not share a table of them; the secret is dropped when the build
  ends, and a reader knows only the wrapped keys, as for keys the hub made itself.

Not kept: a receipt's ``command_digest`` is the slice command's (the command with the new
ids was never validated; it matters only if that command id were submitted again).
A slice holding an erasure is refused (copies would need destroyed keys).
Encoding (remap, seal, JSON) runs in worker processes; the parent wraps keys and inserts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import types
import typing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from multiprocessing import get_context
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent
from pydantic import BaseModel

from hub.application import HubApplication
from hub.domain.network import NETWORK_ID
from hub.domain.others import receipt_id
from hub.events import EVENTS_BY_NAME, PersonErased
from hub.keys import DataKeys, LocalKeyWrapper, MemoryKeyTable, SQLKeyTable
from hub.sealing import SEALED, Sealer

COPY_NAMESPACE = uuid5(NAMESPACE_URL, "https://example.invalid/kitakyushu-hub/bench/copy")
EVENTS_PER_CHUNK = 8_000  # events encoded per task, inserted in one transaction


@dataclass(frozen=True)
class Template:
    """One event of the slice, ready to be written again under other ids."""

    originator_id: str
    version: int
    topic: str
    head: dict[str, Any]  # the event's state as the library stores it, payload left out
    model: str  # the payload's class
    data: str  # the payload as JSON, personal fields in the clear
    receipt: bool  # the originator is the receipt of the payload's command id
    new_subjects: tuple[str, ...]  # subjects whose first sealed event this is
    network: bool  # an event of the network directory: written by copy 0 only


@cache
def id_fields(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """The payload fields of ``model`` holding ids to remap: (name, is a list)."""
    found: list[tuple[str, bool]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = set(_flat(annotation))
        if UUID in args:
            found.append((name, typing.get_origin(_unoptional(annotation)) is list))
        elif any(isinstance(a, type) and issubclass(a, BaseModel) and _has_ids(a) for a in args):
            raise ValueError(f"{model.__name__}.{name}: ids inside a nested record")
    if model is PersonErased:
        found.append(("subjects", True))  # subjects' ids as text
    return tuple(found)


def _flat(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _flat(arg)


def _unoptional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _has_ids(model: type[BaseModel]) -> bool:
    return any(UUID in set(_flat(f.annotation)) for f in model.model_fields.values())


def templates(source: HubApplication) -> list[Template]:
    """Every event of ``source``'s log (the slice), in log order."""
    found: list[Template] = []
    sealed_before: set[str] = set()
    position = 0
    while batch := source.recorder.select_notifications(
        start=position, limit=2_000, inclusive_of_start=False
    ):
        for notification in batch:
            event: Any = source.mapper.to_domain_event(notification)
            payload = event.payload
            if isinstance(payload, PersonErased):
                raise ValueError("a slice holding an erasure cannot be copied")
            state = dict(vars(event))
            del state["originator_id"], state["originator_version"], state["payload"]
            class_version = getattr(type(event), "class_version", 1)
            if class_version > 1:
                state["class_version"] = class_version
            stored = json.loads(notification.state)
            sealed = stored["payload"]["_data_"].get(SEALED)
            new: tuple[str, ...] = ()
            if sealed is not None and "c" in sealed and sealed["s"] not in sealed_before:
                sealed_before.add(sealed["s"])
                new = (sealed["s"],)
            data = payload.model_dump(mode="json", exclude_none=True)
            originator = str(event.originator_id)
            command = data.get("command_id")
            found.append(
                Template(
                    originator_id=originator,
                    version=int(event.originator_version),
                    topic=notification.topic,
                    head=json.loads(source.mapper.transcoder.encode(state)),
                    model=type(payload).__name__,
                    data=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                    receipt=command is not None and originator == str(receipt_id(UUID(command))),
                    new_subjects=new,
                    network=event.originator_id == NETWORK_ID,
                )
            )
        position = batch[-1].id
    return found


def copy_namespace(copy: int) -> UUID:
    return uuid5(COPY_NAMESPACE, str(copy))


def uuid5_text(namespace: bytes, name: str) -> str:
    """``str(uuid5(UUID(bytes=namespace), name))``, without building UUID objects (the
    builder makes a few per event, tens of millions in all)."""
    raw = bytearray(hashlib.sha1(namespace + name.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_URL = NAMESPACE_URL.bytes


def receipt_text(command_id: str) -> str:
    """``str(receipt_id(UUID(command_id)))`` (``hub.domain.others``)."""
    return uuid5_text(_URL, f"/receipts/{command_id}")


def remap(copy: int) -> Callable[[str], str]:
    """Copy ``copy``'s id for an id of the slice (copy 0: the same id)."""
    if copy == 0:
        return lambda old: old
    namespace = copy_namespace(copy).bytes
    return lambda old: uuid5_text(namespace, old)


def data_key(secret: bytes, subject: str) -> bytes:
    return hmac.new(secret, subject.encode(), hashlib.sha256).digest()


class _DerivedKeys(DataKeys):
    """The data keys of this build, derived from its secret (nothing to look up)."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(MemoryKeyTable(), LocalKeyWrapper(secret))
        self.secret = secret

    def for_writing(self, subject: str) -> AESGCM | None:
        return AESGCM(data_key(self.secret, subject))


# The worker's state: set once per process by ``_start``.
_SLICE: list[Template] = []
_SEALER: Sealer | None = None


def _start(slice_: list[Template], secret: bytes | None) -> None:
    global _SLICE, _SEALER
    _SLICE = slice_
    _SEALER = Sealer(_DerivedKeys(secret)) if secret is not None else None


Encoded = tuple[list[tuple[str, int, str, bytes]], list[str]]


def encode_chunk(start: int, stop: int, copies: int) -> Encoded:
    """Slice events ``start..stop-1``, each for every copy: the stored events' parts and
    the subjects that need a key row first."""
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    maps = [remap(c) for c in range(copies)]
    events: list[tuple[str, int, str, bytes]] = []
    subjects: list[str] = []
    for template in _SLICE[start:stop]:
        model = EVENTS_BY_NAME[template.model]
        fields = id_fields(model)
        for copy, new_id in enumerate(maps):
            if template.network and copy:
                continue
            data = json.loads(template.data)
            if copy:
                for name, many in fields:
                    value = data.get(name)
                    if value is None:
                        continue
                    data[name] = [new_id(v) for v in value] if many else new_id(value)
            subjects += [new_id(s) for s in template.new_subjects]
            if _SEALER is not None:
                _SEALER.seal(model, data)
            if template.receipt:
                originator = receipt_text(data["command_id"])
            else:
                originator = new_id(template.originator_id)
            state = {**template.head, "payload": {"_type_": template.model, "_data_": data}}
            events.append((originator, template.version, template.topic, dumps(state).encode()))
    return events, subjects


def expected_size(slice_: list[Template], copies: int) -> int:
    network = sum(1 for t in slice_ if t.network)
    return network + copies * (len(slice_) - network)


def replicate(
    source: HubApplication,
    target: HubApplication,
    copies: int,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Writes ``copies`` copies of ``source``'s log into ``target`` (an empty store opened
    without the network's import); the number of events written."""
    if target.mapper.compressor is not None or target.mapper.cipher is not None:
        raise ValueError("the target store compresses or encrypts whole events: not supported")
    slice_ = templates(source)
    sealing = target.env.get("HUB_SEAL_PERSONAL", "y").lower() not in ("n", "no", "0")
    secret = os.urandom(32) if sealing else None
    table = target.data_keys.table
    wrapper = target.data_keys.wrapper
    per_event = max(1, EVENTS_PER_CHUNK // copies)
    chunks = [(i, min(i + per_event, len(slice_))) for i in range(0, len(slice_), per_event)]
    written = 0

    def store(encoded: Encoded) -> None:
        nonlocal written
        events, subjects = encoded
        if subjects:
            assert secret is not None
            rows = [(s, wrapper.wrap(data_key(secret, s), s), wrapper.kek_id) for s in subjects]
            insert_keys(table, rows)
        target.recorder.insert_events(
            [StoredEvent(UUID(o), v, topic, state) for o, v, topic, state in events]
        )
        written += len(events)
        if progress is not None:
            progress(written)

    if workers <= 0:
        _start(slice_, secret)
        for start, stop in chunks:
            store(encode_chunk(start, stop, copies))
        return written
    context = get_context("spawn")  # no copy of the parent's connections in the workers
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(slice_, secret)
    ) as pool:
        pending: deque[Future[Encoded]] = deque()
        queue = iter(chunks)
        for start, stop in queue:  # a bounded window: results are inserted in log order
            pending.append(pool.submit(encode_chunk, start, stop, copies))
            if len(pending) > 2 * workers:
                store(pending.popleft().result())
        while pending:
            store(pending.popleft().result())
    return written


def insert_keys(table: Any, rows: list[tuple[str, bytes, str]]) -> None:
    """New subjects' wrapped keys, in one transaction (before the events they seal)."""
    if isinstance(table, MemoryKeyTable):
        for subject, wrapped, kek_id in rows:
            table.add(subject, wrapped, kek_id)
        return
    if not isinstance(table, SQLKeyTable):
        raise TypeError(f"no bulk insert into {type(table).__name__}")
    table.create()
    statement = table.dialect.sql(
        f"INSERT INTO {{{table.name}}} (subject, wrapped_key, kek_id, created_at) "
        "VALUES (?, ?, ?, ?)"
    )
    created_at = datetime.now(UTC).isoformat()
    with table.datastore.transaction(commit=True) as curs:
        for kek_id in {k for _, _, k in rows}:  # as every insert of the hub's own checks it
            table.check_current(curs, kek_id)
        curs.executemany(statement, [(s, w, k, created_at) for s, w, k in rows])
