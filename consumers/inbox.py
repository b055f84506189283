"""The agency's local inbox: what was referred to it, what it may see, and where each stands.

Every applied record is kept by its ``event_id``; applying an id a second time changes
nothing, so a record redelivered after a crash (offset not yet committed) is harmless.
The inbox is a pure function of the records applied: two consumers fed the same topic end
with the same inbox whatever their stops and restarts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from consumers.config import ConsumerSettings
from consumers.sql import Cursor, Database, PostgresDatabase, SqliteDatabase
from hub.errors import ConfigurationError
from hub.settings import Settings

# The notices after which what the inbox holds of a person goes (docs/STREAMS.md): a case's
# erasure, and that of a discovery never linked to a case.
ERASURES = frozenset({"PersonErased", "DiscoveryErased"})
# And the notice after which some of a person's details go (訂正 by deletion, docs/RIGHTS.md).
CLEARED = "PersonDetailsCleared"
REMOVALS = ERASURES | {CLEARED}
# The records that set a referral's status.
STATUS_EVENTS = frozenset({"ReferralAnswered", "ReferralCancelled"})

_TABLES = (
    # The agency whose records the inbox holds, claimed when it is first opened for one.
    "CREATE TABLE IF NOT EXISTS {owner} (agency_id TEXT PRIMARY KEY)",
    """CREATE TABLE IF NOT EXISTS {events} (
        event_id TEXT PRIMARY KEY,
        event_type TEXT NOT NULL,
        source_topic TEXT NOT NULL,
        source_partition INTEGER NOT NULL,
        source_offset BIGINT NOT NULL,
        case_id TEXT,
        referral_id TEXT,
        occurred_at TEXT NOT NULL,
        basis TEXT NOT NULL,
        basis_ref TEXT,
        withheld TEXT NOT NULL,
        missing_basis TEXT,
        disclosed TEXT NOT NULL,
        details TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS inbox_events_case ON {events} (case_id)",
    """CREATE TABLE IF NOT EXISTS {referrals} (
        referral_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        purpose TEXT,
        urgency TEXT,
        ward TEXT,
        needs TEXT NOT NULL DEFAULT '[]',
        referred_at TEXT,
        basis TEXT,
        basis_ref TEXT,
        missing_basis TEXT,
        status TEXT NOT NULL DEFAULT 'sent',
        status_at TEXT,
        status_reason TEXT,
        escalated INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS {parked} (
        source_topic TEXT NOT NULL,
        source_partition INTEGER NOT NULL,
        source_offset BIGINT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (source_topic, source_partition, source_offset)
    )""",
    # The digest of each record parked (``InRecord.digest``): a retry applies only that
    # record, not another found at its place since. Kept apart from {parked}, which inboxes
    # of earlier releases hold without it (those a retry takes on trust, as before).
    """CREATE TABLE IF NOT EXISTS {parked_digests} (
        source_topic TEXT NOT NULL,
        source_partition INTEGER NOT NULL,
        source_offset BIGINT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (source_topic, source_partition, source_offset)
    )""",
    # The parked records applied since by ``hub agency retry`` (the parked row stays: what
    # was parked, and why, is history, and the dead-letter count is a counter).
    """CREATE TABLE IF NOT EXISTS {retried} (
        source_topic TEXT NOT NULL,
        source_partition INTEGER NOT NULL,
        source_offset BIGINT NOT NULL,
        applied_at TEXT NOT NULL,
        PRIMARY KEY (source_topic, source_partition, source_offset)
    )""",
    # The parked records ``hub agency retry`` found the broker no longer held (retention):
    # never applied, and not to be retried again.
    """CREATE TABLE IF NOT EXISTS {expired} (
        source_topic TEXT NOT NULL,
        source_partition INTEGER NOT NULL,
        source_offset BIGINT NOT NULL,
        noted_at TEXT NOT NULL,
        PRIMARY KEY (source_topic, source_partition, source_offset)
    )""",
    """CREATE TABLE IF NOT EXISTS {replies} (
        reply_id TEXT PRIMARY KEY,
        referral_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        answered_at TEXT NOT NULL
    )""",
    # The trace of each referral as this client consumed it (docs/TRACING.md): its answers
    # continue it. Kept apart from the records' tables, which compare equal across runs.
    """CREATE TABLE IF NOT EXISTS {traces} (
        referral_id TEXT PRIMARY KEY,
        traceparent TEXT NOT NULL
    )""",
)


