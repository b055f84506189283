"""Proves, or refutes, each disclosure against the history of the log.

Written from the auditor's side, apart from the relay's governance: the rules of
DOMAIN.md checked again, so a mistake in one is caught by the other. A disclosure made
while relaying the event at position P, whose business time is T, is valid when the facts
recorded up to P give it a basis at T:

- consent: the consent named is the case's, given by P and not withdrawn by P (a
  withdrawal stops every later disclosure at once), no 利用停止 request of the case was
  recorded after the consent and by P (it stops every consent given before it), valid at
  T, its scope covers the agency (or a group of it), it names every disclosed category,
  and one of its purposes is a purpose the agency holds the case for (a referral to it
  not declined, completed nor cancelled by P, or emergency response while a declaration
  naming it is in force: not ended by P, not expired at T);
- support_meeting: a つながりづくり会議 (kind ``connection``) that took up the case by P lists
  the agency as a member, the case did not move to the 重層的支援会議 after it took the
  case up and by P (from the move on consent governs), and the record says the
  confidentiality duty applies;
- vital_interest: the case's emergency declaration names the agency and every category,
  was not ended by P, had not expired at T; a sensitive category only when the declaration
  names it as break-glass (each such disclosure is on the review list, ``breakglass.py``);
- statute: a referral of the case to the agency names that statute and was neither
  declined, completed nor cancelled by P, and no category is sensitive.

Every field a disclosure names must be a personal field of the schemas, and its data
category (the schemas' ``personal`` mark) one the record names: the rules above judge
the categories, so a record must not hide a field's category (``person.health`` listed
under ``identity``).

Besides, the disclosure must describe a real event: its position, event id, case and
instant must be those of the log, the agency must have been in the network (as the
network events of the history record it) at that position, and the case's person must not
have been erased (PersonErased) before it: nothing personal of them is left to disclose. Nor
may a field of the person be one emptied before it (PersonDetailsCleared, 訂正 by deletion)
and not recorded again since.

From ``audit.consent`` alone (an auditor without the log) the history is incomplete: the
topic has no referrals and no other events, so the purpose of a consent, the event behind
each disclosure and statutory referrals cannot be checked. Those disclosures are counted
as ``unchecked``, never as proven.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hub import codec
from hub.avro_schemas import personal_paths
from hub.vocabulary import SENSITIVE_CATEGORIES
from projections.audit.history import History

# The instant of a record whose own is no instant with a zone (it is refuted for that).
UNKNOWN_INSTANT = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Disclosure:
    """One record of ``schemas/messages/Disclosure.avsc``. A record (an edited ledger row, a
    forged topic record) whose values are not of their types is kept with ``malformed``
    saying which, so that verify refutes it instead of failing on it."""

    disclosure_id: str
    event_id: str
    position: int
    case_id: str
    agency_id: str
    fields: tuple[str, ...]
    categories: tuple[str, ...]
    basis: str
    basis_ref: str | None
    confidentiality_duty: bool
    occurred_at: datetime
    malformed: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Disclosure:
        malformed = []
        occurred = _instant(record["occurred_at"])
        if occurred is None:
            malformed.append("occurred_at is not an ISO 8601 instant with a time zone")
        position = record["position"]
        if not isinstance(position, int) or isinstance(position, bool):
            malformed.append("position is not an integer")
            position = 0
        lists = {}
        for name in ("fields", "categories"):
            value = record[name]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                malformed.append(f"{name} is not a list of texts")
                value = ()
            lists[name] = tuple(value)
        return cls(
            disclosure_id=str(record["disclosure_id"]),
            event_id=str(record["event_id"]),
            position=position,
            case_id=str(record["case_id"]),
            agency_id=str(record["agency_id"]),
            fields=lists["fields"],
            categories=lists["categories"],
            basis=str(record["basis"]),
            basis_ref=None if record.get("basis_ref") is None else str(record["basis_ref"]),
            confidentiality_duty=bool(record["confidentiality_duty"]),
            occurred_at=occurred or UNKNOWN_INSTANT,
            malformed=tuple(malformed),
        )

    def view(self) -> dict[str, Any]:
        return {
            "disclosure_id": self.disclosure_id,
            "position": self.position,
            "occurred_at": self.occurred_at.isoformat(),
            "case_id": self.case_id,
            "agency_id": self.agency_id,
            "basis": self.basis,
            "basis_ref": self.basis_ref,
            "categories": list(self.categories),
            "fields": list(self.fields),
            "confidentiality_duty": self.confidentiality_duty,
            "event_id": self.event_id,
        }


@dataclass(frozen=True)
class Refuted:
    disclosure: Disclosure
    reasons: tuple[str, ...]

    def line(self) -> str:
        d = self.disclosure
        return (
            f"disclosure {d.disclosure_id} (position {d.position}, case {d.case_id}, "
            f"to {d.agency_id}, basis {d.basis} {d.basis_ref or '-'}): {'; '.join(self.reasons)}"
        )


@dataclass
class Verdict:
    checked: int = 0
    by_basis: Counter[str] = field(default_factory=Counter)
    refuted: list[Refuted] = field(default_factory=list)
    unchecked: list[Refuted] = field(default_factory=list)  # what the history could not show

    @property
    def valid(self) -> bool:
        return not self.refuted


def verify(history: History, disclosures: list[Disclosure]) -> Verdict:
    verdict = Verdict()
    for disclosure in disclosures:
        verdict.checked += 1
        verdict.by_basis[disclosure.basis] += 1
        reasons = check(history, disclosure)
        if reasons:
            verdict.refuted.append(Refuted(disclosure, tuple(reasons)))
        elif not history.complete:
            missing = _not_on_the_topic(history, disclosure)
            if missing:
                verdict.unchecked.append(Refuted(disclosure, missing))
    return verdict


def _not_on_the_topic(history: History, d: Disclosure) -> tuple[str, ...]:
    """What ``audit.consent`` alone could not show of ``d`` (empty: all of it)."""
    missing = []
    if d.position not in history.events:
        # Its instant is the record's own: an expiry or a validity judged by it proves nothing.
        missing.append(
            f"its event (position {d.position}) is not on audit.consent: the event id, case "
            "and instant are the record's own"
        )
    if d.basis in _NEEDS_LOG:
        missing.append(_NEEDS_LOG[d.basis])
    return tuple(missing)


def _instant(value: Any) -> datetime | None:
    """``value`` as an aware instant, or None when it is not one."""
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return value if value.utcoffset() is not None else None


def check(history: History, d: Disclosure) -> list[str]:
    """Why ``d`` had no valid basis (empty when it had one)."""
    if d.malformed:  # nothing in it can be judged
        return [f"malformed record: {', '.join(d.malformed)}"]
    reasons = _event_reasons(history, d)
    if not history.in_network(d.agency_id, d.position):
        reasons.append(f"{d.agency_id} was not in the network at position {d.position}")
    if not d.categories:
        reasons.append("discloses no data category")
    reasons.extend(_field_reasons(d))
    erased = history.erasures.get(d.case_id)
    if erased is not None and erased < d.position:
        # The relay forgets the person at the erasure (producers/governance.py): a later
        # disclosure could only carry details it should no longer hold.
        reasons.append(f"the person of case {d.case_id} was erased at position {erased}")
    for path in d.fields:
        root, _, name = path.partition(".")
        emptied = history.emptied_at(d.case_id, name, d.position) if root == "person" else None
        if emptied is not None:
            # The relay drops an emptied detail (訂正 by deletion) until a value is recorded
            # again: a disclosure of it in between carries a value the hub no longer holds.
            reasons.append(f"{path} of case {d.case_id} was emptied at position {emptied}")
    rule = _RULES.get(d.basis)
    if rule is None:
        reasons.append(f"unknown basis {d.basis!r}")
    else:
        reasons.extend(rule(history, d))
    return reasons


@cache
def _field_categories() -> dict[str, str]:
    """The data category of every personal field path of the schemas (``person.name``:
    ``identity``), read from their marks: the same path has the same category in all."""
    return {
        ".".join(path): marks["category"]
        for schema in codec.registry().by_fingerprint.values()
        for path, marks in personal_paths(schema.definition).items()
    }


def _field_reasons(d: Disclosure) -> list[str]:
    known = _field_categories()
    reasons = []
    unknown = sorted(f for f in d.fields if f not in known)
    if unknown:
        reasons.append(f"{', '.join(unknown)}: not a personal field of the schemas")
    hidden = sorted({known[f] for f in d.fields if f in known} - set(d.categories))
    if hidden:
        reasons.append(f"its fields hold {', '.join(hidden)}, which the record does not name")
    return reasons


def _event_reasons(history: History, d: Disclosure) -> list[str]:
    event = history.events.get(d.position)
    if event is None:
        return [f"no event at position {d.position} of the log"] if history.complete else []
    reasons = []
    if event.event_id and d.event_id != event.event_id:
        reasons.append(f"event id {d.event_id} is not the event at position {d.position}")
    if event.case_id != d.case_id:
        reasons.append(f"the event at position {d.position} is not about case {d.case_id}")
    if event.occurred_at != d.occurred_at:
        reasons.append(
            f"the instant {d.occurred_at.isoformat()} is not the event's "
            f"{event.occurred_at.isoformat()}"
        )
    return reasons


def _consent(history: History, d: Disclosure) -> list[str]:
    consent = history.consents.get(d.basis_ref or "")
    if consent is None or consent.case_id != d.case_id:
        return [f"case {d.case_id} has no consent {d.basis_ref}"]
    reasons = []
    if consent.given_position > d.position:
        reasons.append("the consent was recorded after the disclosure")
    if consent.withdrawn_position is not None and consent.withdrawn_position <= d.position:
        reasons.append(f"the consent was withdrawn (position {consent.withdrawn_position})")
    stop = history.use_stop_between(d.case_id, consent.given_position, d.position)
    if stop is not None:
        reasons.append(f"the person asked to stop its use (利用停止, position {stop.position})")
    if not consent.valid_from <= d.occurred_at < consent.valid_until:
        reasons.append("the consent was not valid at that instant")
    if d.agency_id not in consent.agencies:
        reasons.append(f"the consent's scope does not cover {d.agency_id}")
    missing = sorted(set(d.categories) - set(consent.categories))
    if missing:
        reasons.append(f"the consent does not cover {', '.join(missing)}")
    held_for = _purposes(history, d)
    if history.complete and not held_for & set(consent.purposes):
        reasons.append(
            f"no purpose {d.agency_id} holds the case for "
            f"({', '.join(sorted(held_for)) or 'none'}) is consented to"
        )
    return reasons


def _purposes(history: History, d: Disclosure) -> set[str]:
    purposes = {
        r.purpose
        for r in history.referrals.values()
        if r.case_id == d.case_id
        and r.agency_id == d.agency_id
        and r.position <= d.position
        and r.status_at(d.position) not in ("declined", "completed", "cancelled")
    }
    if any(
        e.case_id == d.case_id
        and d.agency_id in e.agencies
        and e.position <= d.position
        and (e.ended_position is None or e.ended_position > d.position)
        and d.occurred_at < e.expires_at
        for e in history.emergencies.values()
    ):
        purposes.add("emergency_response")
    return purposes


def _meeting(history: History, d: Disclosure) -> list[str]:
    meeting = history.meetings.get((d.basis_ref or "", d.case_id))
    if meeting is None or meeting.position > d.position:
        return [f"meeting {d.basis_ref} had not taken up case {d.case_id}"]
    reasons = []
    if meeting.kind != "connection":
        reasons.append("the meeting is not a つながりづくり会議 (art.106-6 covers those only)")
    if d.agency_id not in meeting.members:
        reasons.append(f"{d.agency_id} is not a member of the meeting")
    taken = max(
        p
        for p in history.take_ups.get((meeting.meeting_id, d.case_id), [meeting.position])
        if p <= d.position
    )
    moved = [m for m in history.moves.get(d.case_id, ()) if taken < m <= d.position]
    if moved:
        reasons.append(
            f"the case moved to the 重層的支援会議 (position {moved[0]}): from then on consent "
            "governs, not the つながりづくり会議"
        )
    if not d.confidentiality_duty:
        reasons.append("the record does not carry the confidentiality duty")
    return reasons


def _emergency(history: History, d: Disclosure) -> list[str]:
    emergency = history.emergencies.get(d.basis_ref or "")
    if emergency is None or emergency.case_id != d.case_id or emergency.position > d.position:
        return [f"case {d.case_id} had no emergency declaration {d.basis_ref}"]
    reasons = []
    if emergency.ended_position is not None and emergency.ended_position <= d.position:
        reasons.append("the emergency had ended")
    if d.occurred_at >= emergency.expires_at:
        reasons.append("the emergency had expired at that instant")
    if d.agency_id not in emergency.agencies:
        reasons.append(f"the declaration does not name {d.agency_id}")
    plain = set(d.categories) - SENSITIVE_CATEGORIES
    missing = sorted(plain - set(emergency.categories))
    if missing:
        reasons.append(f"the declaration does not cover {', '.join(missing)}")
    unnamed = sorted(set(d.categories) & SENSITIVE_CATEGORIES - set(emergency.sensitive_categories))
    if unnamed:
        reasons.append(
            f"sensitive data ({', '.join(unnamed)}) needs consent, a meeting or a "
            "declaration naming it (break-glass)"
        )
    return reasons


def _statute(history: History, d: Disclosure) -> list[str]:
    referrals = [
        r
        for r in history.referrals.values()
        if r.case_id == d.case_id
        and r.agency_id == d.agency_id
        and r.statute
        and r.statute == d.basis_ref
        and r.position <= d.position
    ]
    if not history.complete:
        return _no_sensitive(d)
    if not referrals:
        return [f"no referral of case {d.case_id} to {d.agency_id} names {d.basis_ref}"]
    reasons = []
    if all(r.status_at(d.position) in ("declined", "completed", "cancelled") for r in referrals):
        reasons.append("the statutory referral was declined, completed or cancelled")
    reasons.extend(_no_sensitive(d))
    return reasons


def _no_sensitive(d: Disclosure) -> list[str]:
    sensitive = sorted(set(d.categories) & SENSITIVE_CATEGORIES)
    if sensitive:
        return [f"sensitive data ({', '.join(sensitive)}) needs consent or a meeting"]
    return []


_NEEDS_LOG = {
    "consent": "its purpose (the referral to the agency) is not on audit.consent",
    "statute": "statutory referrals are not on audit.consent",
}

_RULES = {
    "consent": _consent,
    "support_meeting": _meeting,
    "vital_interest": _emergency,
    "statute": _statute,
}
