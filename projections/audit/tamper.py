"""Checks the log of record against its hash chain and names the first broken link.

Two checks, one pass in notification order:
- the chain holds together: every link's hash covers the previous link's hash and its own
  fields (a link edited, removed or added in the chain table breaks this);
- every stored event matches its link, and every link has its event:
  ``edited`` (same place, different content), ``deleted`` (a link without its event),
  ``inserted`` (an event without a link), ``reordered`` (the content of another link).

A third check: every event up to the case index's head is indexed under each case whose
replay must read it (``hub.caseindex``); a row found missing is ``unindexed`` (one case's
replay would pass over that event; ``hub audit index --again`` puts it back).

What it cannot see alone: the events table and the chain table rewritten together from some
point on, or both cut short. Heads kept outside the database catch that: the one the relay
witnessed on ``audit.consent`` after its last batch (``witness``: a log now shorter than it
is ``truncated``, a different link at its position ``rewritten``), and any head an auditor
wrote down (``hub audit report`` prints it) and passes back as ``anchor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from eventsourcing.persistence import Notification

from hub.caseindex import references
from hub.chain import GENESIS, ChainReader, Link, canonical_id, link_hash, state_digest

Kind = Literal[
    "edited",
    "deleted",
    "inserted",
    "reordered",
    "chain_broken",
    "anchor_mismatch",
    "truncated",
    "rewritten",
    "unindexed",
]
PAGE = 500


@dataclass(frozen=True)
class Finding:
    kind: Kind
    notification_id: int
    detail: str

    def line(self) -> str:
        return f"notification {self.notification_id}: {self.kind}: {self.detail}"


@dataclass
class LogVerdict:
    events: int = 0
    links: int = 0
    head: Link | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.notification_id) if self.findings else None


@dataclass(frozen=True)
class Anchor:
    """A head an auditor wrote down earlier: ``<notification id>:<chain hash>``."""

    notification_id: int
    chain_hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        number, _, digest = text.partition(":")
        if not number.isdigit() or len(digest) != 64:
            raise ValueError(f"an anchor is <notification id>:<64 hex digits>, not {text!r}")
        return cls(int(number), digest.lower())


def verify_log(
    reader: ChainReader, anchor: Anchor | None = None, witness: Anchor | None = None
) -> LogVerdict:
    verdict = LogVerdict()
    witnessed = witness
    prev = GENESIS
    last = max(reader.max_notification_id() or 0, _chain_end(reader))
    indexed = reader.indexed_upto()
    start = 1
    while start <= last:
        stop = start + PAGE - 1
        events = {n.id: n for n in reader.select_stored(start, stop, PAGE)}
        links = {link.notification_id: link for link in reader.select_links(start, stop)}
        refs = reader.select_refs(start, min(stop, indexed)) if start <= indexed else {}
        for nid in sorted(events.keys() | links.keys()):
            link = links.get(nid)
            event = events.get(nid)
            if link is not None:
                verdict.links += 1
                expected = link_hash(
                    prev,
                    link.notification_id,
                    link.originator_id,
                    link.originator_version,
                    link.topic,
                    link.state_sha256,
                )
                if expected != link.chain_hash:
                    verdict.findings.append(
                        Finding(
                            "chain_broken", nid, "the link's hash does not cover the one before"
                        )
                    )
                prev = link.chain_hash
                verdict.head = link
                if anchor is not None and nid == anchor.notification_id:
                    if link.chain_hash != anchor.chain_hash:
                        verdict.findings.append(
                            Finding("anchor_mismatch", nid, "the chain differs from the anchor")
                        )
                    anchor = None
                if witnessed is not None and nid == witnessed.notification_id:
                    if link.chain_hash != witnessed.chain_hash:
                        verdict.findings.append(
                            Finding(
                                "rewritten",
                                nid,
                                "the chain differs from the head witnessed on audit.consent: "
                                "the log was rewritten at or before this position",
                            )
                        )
                    witnessed = None
            if event is not None:
                verdict.events += 1
            finding = _compare(reader, nid, event, link)
            if finding is None and event is not None and nid <= indexed:
                finding = _unindexed(event, refs.get(nid, set()))  # an event as chained
            if finding is not None:
                verdict.findings.append(finding)
        start = stop + 1 if events or links else _next_id(reader, stop, last)
    if anchor is not None:
        verdict.findings.append(
            Finding("anchor_mismatch", anchor.notification_id, "the anchored link is gone")
        )
    if witness is not None:
        verdict.findings += _witness_findings(reader, witness, witnessed is not None)
    return verdict


def _witness_findings(reader: ChainReader, witness: Anchor, unmatched: bool) -> list[Finding]:
    """A log that ends before the witnessed head was cut; a gap at it, rewritten."""
    end = reader.max_notification_id() or 0
    if end < witness.notification_id:
        return [
            Finding(
                "truncated",
                end + 1,
                f"the log ends at {end}, but the relay witnessed it reach "
                f"{witness.notification_id} on audit.consent: events were cut from its end",
            )
        ]
    if unmatched:
        return [
            Finding(
                "rewritten",
                witness.notification_id,
                "the link witnessed on audit.consent at this position is gone",
            )
        ]
    return []


def witness_finding(reader: ChainReader, witness: Anchor) -> Finding | None:
    """The store against the relay's witnessed head alone, without walking the log (a
    relay's start): cut before it (``truncated``), or another link there (``rewritten``)."""
    cut = _witness_findings(reader, witness, unmatched=False)
    if cut:
        return cut[0]
    at = witness.notification_id
    links = reader.select_links(at, at)
    if links and links[0].chain_hash == witness.chain_hash:
        return None
    return Finding(
        "rewritten",
        at,
        "the chain differs from the head witnessed on audit.consent at this position",
    )


