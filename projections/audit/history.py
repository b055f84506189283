"""The consent history of the log, rebuilt by replay: who could receive what, and when.

Entries come from either source an auditor can replay (the log of record, or the
``audit.consent`` topic); each is one event payload with its log position.

Two clocks, kept apart on purpose:
- ``occurred_at`` is the business time: when the person consented, withdrew, when the
  meeting was held. ``snapshot(as_of=T)`` answers "what was in force at T" with it: a
  consent counts if given at or before T, valid at T and not withdrawn at or before T.
- the position is the log order: what the hub knew when it acted. The disclosure check
  (``projections.audit.verify``) uses both: the facts recorded up to the disclosure's
  position, evaluated at the disclosed event's business time.

The network is read from the same entries (its events are on the log and on
``audit.consent``): a consent's scope is resolved with the agencies of the network as of the
consent's position, and each agency's time in the network is kept by position, so an
as-of replay after the network changed gives the verdicts it gave before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from hub import events as ev
from hub.reference.directory import Directory, replaying


@dataclass(frozen=True)
class Entry:
    """One event as the auditor reads it: position in the log of record and payload."""

    position: int
    payload: ev.Event
    event_id: str = ""


@dataclass
class ConsentRecord:
    consent_id: str
    case_id: str
    scope: tuple[str, ...]
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    given_at: datetime
    given_position: int
    # The agencies the scope covered in the network as of the consent's position.
    agencies: frozenset[str] = frozenset()
    by_proxy: bool = False
    withdrawn_at: datetime | None = None
    withdrawn_position: int | None = None
    given_by: str | None = None
    withdrawn_by: str | None = None

    def in_force(self, at: datetime) -> bool:
        withdrawn = self.withdrawn_at is not None and self.withdrawn_at <= at
        return self.given_at <= at and self.valid_from <= at < self.valid_until and not withdrawn

    def view(self) -> dict[str, Any]:
        return {
            "consent_id": self.consent_id,
            "case_id": self.case_id,
            "scope": list(self.scope),
            "purposes": list(self.purposes),
            "categories": list(self.categories),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "given_at": self.given_at.isoformat(),
            "withdrawn_at": self.withdrawn_at.isoformat() if self.withdrawn_at else None,
            "given_by": self.given_by,
            "withdrawn_by": self.withdrawn_by,
        }


@dataclass(frozen=True)
class RefusalRecord:
    consent_id: str
    case_id: str
    scope: tuple[str, ...]
    refused_at: datetime
    position: int
    refused_by: str | None = None


@dataclass(frozen=True)
class UseStopRecord:
    """利用停止: the person asked that use of their details on consent stop."""

    request_id: str
    case_id: str
    requested_at: datetime
    position: int
    recorded_by: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "case_id": self.case_id,
            "requested_at": self.requested_at.isoformat(),
            "position": self.position,
            "recorded_by": self.recorded_by,
        }


@dataclass(frozen=True)
class MeetingRecord:
    """One case taken up by one meeting, with the meeting's members."""

    meeting_id: str
    case_id: str
    kind: str
    members: tuple[str, ...]
    held_at: datetime
    position: int
    recorded_by: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "meeting_id": self.meeting_id,
            "case_id": self.case_id,
            "kind": self.kind,
            "members": list(self.members),
            "held_at": self.held_at.isoformat(),
            "recorded_by": self.recorded_by,
        }


@dataclass(frozen=True)
class ReviewRecord:
    """A break-glass verdict: which reviewer, what verdict, at which position."""

    reviewer: str
    verdict: str
    reviewed_at: datetime
    position: int
    reviewed_by: str | None = None


@dataclass
class EmergencyRecord:
    declaration_id: str
    case_id: str
    agencies: tuple[str, ...]
    categories: tuple[str, ...]
    declared_at: datetime
    expires_at: datetime
    position: int
    ended_at: datetime | None = None
    ended_position: int | None = None
    declared_by: str | None = None
    ended_by: str | None = None
    sensitive_categories: tuple[str, ...] = ()  # break-glass (DOMAIN.md rule 6)
    reviews: list[ReviewRecord] = field(default_factory=list)

    def in_force(self, at: datetime) -> bool:
        ended = self.ended_at is not None and self.ended_at <= at
        return self.declared_at <= at < self.expires_at and not ended

    def view(self) -> dict[str, Any]:
        return {
            "declaration_id": self.declaration_id,
            "case_id": self.case_id,
            "agencies": list(self.agencies),
            "categories": list(self.categories),
            "declared_at": self.declared_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "declared_by": self.declared_by,
        }


