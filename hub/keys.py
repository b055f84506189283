"""Per-person data keys (crypto-shredding): one AES-256 key per data subject.

A data subject is a case (or a discovery not yet linked to one). Its data key encrypts the
personal fields of its events (``hub.sealing``); the key is kept apart from the events, in
a key table of the same store (``<events table>_keys``), wrapped by a key-encryption key
(``KeyWrapper``: a KMS or an HSM can implement it; ``LocalKeyWrapper`` holds the key in the
process, from ``HUB_KEK`` or, in development only, a key file under ``var/``). Destroying a
subject's key (erasure) leaves its wrapped key column empty: the ciphertexts in the log stay
as they are, so the hash chain over the stored bytes still verifies, but nobody can read
them again.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.persistence import IntegrityError

from hub.errors import DataKeyUnavailableError, ErasureIncompleteError
from hub.sqldialect import Dialect
from hub.sqlitelock import take_write_lock

NONCE_SIZE = 12
CHECKPOINT_TRIES = 3  # of emptying the -wal file after a key's destruction (SQLite)
# A command's receipt keeps a MAC of its digest under a key derived from the person's data
# key (``DataKeys.digest_key``), never that key itself.
DIGEST_KEY_INFO = b"hub/command-digest/v1"
CACHED_KEYS = 4096  # unwrapped data keys a process keeps (32 bytes each, not their ciphers)


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys: what a KMS or an HSM would do for the hub."""

    @property
    def kek_id(self) -> str: ...

    def wrap(self, data_key: bytes, subject: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, subject: str) -> bytes: ...


class LocalKeyWrapper:
    """AES-GCM key wrapping with a key-encryption key held in this process.

    ``secret`` is any text (``HUB_KEK``); the 256-bit key is derived from it with HKDF, and
    ``kek_id`` (stored beside each wrapped key) names it without revealing it.
    """

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("an empty key-encryption key")
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub data-key wrapping"
        ).derive(secret)
        self._aead = AESGCM(key)
        self._kek_id = (
            "local:"
            + HKDF(algorithm=hashes.SHA256(), length=8, salt=None, info=b"hub kek id")
            .derive(secret)
            .hex()
        )

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def wrap(self, data_key: bytes, subject: str) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, data_key, subject.encode())

    def unwrap(self, wrapped: bytes, subject: str) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], subject.encode())
        except InvalidTag:
            raise DataKeyUnavailableError(
                f"the data key of {subject} does not unwrap with this key-encryption key "
                "(is HUB_KEK, or in development without it <var>/keys/kek.dev, the one the "
                "store was written with?)"
            ) from None


@dataclass(frozen=True)
class Rewrapped:
    """What a rotation of the key-encryption key did to the key table."""

    rewrapped: int  # keys wrapped again with the new key-encryption key
    already: int  # keys it wrapped already (a rotation run again, or interrupted)
    destroyed: int  # subjects erased: no key to wrap


class KeyTable(Protocol):
    """Where wrapped data keys are kept: ``None`` for a subject whose key was destroyed."""

    def create(self) -> None: ...

    def get(self, subject: str) -> tuple[bytes | None, bool]:
        """(wrapped key or None, whether the subject has a row at all)."""
        ...

    def add(self, subject: str, wrapped: bytes, kek_id: str) -> None:
        """Stores the subject's wrapped key unless it has one (or had one) already."""
        ...

    def destroy(self, subject: str) -> bool:
        """Forgets the subject's key; True if there was one to forget."""
        ...

    def destroyed_among(self, subjects: list[str]) -> set[str]:
        """Those of ``subjects`` whose key was destroyed."""
        ...

    def a_live_key(self) -> tuple[str, bytes] | None:
        """One subject whose key is not destroyed, with its wrapped key (None: there is none)."""
        ...

    def rewrap(self, previous: KeyWrapper, new: KeyWrapper) -> Rewrapped:
        """Every live key unwrapped with ``previous`` and wrapped with ``new``, all in one
        transaction: one that unwraps with neither leaves the table as it was."""
        ...

    def check_current(self, curs: Any, kek_id: str) -> None:
        """In the transaction ``curs`` that adds keys: refuses a key-encryption key other
        than the one the store's keys were last rotated to (none rotated: any passes)."""
        ...


