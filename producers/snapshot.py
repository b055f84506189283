"""The relay's governance state, stored with its position so a restart need not fold the log.

``GovernanceState`` is a pure fold of the log (producers/governance.py). The relay stores it
in the same transaction as its position: a header (the position the state is at, and the
network as of it) and one row per case, of which each batch writes only the cases its events
changed. A restarted relay reads the header and loads a case's row the first time an event of
the case needs it, so a restart costs the same on a log of a million events as on one of a
thousand. The state is used only when it is exactly what the fold would give:
- ``code`` is a digest of the code that decides the fold (governance, the events and their
  decoding, the network's fold) and of the Python and pydantic that pickled it: a state
  written by other code is stale, and the relay folds the whole log instead (and then
  rewrites every row);
- each header and row carries an HMAC (the relay's pseudonym key) over the code, what the row
  is, and its bytes: one changed or cut short in the store is refused the same way. It also
  keeps ``pickle`` from loading anything the relay did not write itself (unpickling runs
  code).
The bytes are encrypted (AES-GCM, a key derived from the pseudonym key): a case's state holds
the person's details as the log last recorded them, and nothing personal is stored in clear
(issue 19: the log's personal fields are sealed at rest).
Whatever is wrong with the stored state, the relay folds the log, never guesses.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import os
import pickle
import platform
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID

import pydantic
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.reference.directory import Directory
from hub.sources import source_digest
from producers.governance import CaseGovernance, GovernanceState

ROOT = Path(__file__).resolve().parents[1]
# What decides the state a fold gives (its classes, the events, their decoding, the network).
FOLD_SOURCES = (
    "producers/governance.py",
    "producers/fields.py",
    "producers/snapshot.py",
    "hub/**/*.py",
    "hub/reference/*.json",
)
NETWORK = "network"


class StoredStateRefused(Exception):
    """A stored case row is not what the relay wrote: fold the log instead."""


@cache
def code_digest() -> str:
    """A short digest of the code whose fold the stored state holds."""
    versions = f"python {platform.python_version()} pydantic {pydantic.VERSION}"
    return source_digest(ROOT, FOLD_SOURCES, salt=versions)[:16]


@dataclass(frozen=True)
class Header:
    """The stored state's position, the code that wrote it, and the network as of it."""

    position: int
    code: str
    mac: str
    network: bytes


@dataclass(frozen=True)
class CaseRow:
    case_id: str
    mac: str
    state: bytes


@dataclass(frozen=True)
class StateWrite:
    """What one store of the position writes of the state: the header and the changed cases
    (every case, the others deleted, when ``replace_all``), and the digest of each case row
    written (``write``'s ``unchanged`` for the next store, once this one has committed)."""

    header: Header
    cases: tuple[CaseRow, ...]
    replace_all: bool = False
    digests: dict[UUID, bytes] = field(default_factory=dict)


# One per key (a relay has one; tests make many): deriving them for every row was ~6 µs a row.
@lru_cache(maxsize=8)
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(hmac.new(key, b"relay-state-encryption", hashlib.sha256).digest())