@dataclass
class ReferralRecord:
    referral_id: str
    case_id: str
    agency_id: str
    purpose: str
    statute: str | None
    position: int
    answers: list[tuple[int, str]] = field(default_factory=list)

    def status_at(self, position: int) -> str:
        status = "sent"
        for answered_at, answer in self.answers:
            if answered_at <= position:
                status = answer
        return status


@dataclass(frozen=True)
class LoggedEvent:
    """What the auditor keeps of every event: enough to recognise a disclosure's event."""

    position: int
    event_id: str
    event_type: str
    case_id: str | None
    occurred_at: datetime
    acted_by: str | None = None


@dataclass(frozen=True)
class Snapshot:
    as_of: datetime
    consents: tuple[ConsentRecord, ...]
    meetings: tuple[MeetingRecord, ...]
    emergencies: tuple[EmergencyRecord, ...]

    def view(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "consents_in_force": [c.view() for c in self.consents],
            "meeting_memberships": [m.view() for m in self.meetings],
            "emergencies_in_force": [e.view() for e in self.emergencies],
        }


@dataclass
class History:
    consents: dict[str, ConsentRecord] = field(default_factory=dict)
    refusals: list[RefusalRecord] = field(default_factory=list)
    use_stops: list[UseStopRecord] = field(default_factory=list)
    meetings: dict[tuple[str, str], MeetingRecord] = field(default_factory=dict)
    emergencies: dict[str, EmergencyRecord] = field(default_factory=dict)
    referrals: dict[str, ReferralRecord] = field(default_factory=dict)
    # The position of each case's PersonErased: nothing personal of it exists after it.
    erasures: dict[str, int] = field(default_factory=dict)
    # Per case and person field (``address``) emptied once (訂正 by deletion), the positions
    # at which it was emptied (False) and, from the first of those, at which an event
    # recorded a value again (True), in log order: kept for emptied fields only, so a long
    # log's history does not hold a mark per detail of every person.
    details_marks: dict[tuple[str, str], list[tuple[int, bool]]] = field(default_factory=dict)
    # The position of each discovery's report (a case opened from it names it, not the report).
    discovery_reports: dict[str, int] = field(default_factory=dict)
    # Every position at which a meeting took up a case (``meetings`` keeps the first), and
    # each case's moves to the 重層的支援会議, after which consent governs, not the meeting.
    take_ups: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    moves: dict[str, list[int]] = field(default_factory=dict)
    # The same in business time, for ``snapshot``: when each take-up and each move happened.
    take_up_times: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    move_times: dict[str, list[datetime]] = field(default_factory=dict)
    events: dict[int, LoggedEvent] = field(default_factory=dict)
    meetings_held: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # Each read's basis and the consents, meetings, declarations or statutes it rested on
    # (根拠の記録), by position: the 本人開示 report names them.
    accesses: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    network: Directory = field(default_factory=replaying)
    imported_at: int | None = None  # the position of the network's import, if any
    # Per agency, the positions at which it joined and left the network (None: still in it).
    memberships: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    last_position: int = 0
    # False when replayed from audit.consent, which carries no referrals or other events.
    complete: bool = True

    def case_ids(self) -> set[str]:
        """Every case the history names (for resolving a short case id)."""
        ids = {e.case_id for e in self.events.values() if e.case_id}
        ids.update(c.case_id for c in self.consents.values())
        ids.update(m.case_id for m in self.meetings.values())
        return ids

    def apply(self, entry: Entry) -> None:
        p, position = entry.payload, entry.position
        self.last_position = max(self.last_position, position)
        case_id = _text(getattr(p, "case_id", None))
        by = acted_by(p)
        self.events[position] = LoggedEvent(
            position, entry.event_id, type(p).__name__, case_id, p.occurred_at, by
        )
        if case_id is not None:
            self._mark_details(p, case_id, position)
        if self.network.apply(p):
            self._membership(p, position)
        elif isinstance(p, ev.ConsentGiven):
            self.consents[str(p.consent_id)] = ConsentRecord(
                str(p.consent_id),
                str(p.case_id),
                tuple(p.scope),
                tuple(p.purposes),
                tuple(p.data_categories),
                p.valid_from,
                p.valid_until,
                p.occurred_at,
                position,
                self.network.network.agencies_in_scope(p.scope),
                p.by_proxy,
                given_by=by,
            )
        elif isinstance(p, ev.ConsentWithdrawn):
            consent = self.consents.get(str(p.consent_id))
            if consent is not None and consent.withdrawn_position is None:
                consent.withdrawn_at, consent.withdrawn_position = p.occurred_at, position
                consent.withdrawn_by = by
        elif isinstance(p, ev.DiscoveryReported):
            self.discovery_reports[str(p.discovery_id)] = position
        elif isinstance(p, ev.UseStopRequested):
            self.use_stops.append(
                UseStopRecord(str(p.request_id), str(p.case_id), p.occurred_at, position, by)
            )
        elif isinstance(p, ev.ConsentRefused):
            self.refusals.append(
                RefusalRecord(
                    str(p.consent_id), str(p.case_id), tuple(p.scope), p.occurred_at, position, by
                )
            )
        elif isinstance(p, ev.MeetingHeld):
            self.meetings_held[str(p.meeting_id)] = (p.kind, p.occurred_at)
            for case in p.case_ids:
                self._take_up(
                    str(p.meeting_id), str(case), p.kind, p.members, p.occurred_at, position, by
                )
        elif isinstance(p, ev.TakenUpByMeeting):
            self._take_up(
                str(p.meeting_id), str(p.case_id), p.kind, p.members, p.occurred_at, position, by
            )
        elif isinstance(p, ev.MovedToSupportMeeting):
            self.moves.setdefault(str(p.case_id), []).append(position)
            self.move_times.setdefault(str(p.case_id), []).append(p.occurred_at)
        elif isinstance(p, ev.EmergencyDeclared):
            self.emergencies[str(p.declaration_id)] = EmergencyRecord(
                str(p.declaration_id),
                str(p.case_id),
                tuple(p.agencies),
                tuple(p.data_categories),
                p.occurred_at,
                p.expires_at,
                position,
                declared_by=by,
                sensitive_categories=tuple(p.sensitive_categories),
            )
        elif isinstance(p, ev.EmergencyEnded):
            emergency = self.emergencies.get(str(p.declaration_id))
            if emergency is not None and emergency.ended_position is None:
                emergency.ended_at, emergency.ended_position = p.occurred_at, position
                emergency.ended_by = by
        elif isinstance(p, ev.BreakGlassReviewed):
            emergency = self.emergencies.get(str(p.declaration_id))
            if emergency is not None:
                emergency.reviews.append(
                    ReviewRecord(p.reviewer, p.verdict, p.occurred_at, position, by)
                )
        elif isinstance(p, ev.ReferralMade):
            self.referrals[str(p.referral_id)] = ReferralRecord(
                str(p.referral_id), str(p.case_id), p.agency_id, p.purpose, p.statute, position
            )
        elif isinstance(p, ev.ReferralAnswered):
            referral = self.referrals.get(str(p.referral_id))
            if referral is not None:
                referral.answers.append((position, p.answer))
        elif isinstance(p, ev.ReferralCancelled):
            referral = self.referrals.get(str(p.referral_id))
            if referral is not None:
                referral.answers.append((position, "cancelled"))
        elif isinstance(p, ev.PersonErased):
            self.erasures.setdefault(str(p.case_id), position)
        elif isinstance(p, ev.PersonalDataAccessed):
            self.accesses[position] = (p.basis, tuple(p.basis_refs))

    def _mark_details(self, p: ev.Event, case_id: str, position: int) -> None:
        if isinstance(p, ev.PersonDetailsCleared):
            for cleared in p.fields:
                self.details_marks.setdefault((case_id, cleared), []).append((position, False))
            return
        person = getattr(p, "person", None)
        if isinstance(person, ev.PersonDetails):
            for name, value in person:
                marks = self.details_marks.get((case_id, name))
                if marks is not None and value is not None:
                    marks.append((position, True))

    def emptied_at(self, case_id: str, name: str, position: int) -> int | None:
        """Where the person's field ``name`` was emptied (訂正 by deletion), if that is the
        last the log says of it at ``position``: no value of it is held there."""
        last = None
        for at, recorded in self.details_marks.get((case_id, name), ()):
            if at > position:
                break
            last = None if recorded else at
        return last

    def _membership(self, p: ev.Event, position: int) -> None:
        if isinstance(p, ev.NetworkEstablished) and self.imported_at is None:
            self.imported_at = position
        if isinstance(p, ev.AgencyRegistered | ev.CouncilMemberJoined):
            self.memberships.setdefault(p.agency_id, []).append((position, None))
        elif isinstance(p, ev.AgencyRetired | ev.CouncilMemberLeft):
            spans = self.memberships.get(p.agency_id)
            if spans and spans[-1][1] is None:
                spans[-1] = (spans[-1][0], position)

    def _stopped(self, consent: ConsentRecord, as_of: datetime) -> bool:
        """Whether a 利用停止 recorded after the consent had been requested by ``as_of``."""
        return any(
            s.case_id == consent.case_id
            and s.position > consent.given_position
            and s.requested_at <= as_of
            for s in self.use_stops
        )

    def use_stop_between(self, case_id: str, after: int, until: int) -> UseStopRecord | None:
        """The first 利用停止 of the case recorded after ``after`` and by ``until`` (positions)."""
        return next(
            (s for s in self.use_stops if s.case_id == case_id and after < s.position <= until),
            None,
        )

    def in_network(self, agency_id: str, position: int) -> bool:
        """Whether the agency was in the network when the event at ``position`` was relayed."""
        before_import = self.network.before_import
        if before_import is not None and (self.imported_at is None or position < self.imported_at):
            return before_import.is_agency(agency_id)  # a log from before the network was on it
        return any(
            joined <= position and (left is None or position < left)
            for joined, left in self.memberships.get(agency_id, ())
        )

    def _take_up(
        self,
        meeting_id: str,
        case_id: str,
        kind: str,
        members: Iterable[str],
        at: datetime,
        position: int,
        by: str | None,
    ) -> None:
        key = (meeting_id, case_id)
        self.take_ups.setdefault(key, []).append(position)
        self.take_up_times.setdefault(key, []).append(at)
        if key not in self.meetings:
            self.meetings[key] = MeetingRecord(
                meeting_id, case_id, kind, tuple(members), at, position, by
            )

    def _sitting(self, meeting: MeetingRecord, as_of: datetime) -> bool:
        """Whether the meeting's members still hold the case at ``as_of``: a つながりづくり会議
        no longer does once the case moved to the 重層的支援会議 (consent governs from the
        move on), unless it took the case up again after the move."""
        if meeting.kind != "connection":
            return True
        times = self.take_up_times.get((meeting.meeting_id, meeting.case_id), [meeting.held_at])
        latest = max(t for t in times if t <= as_of)
        return not any(
            latest <= moved <= as_of for moved in self.move_times.get(meeting.case_id, ())
        )

    def snapshot(
        self, as_of: datetime, *, case_id: str | None = None, agency_id: str | None = None
    ) -> Snapshot:
        """What was in force at ``as_of`` (business time), for one case and/or agency."""

        def keep(record_case: str, agencies: Iterable[str]) -> bool:
            if case_id is not None and record_case != case_id:
                return False
            return agency_id is None or agency_id in agencies

        consents = [
            c
            for c in self.consents.values()
            if c.in_force(as_of) and keep(c.case_id, c.agencies) and not self._stopped(c, as_of)
        ]
        meetings = [
            m
            for m in self.meetings.values()
            if m.held_at <= as_of and keep(m.case_id, m.members) and self._sitting(m, as_of)
        ]
        emergencies = [
            e
            for e in self.emergencies.values()
            if e.in_force(as_of) and keep(e.case_id, e.agencies)
        ]
        return Snapshot(
            as_of,
            tuple(sorted(consents, key=lambda c: (c.given_position, c.consent_id))),
            tuple(sorted(meetings, key=lambda m: (m.position, m.meeting_id, m.case_id))),
            tuple(sorted(emergencies, key=lambda e: (e.position, e.declaration_id))),
        )


def replay(
    entries: Iterable[Entry], *, complete: bool = True, case_id: str | None = None
) -> History:
    """The history of ``entries``; with ``case_id``, only what that case's snapshot needs
    (``concerns``), so that replaying one case holds one case, however long the log."""
    history = History(complete=complete)
    for entry in entries:
        if case_id is None or concerns(entry.payload, case_id):
            history.apply(entry)
        else:
            history.last_position = max(history.last_position, entry.position)
    return history


def concerns(payload: ev.Event, case_id: str) -> bool:
    """Whether one case's snapshot needs ``payload``: the case's own events, a meeting that
    took it up, and the network (which agencies a consent's scope covered, and when)."""
    if isinstance(payload, ev.NETWORK_EVENTS):
        return True
    if isinstance(payload, ev.MeetingHeld):
        return any(str(case) == case_id for case in payload.case_ids)
    return str(getattr(payload, "case_id", None)) == case_id


def _text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def acted_by(payload: ev.Event) -> str | None:
    """Who recorded an event, as ``subject (role)``; None for events from before actors."""
    actor = payload.actor
    return f"{actor.subject} ({actor.role})" if actor else None