class MemoryKeyTable:
    """A key table in memory (the in-memory store of unit tests and generators)."""

    def __init__(self) -> None:
        self._rows: dict[str, bytes | None] = {}

    def create(self) -> None:
        return None

    def get(self, subject: str) -> tuple[bytes | None, bool]:
        return self._rows.get(subject), subject in self._rows

    def add(self, subject: str, wrapped: bytes, kek_id: str) -> None:
        self._rows.setdefault(subject, wrapped)

    def destroy(self, subject: str) -> bool:
        had = self._rows.get(subject) is not None
        self._rows[subject] = None
        return had

    def destroyed_among(self, subjects: list[str]) -> set[str]:
        return {s for s in subjects if s in self._rows and self._rows[s] is None}

    def a_live_key(self) -> tuple[str, bytes] | None:
        return next(((s, w) for s, w in self._rows.items() if w is not None), None)

    def check_current(self, curs: Any, kek_id: str) -> None:
        return None  # an in-memory store lives and dies with its one process

    def rewrap(self, previous: KeyWrapper, new: KeyWrapper) -> Rewrapped:
        rows = [(s, w, "") for s, w in self._rows.items() if w is not None]
        wrapped, counts = _rewrapped(rows, previous, new)
        self._rows.update(wrapped)
        return Rewrapped(counts[0], counts[1], len(self._rows) - len(rows))