@dataclass(frozen=True)
class InboxEntry:
    """One decoded, validated record of the agency's referral topic."""

    event_id: str
    event_type: str
    source_topic: str
    source_partition: int
    source_offset: int
    occurred_at: str
    case_id: str | None = None
    # Set when the record is about a referral made to this agency (others' are case context).
    referral_id: str | None = None
    # One or more of consent, support_meeting, vital_interest, statute, none (comma-separated).
    basis: str = "none"
    basis_ref: str | None = None
    withheld: tuple[str, ...] = ()
    missing_basis: str | None = None
    # Personal fields released to the agency, by path (e.g. "person.name").
    disclosed: dict[str, Any] = field(default_factory=dict)
    # The record's other (non-personal) fields: purpose, urgency, ward, answer...
    details: dict[str, Any] = field(default_factory=dict)
    # The consume span's traceparent, when the record came with one (never in the snapshot).
    traceparent: str | None = None


class InboxOwnerError(ConfigurationError):
    """An inbox opened for an agency other than the one whose records it holds."""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _instant(text: object) -> tuple[int, timedelta]:
    """A sort key of a record's time: the instant, whatever zone it was written in (the
    records keep their command's zone, so their text does not sort as time does); a
    missing or unreadable one first. Computed apart from ``datetime``'s own arithmetic, so
    a quarantined year-1 instant sorts instead of overflowing."""
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return (0, timedelta(0))
    offset = value.utcoffset() or timedelta(0)
    return (1, value.replace(tzinfo=None) - datetime.min - offset)