def _seal(key: bytes, plain: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _cipher(key).encrypt(nonce, plain, None)


def _unseal(key: bytes, sealed: bytes) -> bytes:
    return _cipher(key).decrypt(sealed[:12], sealed[12:], None)


@lru_cache(maxsize=8)
def _signer(key: bytes) -> Any:
    return hmac.new(key, b"relay-state\0", hashlib.sha256)


def _mac(key: bytes, code: str, what: str, blob: bytes) -> str:
    signed = _signer(key).copy()  # the key's own setup done once
    signed.update(f"{code}\0{what}\0".encode())
    signed.update(blob)
    return signed.hexdigest()


@contextmanager
def _no_gc() -> Iterator[None]:
    # (Un)pickling thousands of small objects triggers the cyclic GC over and over: 3× slower.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class NetworkSeal:
    """The network's sealed bytes, made again only when the directory changed: pickling the
    network (25 kB) for every batch took 0.58 ms, about 8 % of the relay's CPU at 200
    commands/s, and the network seldom changes."""

    def __init__(self) -> None:
        self._of: Directory | None = None
        self._revision = -1
        self._sealed = b""

    def seal(self, key: bytes, directory: Directory) -> bytes:
        if directory is not self._of or directory.revision != self._revision:
            self._sealed = _seal(key, pickle.dumps(directory, protocol=pickle.HIGHEST_PROTOCOL))
            self._of, self._revision = directory, directory.revision
        return self._sealed


def write(
    state: GovernanceState,
    key: bytes,
    changed: Iterable[UUID],
    *,
    replace_all: bool = False,
    network_seal: NetworkSeal | None = None,
    unchanged: dict[UUID, bytes] | None = None,
) -> StateWrite:
    """The rows that store ``state`` at its position: the header and the ``changed`` cases
    (all of them when ``replace_all``), but for those whose stored row holds them as they are
    (``unchanged``: the ``digests`` of the writes last stored); the network sealed by
    ``network_seal`` when given (one a relay keeps, with the same ``key``). Everything is
    sealed here, before the ledger's transaction takes the store's write lock."""
    code = code_digest()
    ids = list(state.cases) if replace_all else [c for c in changed if c in state.cases]
    stored = {} if replace_all else (unchanged or {})
    digests: dict[UUID, bytes] = {}
    blobs: list[tuple[str, bytes]] = []
    with _no_gc():
        network = (network_seal or NetworkSeal()).seal(key, state.network)
        for case_id in ids:
            plain = pickle.dumps(state.cases[case_id], protocol=pickle.HIGHEST_PROTOCOL)
            digest = hashlib.blake2b(plain, digest_size=16).digest()
            if stored.get(case_id) == digest:
                continue  # the case's events changed nothing governance holds
            digests[case_id] = digest
            blobs.append((str(case_id), _seal(key, plain)))
    header = Header(
        state.position, code, _mac(key, code, f"{NETWORK}@{state.position}", network), network
    )
    rows = tuple(CaseRow(c, _mac(key, code, c, blob), blob) for c, blob in blobs)
    return StateWrite(header, rows, replace_all, digests)


Load = Callable[[UUID], CaseGovernance | None]
LoadMany = Callable[[list[UUID]], dict[UUID, CaseGovernance]]
RowReader = Callable[[str], CaseRow | None]
RowsReader = Callable[[list[str]], list[CaseRow]]


class LazyCases(dict[UUID, CaseGovernance]):
    """The cases of a stored state, each loaded from its row the first time it is asked for
    (or, with ``prefetch``, with the others a batch will ask for, in one read)."""

    def __init__(self, load: Load, load_many: LoadMany | None = None) -> None:
        super().__init__()
        self._load = load
        self._load_many = load_many
        self._absent: set[UUID] = set()

    def prefetch(self, case_ids: Iterable[UUID]) -> int:
        """Loads, in one read of the store, those of ``case_ids`` that are neither held nor
        known to have no row: what asking for each would load, read ahead (a read per case
        was a third of a relay's time on a log of many people); how many were found."""
        wanted = []
        for case_id in dict.fromkeys(case_ids):
            if dict.__contains__(self, case_id):
                # Held: now the most recently asked for, the last that ``forget`` drops.
                dict.__setitem__(self, case_id, dict.pop(self, case_id))
            elif case_id not in self._absent:
                wanted.append(case_id)
        if not wanted or self._load_many is None:
            return 0
        found = self._load_many(wanted)
        for case_id in wanted:
            case = found.get(case_id)
            if case is None:
                self._absent.add(case_id)
            else:
                dict.__setitem__(self, case_id, case)
        return len(found)

    def _fetch(self, case_id: UUID) -> None:
        if dict.__contains__(self, case_id) or case_id in self._absent:
            return
        found = self._load(case_id)
        if found is None:
            self._absent.add(case_id)
        else:
            dict.__setitem__(self, case_id, found)

    def __contains__(self, case_id: object) -> bool:
        if isinstance(case_id, UUID):
            self._fetch(case_id)
        return dict.__contains__(self, case_id)

    def __getitem__(self, case_id: UUID) -> CaseGovernance:
        self._fetch(case_id)
        return dict.__getitem__(self, case_id)

    def get(self, case_id: UUID, default: Any = None) -> Any:  # type: ignore[override]
        self._fetch(case_id)
        return dict.get(self, case_id, default)

    def setdefault(self, case_id: UUID, default: Any = None) -> Any:  # type: ignore[override]
        self._fetch(case_id)
        self._absent.discard(case_id)
        return dict.setdefault(self, case_id, default)

    def forget(self, keep: int) -> int:
        """Forgets the cases held longest beyond the ``keep`` last (call it only when every
        case held is stored as it is: each is read again from its row when asked for); how
        many were forgotten."""
        self._absent.clear()  # ids asked for and not stored: not to grow with the log
        excess = dict.__len__(self) - keep
        if excess <= 0:
            return 0
        for case_id in list(islice(dict.__iter__(self), excess)):
            dict.__delitem__(self, case_id)
        return excess


def restore(
    header: Header | None,
    key: bytes,
    stored: int,
    load_row: RowReader,
    load_rows: RowsReader | None = None,
) -> tuple[GovernanceState | None, str]:
    """The stored state if its header can be trusted at or before the stored position
    ``stored`` (cases loaded lazily, each checked as it is), else None; and why."""
    if header is None:
        return None, "none"
    if header.code != code_digest():
        return None, "stale"
    if header.position > stored:
        return None, "ahead"
    expected = _mac(key, header.code, f"{NETWORK}@{header.position}", header.network)
    if not hmac.compare_digest(expected, header.mac):
        return None, "corrupt"
    try:
        with _no_gc():
            network = pickle.loads(_unseal(key, header.network))  # ours: the HMAC says so
    except Exception:
        return None, "corrupt"
    if not isinstance(network, Directory):
        return None, "corrupt"
    state = GovernanceState(position=header.position)
    state.network = network
    state.cases = _lazy_cases(key, header.code, load_row, load_rows)
    return state, "used"


def lazy(
    cases: dict[UUID, CaseGovernance],
    key: bytes,
    load_row: RowReader,
    load_rows: RowsReader | None = None,
) -> LazyCases:
    """``cases`` (every one of them stored as it is, by this code) as cases that can be
    forgotten and read again from their rows."""
    if isinstance(cases, LazyCases):
        return cases
    found = _lazy_cases(key, code_digest(), load_row, load_rows)
    dict.update(found, cases)
    return found


def _lazy_cases(
    key: bytes, code: str, load_row: RowReader, load_rows: RowsReader | None
) -> LazyCases:
    def load(case_id: UUID) -> CaseGovernance | None:
        row = load_row(str(case_id))
        return None if row is None else _case_of(key, code, case_id, row)

    if load_rows is None:
        return LazyCases(load)
    read_rows = load_rows

    def load_many(case_ids: list[UUID]) -> dict[UUID, CaseGovernance]:
        rows = {row.case_id: row for row in read_rows([str(c) for c in case_ids])}
        return {c: _case_of(key, code, c, rows[str(c)]) for c in case_ids if str(c) in rows}

    return LazyCases(load, load_many)


def _case_of(key: bytes, code: str, case_id: UUID, row: CaseRow) -> CaseGovernance:
    # Signed under the id asked for: another case's row moved here is refused too.
    if not hmac.compare_digest(_mac(key, code, str(case_id), row.state), row.mac):
        raise StoredStateRefused(f"the stored state of case {case_id} is not the relay's")
    try:
        with _no_gc():
            case = pickle.loads(_unseal(key, row.state))  # ours: the HMAC says so
    except Exception as error:
        raise StoredStateRefused(f"the stored state of case {case_id} is unreadable") from error
    if not isinstance(case, CaseGovernance):
        raise StoredStateRefused(f"the stored state of case {case_id} is not a case")
    return case