class SQLKeyTable:
    """The key table beside the events, on SQLite or PostgreSQL (created when first used)."""

    def __init__(self, datastore: Any, dialect: Dialect, events_table_name: str) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self.name = f"{events_table_name}_keys"
        self._created = False

    def _sql(self, statement: str) -> str:
        return self.dialect.sql(
            statement.replace("{keys}", f"{{{self.name}}}").replace(
                "{current}", f"{{{self.name}_current}}"
            )
        )

    def create(self) -> None:
        """The table, unless it exists (the application makes it when it opens the store)."""
        if self._created:
            return
        try:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(
                    self._sql(
                        "CREATE TABLE IF NOT EXISTS {keys} ("
                        "subject TEXT PRIMARY KEY, wrapped_key BYTEA, kek_id TEXT NOT NULL, "
                        "created_at TEXT NOT NULL, destroyed_at TEXT)"
                    )
                )
                # The key-encryption key the store's keys were last rotated to (one row,
                # none before a rotation): a writer holding another makes no key.
                curs.execute(
                    self._sql(
                        "CREATE TABLE IF NOT EXISTS {current} (one INTEGER PRIMARY KEY "
                        "CHECK (one = 1), kek_id TEXT NOT NULL, rotated_at TEXT NOT NULL)"
                    )
                )
        except IntegrityError:
            pass  # PostgreSQL: another process created it at the same moment
        self._created = True

    def get(self, subject: str) -> tuple[bytes | None, bool]:
        self.create()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql("SELECT wrapped_key FROM {keys} WHERE subject = ?"), (subject,))
            row = curs.fetchone()
        if row is None:
            return None, False
        wrapped = row["wrapped_key"]
        return (bytes(wrapped) if wrapped is not None else None), True

    def add(self, subject: str, wrapped: bytes, kek_id: str) -> None:
        self.create()
        with self.datastore.transaction(commit=True) as curs:
            if self.dialect.kind == "sqlite":
                take_write_lock(curs, self._sql("{keys}"))
            self.check_current(curs, kek_id)
            curs.execute(
                self._sql(
                    "INSERT INTO {keys} (subject, wrapped_key, kek_id, created_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING"
                ),
                (subject, wrapped, kek_id, datetime.now(UTC).isoformat()),
            )

    def get_many(self, subjects: list[str]) -> dict[str, bytes | None]:
        """The rows of those of ``subjects`` that have one (wrapped key or None), in one
        read per 500 subjects."""
        return {
            str(row["subject"]): None if row["wrapped_key"] is None else bytes(row["wrapped_key"])
            for row in self._rows_of(subjects, "subject, wrapped_key")
        }

    def destroyed_among(self, subjects: list[str]) -> set[str]:
        """Those of ``subjects`` whose key was destroyed, in one read per 500 subjects."""
        rows = self._rows_of(subjects, "subject", "AND wrapped_key IS NULL")
        return {str(row["subject"]) for row in rows}

    def a_live_key(self) -> tuple[str, bytes] | None:
        self.create()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._sql(
                    # Any one: ordering them would sort the whole table, at a process's
                    # first new person.
                    "SELECT subject, wrapped_key FROM {keys} WHERE wrapped_key IS NOT NULL LIMIT 1"
                )
            )
            row = curs.fetchone()
        return None if row is None else (str(row["subject"]), bytes(row["wrapped_key"]))

    def rewrap(self, previous: KeyWrapper, new: KeyWrapper) -> Rewrapped:
        self.create()
        with self.datastore.transaction(commit=True) as curs:
            # Writers wait meanwhile: a key made under the old key-encryption key after the
            # read below would be left behind.
            if self.dialect.kind == "sqlite":
                take_write_lock(curs, self._sql("{keys}"))
            else:
                curs.execute(self._sql("LOCK TABLE {keys} IN EXCLUSIVE MODE"))
            curs.execute(self._sql("SELECT subject, wrapped_key, kek_id FROM {keys}"))
            rows = curs.fetchall()
            live = [
                (str(r["subject"]), bytes(r["wrapped_key"]), str(r["kek_id"]))
                for r in rows
                if r["wrapped_key"] is not None
            ]
            wrapped, counts = _rewrapped(live, previous, new)
            statement = self._sql("UPDATE {keys} SET wrapped_key = ?, kek_id = ? WHERE subject = ?")
            for subject, key in wrapped.items():
                curs.execute(statement, (key, new.kek_id, subject))
            curs.execute(
                self._sql(
                    "INSERT INTO {current} (one, kek_id, rotated_at) VALUES (1, ?, ?) "
                    "ON CONFLICT (one) DO UPDATE SET kek_id = excluded.kek_id, "
                    "rotated_at = excluded.rotated_at"
                ),
                (new.kek_id, datetime.now(UTC).isoformat()),
            )
        return Rewrapped(counts[0], counts[1], len(rows) - len(live))

    def check_current(self, curs: Any, kek_id: str) -> None:
        # Read once no rotation holds the key table (its lock: exclusive): read before, the
        # row a rotation under way writes at its end was missed, and the key inserted after
        # it committed, wrapped with the key it replaced. SQLite: the caller holds the
        # store's write lock already (taken first, so this read's snapshot is the latest).
        if self.dialect.kind == "postgres":
            curs.execute(self._sql("LOCK TABLE {keys} IN ROW EXCLUSIVE MODE"))
        curs.execute(self._sql("SELECT kek_id FROM {current} WHERE one = 1"))
        row = curs.fetchone()
        if row is not None and str(row["kek_id"]) != kek_id:
            raise DataKeyUnavailableError(
                "the store's data keys were rotated to another key-encryption key "
                "(hub privacy rotate-kek) since this process started: start it again with "
                "the new HUB_KEK; no person's key is made with this one, nothing was written"
            )

    def _rows_of(self, subjects: list[str], columns: str, condition: str = "") -> list[Any]:
        """The key rows (``columns``) of those of ``subjects`` that have one and meet
        ``condition``, in one read per 500 subjects."""
        self.create()
        found: list[Any] = []
        with self.datastore.transaction(commit=False) as curs:
            for start in range(0, len(subjects), 500):
                chunk = subjects[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                curs.execute(
                    self._sql(
                        f"SELECT {columns} FROM {{keys}} WHERE subject IN ({marks}) {condition}"
                    ),
                    chunk,
                )
                found.extend(curs.fetchall())
        return found

    def add_within(self, curs: Any, rows: list[tuple[str, bytes, str]]) -> None:
        """Stores new subjects' wrapped keys in the caller's transaction (the one that
        inserts their first events). No ``ON CONFLICT``: a subject given a key by another
        writer meanwhile fails the whole transaction (IntegrityError), as a conflicting
        event does, since the events being inserted were sealed with this key."""
        statement = self._sql(
            "INSERT INTO {keys} (subject, wrapped_key, kek_id, created_at) VALUES (?, ?, ?, ?)"
        )
        created_at = datetime.now(UTC).isoformat()
        for kek_id in {kek_id for _, _, kek_id in rows}:
            self.check_current(curs, kek_id)
        for subject, wrapped, kek_id in rows:
            curs.execute(statement, (subject, wrapped, kek_id, created_at))

    def destroy(self, subject: str) -> bool:
        self.create()
        with self.datastore.transaction(commit=True) as curs:
            if self.dialect.kind == "sqlite":
                # The lock before the read, so its snapshot stays writable (hub.sqlitelock).
                take_write_lock(curs, self._sql("{keys}"))
                # Overwrite freed pages, so the key's bytes do not linger in the file.
                curs.execute("PRAGMA secure_delete = ON")
            curs.execute(
                self._sql(
                    "SELECT wrapped_key FROM {keys} WHERE subject = ? AND wrapped_key IS NOT NULL"
                ),
                (subject,),
            )
            had = curs.fetchone() is not None
            curs.execute(
                self._sql(
                    "INSERT INTO {keys} (subject, wrapped_key, kek_id, created_at, destroyed_at) "
                    "VALUES (?, NULL, ?, ?, ?) ON CONFLICT (subject) DO UPDATE "
                    "SET wrapped_key = NULL, destroyed_at = excluded.destroyed_at"
                ),
                (subject, "-", datetime.now(UTC).isoformat(), datetime.now(UTC).isoformat()),
            )
        if self.dialect.kind == "sqlite":
            self._empty_write_ahead_log(subject)
        return had

    def _empty_write_ahead_log(self, subject: str) -> None:
        """Copies the -wal file into the database and empties it. Until then the row as it
        was (the wrapped key) is still on disk: in the database's page, which only the
        checkpoint overwrites, or in the log. A reader on an older snapshot makes the
        checkpoint wait, up to the busy timeout a try."""
        for _ in range(CHECKPOINT_TRIES):
            with self.datastore.get_connection(commit=True) as connection:
                cursor = connection.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()[0]
            if not busy:
                return
        raise ErasureIncompleteError(
            f"the data key of {subject} is destroyed, but a reader kept the store's "
            "write-ahead log from being emptied, so its old bytes are still in the store's "
            "files; erase again once the readers are done (erasing again is safe)"
        )


def _rewrapped(
    live: list[tuple[str, bytes, str]], previous: KeyWrapper, new: KeyWrapper
) -> tuple[dict[str, bytes], tuple[int, int]]:
    """The keys of ``live`` (subject, wrapped key, kek id) wrapped with ``new``, and how many
    were wrapped again and how many ``new`` wraps already. A key neither unwraps is refused
    (DataKeyUnavailableError): a rotation half done by a wrong previous key would leave the
    store needing two keys."""
    wrapped: dict[str, bytes] = {}
    already = 0
    for subject, key, kek_id in live:
        if kek_id == new.kek_id or (not kek_id and _unwraps(new, key, subject)):
            already += 1
            continue
        try:
            data_key = previous.unwrap(key, subject)
        except DataKeyUnavailableError:
            raise DataKeyUnavailableError(
                f"the data key of {subject} unwraps with neither HUB_KEK_PREVIOUS nor HUB_KEK "
                "(is HUB_KEK_PREVIOUS the key the store was written with?): nothing was "
                "changed"
            ) from None
        wrapped[subject] = new.wrap(data_key, subject)
    return wrapped, (len(wrapped), already)


def _unwraps(wrapper: KeyWrapper, wrapped: bytes, subject: str) -> bool:
    try:
        wrapper.unwrap(wrapped, subject)
    except DataKeyUnavailableError:
        return False
    return True


class DataKeys:
    """The data keys of subjects: made on first use, unwrapped once, forgotten on erasure.

    With a key table in SQL (``defer``), a new subject's key is not written when it is
    made: it waits, seen only by the thread that made it, until that thread's next insert
    of events writes it in the same transaction (``write_unsaved``, called by the
    recorder). Events and the key that seals them commit together or not at all: a failed
    group leaves no key behind, and its key is dropped (``drop_unsaved``) so that a retry
    reads or makes the key the store really holds.
    """

    def __init__(self, table: KeyTable, wrapper: KeyWrapper) -> None:
        self.table = table
        self.wrapper = wrapper
        self.defer = False
        # The unwrapped keys, not their ciphers: a used AESGCM holds ~2.7 KiB of OpenSSL
        # state (11 MiB for ``CACHED_KEYS``), and one costs ~1 µs to make, once an event.
        self._cache: dict[str, bytes | None] = {}
        # Subjects with a live key in the cache, oldest first: at most ``CACHED_KEYS`` are
        # kept, so a process reading a whole log does not hold every subject's key. A
        # destroyed subject's mark (None) is never dropped.
        self._live: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()
        # Whether the store's data keys unwrap with ``wrapper`` (asked before the first key
        # this process makes: a key wrapped with another HUB_KEK would stop every reader).
        self._wrapper_checked = False

    def _keep(self, subject: str, key: bytes | None) -> None:
        """Caches ``key`` for ``subject`` (with the lock held), dropping the oldest live
        keys beyond ``CACHED_KEYS``: they are read and unwrapped again when next needed."""
        self._cache[subject] = key
        if key is None:
            self._live.pop(subject, None)
            return
        self._live[subject] = None
        self._live.move_to_end(subject)
        while len(self._live) > CACHED_KEYS:
            oldest, _ = self._live.popitem(last=False)
            if self._cache.get(oldest) is not None:
                del self._cache[oldest]

    def _unsaved(self) -> dict[str, tuple[bytes, bytes]]:
        """This thread's new keys not yet written: subject → (key, key wrapped)."""
        unsaved: dict[str, tuple[bytes, bytes]] | None = getattr(self._local, "keys", None)
        if unsaved is None:
            unsaved = self._local.keys = {}
        return unsaved

    def for_writing(self, subject: str) -> AESGCM | None:
        """The subject's cipher, its key made now if it has none; None if destroyed."""
        return _cipher(self._key_for_writing(subject))

    def digest_key(self, subject: str, *, making: bool = False) -> bytes | None:
        """A key for the MAC of a command's digest (``hub.application``), derived from the
        subject's data key (made now if ``making`` and it has none): None once that key is
        destroyed, so that what a digest could confirm of the person goes with it."""
        key = self._key_for_writing(subject) if making else self._key_for_reading(subject)
        return None if key is None else hmac.new(key, DIGEST_KEY_INFO, hashlib.sha256).digest()

    def _key_for_writing(self, subject: str) -> bytes | None:
        with self._lock:
            if subject in self._cache:
                return self._cache[subject]
        unsaved = self._unsaved()
        if subject in unsaved:
            return unsaved[subject][0]
        looked_up: dict[str, tuple[bytes | None, bool]] | None = getattr(
            self._local, "looked_up", None
        )
        if looked_up and subject in looked_up:
            wrapped, exists = looked_up.pop(subject)
        else:
            wrapped, exists = self.table.get(subject)
        if not exists:
            self._check_wrapper()
            data_key = AESGCM.generate_key(256)
            wrapped = self.wrapper.wrap(data_key, subject)
            if self.defer:
                unsaved[subject] = (data_key, wrapped)
                return data_key
            self.table.add(subject, wrapped, self.wrapper.kek_id)
            wrapped, exists = self.table.get(subject)
        return self._remember(subject, wrapped)

    def _check_wrapper(self) -> None:
        """Refuses to make a key with a key-encryption key that does not unwrap the store's
        keys (a mistyped ``HUB_KEK``, a development key file lost and made again): the
        person's key would be wrapped with it, and every reader of the log, given the
        store's own key, would stop at that person's events for good. One key is tried, once
        a process (a KMS that unwraps its older keys passes)."""
        if self._wrapper_checked:
            return
        found = self.table.a_live_key()
        if found is not None:
            subject, wrapped = found
            try:
                self.wrapper.unwrap(wrapped, subject)
            except DataKeyUnavailableError:
                raise DataKeyUnavailableError(
                    "this key-encryption key does not unwrap the data keys the store holds "
                    "(is HUB_KEK, or in development without it <var>/keys/kek.dev, the one the "
                    "store was written with?): no person's key is made with it, nothing was "
                    "written"
                ) from None
        self._wrapper_checked = True

    def look_up(self, subjects: Iterable[str]) -> None:
        """Reads the key rows of the subjects about to be written, in one query, for this
        thread's next ``for_writing`` of each (instead of one read a new subject)."""
        if not self.defer or not isinstance(self.table, SQLKeyTable):
            return
        with self._lock:
            wanted = {s for s in subjects if s not in self._cache}
        wanted -= self._unsaved().keys()
        if not wanted:
            return
        found = self.table.get_many(sorted(wanted))
        self._local.looked_up = {
            subject: (found.get(subject), subject in found) for subject in wanted
        }

    def write_unsaved(self, curs: Any) -> None:
        """Writes this thread's new keys with ``curs`` (the transaction of their events)."""
        unsaved = getattr(self._local, "keys", None)
        if unsaved and isinstance(self.table, SQLKeyTable):
            kek_id = self.wrapper.kek_id
            self.table.add_within(
                curs, [(subject, wrapped, kek_id) for subject, (_, wrapped) in unsaved.items()]
            )

    def settle(self, committed: bool) -> None:
        """The insert that wrote this thread's new keys committed, or failed."""
        if committed:
            self.keep_unsaved()
        else:
            self.drop_unsaved()

    def keep_unsaved(self) -> None:
        """This thread's new keys were committed: every thread may use them now."""
        self._local.looked_up = None
        unsaved = getattr(self._local, "keys", None)
        if unsaved:
            with self._lock:
                for subject, (key, _) in unsaved.items():
                    if subject not in self._cache:
                        self._keep(subject, key)
            unsaved.clear()

    def drop_unsaved(self) -> None:
        """The transaction of this thread's new keys failed: they never existed."""
        self._local.looked_up = None
        unsaved = getattr(self._local, "keys", None)
        if unsaved:
            unsaved.clear()

    def read_ahead(self, subjects: Iterable[str]) -> None:
        """Reads and unwraps at once the keys of subjects about to be read that the cache
        lacks (one query per 500, instead of one a subject): a reader of a long log misses
        the cache for most subjects, and on PostgreSQL each miss was a round trip. At most
        ``CACHED_KEYS`` are read, so that none read here is dropped before it is used."""
        if not isinstance(self.table, SQLKeyTable):
            return
        with self._lock:
            wanted = [s for s in dict.fromkeys(subjects) if s not in self._cache]
        if not wanted:
            return
        for subject, wrapped in self.table.get_many(wanted[:CACHED_KEYS]).items():
            # A key that does not unwrap is left to the event's own decode, which stops
            # on it there (``hub.quarantine.stop_on_keys``), as without this read ahead.
            with contextlib.suppress(DataKeyUnavailableError):
                self._remember(subject, wrapped)

    def for_reading(self, subject: str) -> AESGCM | None:
        """The subject's cipher, or None when its key was destroyed."""
        return _cipher(self._key_for_reading(subject))

    def _key_for_reading(self, subject: str) -> bytes | None:
        with self._lock:
            if subject in self._cache:
                return self._cache[subject]
        wrapped, exists = self.table.get(subject)
        if not exists:
            raise DataKeyUnavailableError(
                f"no data key for {subject} in this store's key table (a copy of the events "
                "without their keys?)"
            )
        return self._remember(subject, wrapped)

    def _remember(self, subject: str, wrapped: bytes | None) -> bytes | None:
        key = self.wrapper.unwrap(wrapped, subject) if wrapped is not None else None
        with self._lock:
            if subject in self._cache and self._cache[subject] is None:
                # Destroyed since the row was read (an erasure on another thread): the
                # mark stands, and the key read before it is not kept.
                return None
            self._keep(subject, key)
        return key

    def erased_among(self, subjects: Iterable[str]) -> set[str]:
        """Those of ``subjects`` whose key the store says is destroyed, read now (one query
        a batch), each forgotten here: a key this process kept from before an erasure in
        another process opens nothing more."""
        destroyed = self.table.destroyed_among(list(dict.fromkeys(subjects)))
        for subject in destroyed:
            self.forget(subject)
        return destroyed

    def forget(self, subject: str) -> None:
        """Drops the subject's key from this process (another process destroyed it)."""
        with self._lock:
            self._keep(subject, None)

    def destroy(self, subject: str) -> bool:
        """Destroys the subject's key in the store and here; True if there was one."""
        self.forget(subject)
        return self.table.destroy(subject)

    def is_destroyed(self, subject: str) -> bool:
        wrapped, exists = self.table.get(subject)
        return exists and wrapped is None


def _cipher(key: bytes | None) -> AESGCM | None:
    return AESGCM(key) if key is not None else None


def key_table_of(recorder: Any) -> KeyTable:
    """The key table beside ``recorder``'s events (in memory for an in-memory store)."""
    datastore = getattr(recorder, "datastore", None)
    table_name = getattr(recorder, "events_table_name", None)
    if datastore is None or table_name is None:
        return MemoryKeyTable()
    from eventsourcing.postgres import PostgresDatastore

    if isinstance(datastore, PostgresDatastore):
        dialect = Dialect.postgres(datastore.schema or "public")
    else:
        dialect = Dialect.sqlite()
    return SQLKeyTable(datastore, dialect, table_name)