class Inbox:
    def __init__(self, db: Database, agency_id: str | None = None) -> None:
        """The inbox in ``db``; opened for ``agency_id``, it holds that agency's records
        only: one another agency claimed first is refused (a path or a schema setting
        without ``{agency}`` would otherwise mix two agencies' people in one inbox)."""
        self._db = db
        self._t = {name: db.table(f"inbox_{name}") for name in _TABLE_NAMES}
        self._batching = False
        self._open: ExitStack | None = None  # the batch's transaction, once begun
        owners: list[str] = []
        with db.transaction() as cur:
            for statement in _TABLES:
                cur.execute(statement.format(**self._t))
            if agency_id is not None:
                owners = [row[0] for row in cur.query(f"SELECT agency_id FROM {self._t['owner']}")]
                if not owners:
                    claim = f"INSERT INTO {self._t['owner']} (agency_id) VALUES (?)"
                    cur.execute(claim, (agency_id,))
        if owners and owners != [agency_id]:
            db.close()
            raise InboxOwnerError(
                f"this inbox holds the records of {', '.join(owners)}, not {agency_id}: give "
                "each agency its own (HUB_AGENCY_INBOX_PATH or HUB_AGENCY_INBOX_SCHEMA with "
                "{agency} in it)"
            )

    def close(self) -> None:
        self._db.close()

    # Batches ----------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Records applied inside share one transaction, committed when the batch ends: one
        commit (one fsync) for a poll's records instead of one each. Each record stays all
        or nothing within it (a savepoint). An error out of the batch rolls back what it
        applied; the caller commits its offsets only after the batch, so those records come
        again and their event ids decide as before."""
        self._batching = True
        try:
            yield
        except BaseException as error:
            if self._open is not None:
                opened, self._open = self._open, None
                opened.__exit__(type(error), error, error.__traceback__)
            raise
        else:
            self.settle()
        finally:
            self._batching = False

    def settle(self) -> None:
        """Commits what the batch has applied so far."""
        if self._open is not None:
            opened, self._open = self._open, None
            opened.close()

    def _join_batch(self) -> None:
        if self._batching and self._open is None:
            opened = ExitStack()
            opened.enter_context(self._db.transaction())
            self._open = opened

    # Writes -----------------------------------------------------------------------------------

    def apply(self, entry: InboxEntry, *, late: bool = False) -> bool:
        """Apply one record in one transaction (within the batch's, inside ``batch``); False
        if its event id was applied before. An erasure is never held in a batch: what came
        before it is committed, then the erasure alone, then the files are scrubbed, so
        whoever is told of it next (the hub's confirmation) is told the truth.

        ``late``: a parked record applied after the records behind it (``hub agency
        retry``). Of a person erased meanwhile it keeps no personal field, nor a detail a
        later notice emptied, and an answer older than one applied does not turn the
        referral's status back."""
        if entry.event_type in REMOVALS:
            self.settle()
        else:
            self._join_batch()
        with self._db.transaction() as cur:
            if late:
                # The running client may be applying the records after it meanwhile: what
                # it commits (an erasure, a clearing, a later answer) is read below, or waits
                # for this.
                self._db.hold_writers(cur, self._t["events"])
            if late and entry.disclosed:
                entry = replace(entry, disclosed=self._still_held(cur, entry))
            stale = late and self._answered_later(cur, entry)
            inserted = cur.execute(
                f"INSERT INTO {self._t['events']} (event_id, event_type, source_topic, "
                "source_partition, source_offset, case_id, referral_id, occurred_at, basis, "
                "basis_ref, withheld, missing_basis, disclosed, details) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (event_id) DO NOTHING",
                (
                    entry.event_id,
                    entry.event_type,
                    entry.source_topic,
                    entry.source_partition,
                    entry.source_offset,
                    entry.case_id,
                    entry.referral_id,
                    entry.occurred_at,
                    entry.basis,
                    entry.basis_ref,
                    ",".join(entry.withheld),
                    entry.missing_basis,
                    _json(entry.disclosed),
                    _json(entry.details),
                ),
            )
            if inserted == 0:
                return False
            if not stale:
                self._update_referral(cur, entry)
            if entry.event_type == "PersonErased" and entry.case_id is not None:
                self._erase(cur, entry.case_id, entry.details.get("subjects") or [])
            elif entry.event_type == "DiscoveryErased":
                self._erase_discoveries(cur, {str(entry.details.get("discovery_id"))})
            elif entry.event_type == CLEARED and entry.case_id is not None:
                self._clear(cur, entry, entry.details.get("fields") or [])
            if entry.traceparent and entry.referral_id and entry.event_type == "ReferralMade":
                cur.execute(
                    f"INSERT INTO {self._t['traces']} (referral_id, traceparent) VALUES (?, ?) "
                    "ON CONFLICT (referral_id) DO NOTHING",
                    (entry.referral_id, entry.traceparent),
                )
        if entry.event_type in REMOVALS:
            self._db.scrub()
        return True

    def _clear(self, cur: Cursor, notice: InboxEntry, fields: list[str]) -> None:
        """Some of the person's details were emptied at the hub (訂正 by deletion): they go
        from every record of the case this inbox was given before the notice. A record after
        it on the topic (a value recorded anew, applied before a parked notice is retried)
        holds what the hub holds since, and stays."""
        paths = {f"person.{name}" for name in fields}
        for event_id, disclosed in cur.query(
            f"SELECT event_id, disclosed FROM {self._t['events']} WHERE case_id = ? "
            "AND NOT (source_topic = ? AND source_partition = ? AND source_offset > ?)",
            (
                notice.case_id,
                notice.source_topic,
                notice.source_partition,
                notice.source_offset,
            ),
        ):
            held = json.loads(disclosed)
            if paths & set(held):
                kept = {path: value for path, value in held.items() if path not in paths}
                cur.execute(
                    f"UPDATE {self._t['events']} SET disclosed = ? WHERE event_id = ?",
                    (_json(kept), event_id),
                )

    def _erase(self, cur: Cursor, case_id: str, subjects: list[str]) -> None:
        """The hub erased the person (docs/PRIVACY.md): every personal field this inbox was
        given about them goes, as does any reason text; what is not personal stays. The
        discoveries the case was opened from (``subjects``) were records of no case here."""
        cur.execute(
            f"UPDATE {self._t['events']} SET disclosed = '{{}}' WHERE case_id = ?", (case_id,)
        )
        self._erase_discoveries(cur, {str(s) for s in subjects} - {case_id})
        cur.execute(
            f"UPDATE {self._t['referrals']} SET status_reason = NULL WHERE case_id = ?",
            (case_id,),
        )

    def _erase_discoveries(self, cur: Cursor, discoveries: set[str]) -> None:
        """The personal fields of these discoveries (records of no case here) go."""
        if not discoveries:
            return
        for event_id, details in cur.query(
            f"SELECT event_id, details FROM {self._t['events']} "
            "WHERE case_id IS NULL AND event_type = 'DiscoveryReported'"
        ):
            if str(json.loads(details).get("discovery_id")) in discoveries:
                cur.execute(
                    f"UPDATE {self._t['events']} SET disclosed = '{{}}' WHERE event_id = ?",
                    (event_id,),
                )

    def _still_held(self, cur: Cursor, entry: InboxEntry) -> dict[str, Any]:
        """What a late record discloses that the inbox may hold now: nothing of a person
        erased meanwhile, none of the details emptied by a notice after it on the topic."""
        if self._erased(cur, entry):
            return {}
        if entry.case_id is None:
            return entry.disclosed
        cleared: set[str] = set()
        for (details,) in cur.query(
            f"SELECT details FROM {self._t['events']} WHERE case_id = ? AND event_type = ? "
            "AND source_topic = ? AND source_partition = ? AND source_offset > ?",
            (
                entry.case_id,
                CLEARED,
                entry.source_topic,
                entry.source_partition,
                entry.source_offset,
            ),
        ):
            cleared.update(f"person.{name}" for name in json.loads(details).get("fields") or [])
        return {path: value for path, value in entry.disclosed.items() if path not in cleared}

    def _erased(self, cur: Cursor, entry: InboxEntry) -> bool:
        """Whether the inbox applied the erasure of the person ``entry`` is about."""
        if entry.case_id is not None and cur.query(
            f"SELECT 1 FROM {self._t['events']} WHERE case_id = ? "
            "AND event_type = 'PersonErased' LIMIT 1",
            (entry.case_id,),
        ):
            return True
        if entry.event_type == "DiscoveryReported":
            return str(entry.details.get("discovery_id")) in self._erased_discoveries(cur)
        return False

    def _erased_discoveries(self, cur: Cursor) -> set[str]:
        """The discoveries erased on their own (DiscoveryErased) or with the case opened from
        them (a PersonErased's ``subjects``)."""
        erased: set[str] = set()
        for event_type, details in cur.query(
            f"SELECT event_type, details FROM {self._t['events']} "
            "WHERE event_type IN ('DiscoveryErased', 'PersonErased')"
        ):
            d = json.loads(details)
            if event_type == "DiscoveryErased":
                erased.add(str(d.get("discovery_id")))
            else:
                erased.update(str(subject) for subject in d.get("subjects") or [])
        return erased

    def _answered_later(self, cur: Cursor, entry: InboxEntry) -> bool:
        """Whether an answer or cancellation of ``entry``'s referral that the topic holds
        after it was applied already (a late one must not set the status back)."""
        if entry.referral_id is None or entry.event_type not in STATUS_EVENTS:
            return False
        return bool(
            cur.query(
                f"SELECT 1 FROM {self._t['events']} WHERE referral_id = ? "
                "AND event_type IN ('ReferralAnswered', 'ReferralCancelled') "
                "AND source_topic = ? AND source_partition = ? AND source_offset > ? LIMIT 1",
                (
                    entry.referral_id,
                    entry.source_topic,
                    entry.source_partition,
                    entry.source_offset,
                ),
            )
        )

    def _update_referral(self, cur: Cursor, entry: InboxEntry) -> None:
        if entry.referral_id is None or entry.case_id is None:
            return
        t = self._t["referrals"]
        cur.execute(
            f"INSERT INTO {t} (referral_id, case_id) VALUES (?, ?) "
            "ON CONFLICT (referral_id) DO NOTHING",
            (entry.referral_id, entry.case_id),
        )
        d = entry.details
        if entry.event_type == "ReferralMade":
            cur.execute(
                f"UPDATE {t} SET purpose = ?, urgency = ?, ward = ?, needs = ?, referred_at = ?, "
                "basis = ?, basis_ref = ?, missing_basis = ? WHERE referral_id = ?",
                (
                    d.get("purpose"),
                    d.get("urgency"),
                    d.get("ward"),
                    _json(d.get("needs") or []),
                    entry.occurred_at,
                    entry.basis,
                    entry.basis_ref,
                    entry.missing_basis,
                    entry.referral_id,
                ),
            )
        elif entry.event_type == "ReferralAnswered":
            cur.execute(
                f"UPDATE {t} SET status = ?, status_at = ?, status_reason = ? "
                "WHERE referral_id = ?",
                (
                    d.get("answer"),
                    entry.occurred_at,
                    entry.disclosed.get("reason"),
                    entry.referral_id,
                ),
            )
        elif entry.event_type == "ReferralCancelled":
            cur.execute(
                f"UPDATE {t} SET status = 'cancelled', status_at = ?, status_reason = ? "
                "WHERE referral_id = ?",
                (entry.occurred_at, d.get("reason_code"), entry.referral_id),
            )
        elif entry.event_type == "ReferralEscalated":
            cur.execute(f"UPDATE {t} SET escalated = 1 WHERE referral_id = ?", (entry.referral_id,))

    def park(
        self, topic: str, partition: int, offset: int, reason: str, digest: str | None = None
    ) -> bool:
        """Note a record sent to the dead-letter topic, and its ``digest``; False if it was
        parked before."""
        with self._db.transaction() as cur:
            parked = (
                cur.execute(
                    f"INSERT INTO {self._t['parked']} (source_topic, source_partition, "
                    "source_offset, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (topic, partition, offset, reason),
                )
                > 0
            )
            if parked and digest is not None:
                cur.execute(
                    f"INSERT INTO {self._t['parked_digests']} VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (topic, partition, offset, digest),
                )
            return parked

    def parked_digest(self, topic: str, partition: int, offset: int) -> str | None:
        """The digest of the record parked at this place; None if parked by an earlier
        release, which kept none."""
        with self._db.transaction() as cur:
            rows = cur.query(
                f"SELECT digest FROM {self._t['parked_digests']} WHERE source_topic = ? "
                "AND source_partition = ? AND source_offset = ?",
                (topic, partition, offset),
            )
        return str(rows[0][0]) if rows else None

    def mark_retried(self, topic: str, partition: int, offset: int, applied_at: str) -> None:
        """Note a parked record as applied since (``hub agency retry``)."""
        self._note(self._t["retried"], (topic, partition, offset, applied_at))

    def mark_expired(self, topic: str, partition: int, offset: int, noted_at: str) -> None:
        """Note a parked record the broker no longer holds: it can never be applied."""
        self._note(self._t["expired"], (topic, partition, offset, noted_at))

    def _note(self, table: str, row: tuple[str, int, int, str]) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {table} VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                row,
            )

    def still_parked(self) -> list[tuple[str, int, int, str]]:
        """The parked records neither applied since nor lost to retention: (topic,
        partition, offset, reason), in the topic's order."""
        return self._parked(expired=False)

    def expired_parked(self) -> list[tuple[str, int, int, str]]:
        """The parked records the broker dropped before a retry could apply them."""
        return self._parked(expired=True)

    def _parked(self, expired: bool) -> list[tuple[str, int, int, str]]:
        parked, retried, lost = self._t["parked"], self._t["retried"], self._t["expired"]
        same = (
            "WHERE x.source_topic = p.source_topic AND x.source_partition = p.source_partition "
            "AND x.source_offset = p.source_offset"
        )
        with self._db.transaction() as cur:
            rows = cur.query(
                f"SELECT p.source_topic, p.source_partition, p.source_offset, p.reason "
                f"FROM {parked} p WHERE NOT EXISTS (SELECT 1 FROM {retried} x {same}) "
                f"AND {'' if expired else 'NOT '}EXISTS (SELECT 1 FROM {lost} x {same}) "
                "ORDER BY p.source_topic, p.source_partition, p.source_offset"
            )
        return [(str(t), int(p), int(o), str(reason)) for t, p, o, reason in rows]

    def is_parked(self, topic: str, partition: int, offset: int) -> bool:
        with self._db.transaction() as cur:
            rows = cur.query(
                f"SELECT 1 FROM {self._t['parked']} WHERE source_topic = ? "
                "AND source_partition = ? AND source_offset = ?",
                (topic, partition, offset),
            )
        return bool(rows)

    def record_reply(self, reply_id: str, referral_id: str, answer: str, answered_at: str) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {self._t['replies']} (reply_id, referral_id, answer, answered_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (reply_id, referral_id, answer, answered_at),
            )

    # Reads ------------------------------------------------------------------------------------

    def referral(self, referral_id: str) -> dict[str, Any] | None:
        found = self.referrals(referral_id)
        return found[0] if found else None

    def trace_of(self, referral_id: str) -> str | None:
        """The traceparent the referral was consumed in (None: it came without one)."""
        with self._db.transaction() as cur:
            rows = cur.query(
                f"SELECT traceparent FROM {self._t['traces']} WHERE referral_id = ?",
                (referral_id,),
            )
        return str(rows[0][0]) if rows else None

    def referral_ids(self) -> list[str]:
        with self._db.transaction() as cur:
            rows = cur.query(f"SELECT referral_id FROM {self._t['referrals']}")
        return sorted(str(r[0]) for r in rows)

    def referrals(self, referral_id: str | None = None) -> list[dict[str, Any]]:
        """Every referral (or the one named) with its case's disclosures, oldest first."""
        one = "WHERE referral_id = ?" if referral_id is not None else ""
        args: tuple[str, ...] = (referral_id,) if referral_id is not None else ()
        with self._db.transaction() as cur:
            rows = cur.query(
                "SELECT referral_id, case_id, purpose, urgency, ward, needs, referred_at, basis, "
                "basis_ref, missing_basis, status, status_at, status_reason, escalated "
                f"FROM {self._t['referrals']} {one} ORDER BY referred_at, referral_id",
                args,
            )
            rows = sorted(rows, key=lambda r: (_instant(r[6]), r[0]))
            of_case = (
                f"AND case_id IN (SELECT case_id FROM {self._t['referrals']} {one})"
                if referral_id is not None
                else ""
            )
            events = cur.query(
                "SELECT case_id, event_type, occurred_at, basis, basis_ref, withheld, "
                f"missing_basis, disclosed, event_id FROM {self._t['events']} "
                f"WHERE case_id IS NOT NULL {of_case} ORDER BY occurred_at, event_id",
                args,
            )
            events = sorted(events, key=lambda r: (_instant(r[2]), r[8]))
            replies = cur.query(
                f"SELECT referral_id, answer, answered_at, reply_id FROM {self._t['replies']} "
                f"{one} ORDER BY answered_at, reply_id",
                args,
            )
            replies = sorted(replies, key=lambda r: (_instant(r[2]), r[3]))
        by_case: dict[str, list[dict[str, Any]]] = {}
        for case_id, event_type, occurred_at, basis, ref, withheld, missing, disclosed, _ in events:
            by_case.setdefault(case_id, []).append(
                {
                    "event_type": event_type,
                    "occurred_at": occurred_at,
                    "basis": basis,
                    "basis_ref": ref,
                    "withheld": [w for w in withheld.split(",") if w],
                    "missing_basis": missing,
                    "disclosed": json.loads(disclosed),
                }
            )
        sent: dict[str, list[dict[str, Any]]] = {}
        for referral_id, answer, answered_at, _ in replies:
            sent.setdefault(referral_id, []).append({"answer": answer, "answered_at": answered_at})
        keys = [
            "referral_id",
            "case_id",
            "purpose",
            "urgency",
            "ward",
            "needs",
            "referred_at",
            "basis",
            "basis_ref",
            "missing_basis",
            "status",
            "status_at",
            "status_reason",
            "escalated",
        ]
        result = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["needs"] = json.loads(item["needs"])
            item["escalated"] = bool(item["escalated"])
            item["disclosures"] = by_case.get(item["case_id"], [])
            item["replies_sent"] = sent.get(item["referral_id"], [])
            result.append(item)
        return result

    def escalations(self, coordinator: str) -> list[dict[str, Any]]:
        """Referrals escalated to ``coordinator`` (this inbox's agency, when it is a ward's
        coordinator): which referral, to which agency, how late, when."""
        with self._db.transaction() as cur:
            rows = cur.query(
                f"SELECT case_id, occurred_at, details, event_id FROM {self._t['events']} "
                "WHERE event_type = 'ReferralEscalated' ORDER BY occurred_at, event_id"
            )
        result = []
        for case_id, occurred_at, details, _ in sorted(rows, key=lambda r: (_instant(r[1]), r[3])):
            d = json.loads(details)
            if d.get("coordinator") != coordinator:
                continue
            result.append(
                {
                    "case_id": case_id,
                    "referral_id": d.get("referral_id"),
                    "agency_id": d.get("agency_id"),
                    "overdue_minutes": d.get("overdue_minutes"),
                    "escalated_at": occurred_at,
                }
            )
        return result

    def discoveries(self) -> list[dict[str, Any]]:
        """The discoveries of the ward this inbox was told of (a ward coordinator's notices),
        oldest first: when, by which kind of reporter, the signs, how urgent; never the
        person (a notice carries none). One erased since, on its own (DiscoveryErased) or
        with the case opened from it (PersonErased), is marked so."""
        with self._db.transaction() as cur:
            rows = cur.query(
                f"SELECT event_type, occurred_at, details, event_id FROM {self._t['events']} "
                "WHERE event_type IN ('DiscoveryReported', 'DiscoveryErased', 'PersonErased') "
                "ORDER BY occurred_at, event_id"
            )
            rows = sorted(rows, key=lambda r: (_instant(r[1]), r[3]))
            erased = self._erased_discoveries(cur)
        result = []
        for event_type, occurred_at, details, _ in rows:
            if event_type != "DiscoveryReported":
                continue
            d = json.loads(details)
            result.append(
                {
                    "discovery_id": d.get("discovery_id"),
                    "reported_at": occurred_at,
                    "ward": d.get("ward"),
                    "urgency": d.get("urgency"),
                    "signs": d.get("signs") or [],
                    "reporter_kind": d.get("reporter_kind"),
                    "channel": d.get("channel"),
                    "erased": d.get("discovery_id") in erased,
                }
            )
        return result

    def parked_count(self) -> int:
        with self._db.transaction() as cur:
            return int(cur.query(f"SELECT COUNT(*) FROM {self._t['parked']}")[0][0])

    def resume_offsets(self) -> dict[tuple[str, int], int]:
        """Per topic and partition, the offset after the last record this inbox applied or
        parked: where its reading goes on (records are applied in offset order, each poll's
        in one transaction, and no row is ever deleted, so none before it is missing)."""
        events, parked = self._t["events"], self._t["parked"]
        with self._db.transaction() as cur:
            rows = cur.query(
                "SELECT source_topic, source_partition, MAX(source_offset) FROM ("
                f"SELECT source_topic, source_partition, source_offset FROM {events} "
                f"UNION ALL SELECT source_topic, source_partition, source_offset FROM {parked}"
                ") AS held GROUP BY source_topic, source_partition"
            )
        return {(str(topic), int(partition)): int(last) + 1 for topic, partition, last in rows}

    def applied_count(self) -> int:
        with self._db.transaction() as cur:
            return int(cur.query(f"SELECT COUNT(*) FROM {self._t['events']}")[0][0])

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the records' tables, in a stable order (to compare two inboxes)."""
        with self._db.transaction() as cur:
            return {
                "events": cur.query(f"SELECT * FROM {self._t['events']} ORDER BY event_id"),
                "referrals": cur.query(
                    f"SELECT * FROM {self._t['referrals']} ORDER BY referral_id"
                ),
                "parked": cur.query(
                    f"SELECT * FROM {self._t['parked']} "
                    "ORDER BY source_topic, source_partition, source_offset"
                ),
            }


_TABLE_NAMES = (
    "events",
    "referrals",
    "parked",
    "parked_digests",
    "retried",
    "expired",
    "replies",
    "traces",
    "owner",
)


def _safe(agency_id: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", agency_id.lower())


def inbox_path(settings: Settings, consumer_settings: ConsumerSettings, agency_id: str) -> Path:
    """The agency's SQLite file; ``{agency}`` in ``HUB_AGENCY_INBOX_PATH`` is the agency id."""
    configured = consumer_settings.agency_inbox_path
    if configured is None:
        return settings.var_dir / "agency" / f"{agency_id}.sqlite"
    return Path(str(configured).replace("{agency}", agency_id))


def inbox_schema(consumer_settings: ConsumerSettings, agency_id: str) -> str:
    """The agency's PostgreSQL schema; ``{agency}`` in the setting is the agency id."""
    configured = consumer_settings.agency_inbox_schema or "inbox_{agency}"
    return configured.replace("{agency}", _safe(agency_id))


def open_inbox(agency_id: str, settings: Settings, consumer_settings: ConsumerSettings) -> Inbox:
    """The agency's inbox on the store the settings name (one file or schema per agency)."""
    if consumer_settings.agency_inbox_store == "postgres":
        schema = inbox_schema(consumer_settings, agency_id)
        return Inbox(PostgresDatabase(settings, schema), agency_id)
    if consumer_settings.agency_inbox_path is None:
        settings.private_var_dir("agency")
    path = inbox_path(settings, consumer_settings, agency_id)
    settings.check_folder_of(path, "the agency's inbox", "HUB_AGENCY_INBOX_PATH")
    return Inbox(SqliteDatabase(path), agency_id)