def _unindexed(event: Notification, indexed_under: set[str]) -> Finding | None:
    """The finding for an event up to the index's head that lacks a row of the case index."""
    missing = references(event.originator_id, bytes(event.state)) - indexed_under
    if not missing:
        return None
    return Finding(
        "unindexed",
        event.id,
        f"{str(event.topic).rsplit('.', 1)[-1]} {canonical_id(event.originator_id)} "
        f"v{event.originator_version} is not in the case index under "
        f"{', '.join(sorted(missing))}: one case's replay would pass over it",
    )


def _next_id(reader: ChainReader, after: int, last: int) -> int:
    """Skips a gap in the ids (rows deleted, or one inserted far ahead) in one step."""
    event = reader.select_stored(after + 1, last, 1)
    links = reader.select_links(after + 1, last, limit=1)
    found = [n.id for n in event] + [link.notification_id for link in links]
    return min(found) if found else last + 1


def _chain_end(reader: ChainReader) -> int:
    head = reader.chain_head()
    return head.notification_id if head else 0


def _compare(
    reader: ChainReader, nid: int, event: Notification | None, link: Link | None
) -> Finding | None:
    if event is None:
        assert link is not None
        return Finding("deleted", nid, f"{_name(link)} is in the chain but not in the log")
    originator_id = canonical_id(event.originator_id)
    version = int(event.originator_version)
    topic = str(event.topic)
    state_sha = state_digest(event.state)
    if link is None:
        return Finding("inserted", nid, f"{originator_id} v{version} has no link in the chain")
    if (link.originator_id, link.originator_version, link.topic, link.state_sha256) == (
        originator_id,
        version,
        topic,
        state_sha,
    ):
        return None
    elsewhere = [
        other
        for other in reader.find_links(state_sha, originator_id, version)
        if other.notification_id != nid and other.state_sha256 == state_sha
    ]
    if elsewhere:
        return Finding(
            "reordered",
            nid,
            f"holds the event chained at notification {elsewhere[0].notification_id} "
            f"({_name(elsewhere[0])}) instead of {_name(link)}",
        )
    return Finding("edited", nid, f"{_name(link)} differs from what was chained")


def _name(link: Link) -> str:
    return f"{link.topic.rsplit('.', 1)[-1]} {link.originator_id} v{link.originator_version}"
