"""Governance: which agency gets which record, which personal fields, on which legal basis.

A pure, deterministic function of the log. ``GovernanceState`` is folded over the events in
log order; ``decide(state, event)`` folds one more event and returns its ``Decision``, routing
with the state *including* that event (a referral makes its agency a recipient of the
referral itself; a withdrawal, which carries no personal data, stops every later disclosure).

The network (agencies, groups, coordinators) is part of that state: its events are folded
with the rest, so a consent's scope is resolved with the network as of the consent's
position, a discovery goes to the ward's coordinator as of the discovery, and an agency that
has left the network receives nothing after it left. Nothing here reads today's
``network.json``, so a replay after the network changed routes exactly as the first run.
Network events go to ``audit.consent`` only (auditors resolve scopes from them); agencies and
analysts do not receive them.

Bases, checked per agency and per personal field at the event's ``occurred_at``:
- consent: in force (valid, not withdrawn, not stopped by a 利用停止 request made after
  it was given), its scope covers the agency or one of its
  groups, one of its purposes is the purpose of a referral through which the agency is
  involved, and it names the field's data category;
- support_meeting: the agency is a member of a つながりづくり会議 that took up the case
  (all categories, under the confidentiality duty of Social Welfare Act art.106-6), until
  the case moves to the 重層的支援会議 (then consent governs);
- statute: a referral to the agency naming a statute, not declined or completed
  (identity and contact only);
- vital_interest: an emergency declaration naming the agency, not ended, not expired, for
  the categories it names; sensitive ones only when it names them as break-glass categories
  with a reason (DOMAIN.md rule 6), each such disclosure then goes on the audit's review list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from hub import events as ev
from hub.codec import event_record
from hub.domain.consent import in_force as consent_in_force
from hub.reference.directory import Directory, replaying
from hub.sealing import Leaf, personal_spec
from hub.vocabulary import SENSITIVE_CATEGORIES
from producers.fields import Path, dotted, personal_fields, values_at, withhold, without_actor

BASES = ("consent", "support_meeting", "statute", "vital_interest")
STATUTE_CATEGORIES = frozenset({"identity", "contact"})
NETWORK_EVENTS = frozenset(cls.__name__ for cls in ev.NETWORK_EVENTS)
AUDIT_EVENTS = (
    frozenset(
        {
            "ConsentGiven",
            "ConsentRefused",
            "ConsentWithdrawn",
            "UseStopRequested",
            "MeetingHeld",
            "TakenUpByMeeting",
            "MovedToSupportMeeting",
            "EmergencyDeclared",
            "EmergencyEnded",
            "BreakGlassReviewed",
            # The auditor without the log refutes a disclosure after it (docs/AUDIT.md). A
            # discovery's erasure has none to refute: no disclosure names a discovery.
            "PersonErased",
        }
    )
    | NETWORK_EVENTS
)

# The access log (アクセス記録) is kept in the log of record for the hash chain, but names who
# read which case (and who searched the ward for whom): it goes to no topic (docs/AUDIT.md).
UNPUBLISHED = frozenset({"PersonalDataAccessed", "PeopleSearched"})
# A referral in one of these states holds the case for nothing any more (consent, statute).
ENDED_REFERRAL = frozenset({"declined", "completed", "cancelled"})


# The log, as governance sees it ----------------------------------------------------------------


@dataclass(frozen=True)
class LoggedEvent:
    """One event of the log: its position (notification id), payload and record."""

    position: int
    payload: ev.Event
    record: dict[str, Any]

    # Worked out once an event (cached_property writes past the frozen dataclass's guard):
    # governance and the relay ask for each many times.
    @cached_property
    def event_type(self) -> str:
        return type(self.payload).__name__

    @property
    def event_id(self) -> str:
        return str(self.record["event_id"])

    @cached_property
    def case_id(self) -> UUID | None:
        return getattr(self.payload, "case_id", None)

    @cached_property
    def key(self) -> str:
        """The record key: the case id, or the aggregate's own id."""
        return str(self.case_id or self.record["aggregate_id"])


def logged(position: int, domain_event: Any) -> LoggedEvent:
    """A stored domain event (with its ``payload``) at ``position`` of the log."""
    return LoggedEvent(position, domain_event.payload, event_record(domain_event))


# State ---------------------------------------------------------------------------------------
#
# A relay holds thousands of cases (``producers.relay.CACHED_CASES``), so a case's state is kept
# small: slotted classes, and one object for the names and sets many cases hold alike (agency
# ids, purposes, categories, a meeting's members), also when a case is read back from its
# stored row (``__reduce__`` builds it again through ``_shared``).

# Values held once, however many cases hold them: bounded, so that ids a log never repeats
# cannot make it grow without end (past the bound a value is simply kept as it is).
SHARED_MAX = 16_384
_shared_values: dict[Any, Any] = {}


def _shared(value: Any) -> Any:
    """The one object held for ``value`` (a str, or a frozenset of them)."""
    found = _shared_values.get(value)
    if found is not None:
        return found
    if len(_shared_values) < SHARED_MAX:
        _shared_values[value] = value
    return value


def _fields(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A slotted state's fields, in order, in one C call: what its ``__reduce__`` builds it
    again from. A generator over ``__slots__`` made pickling a case ~1.7× as slow and the
    relay collect more often, a full collection of its heap among them (BENCHMARKS.md,
    end to end)."""
    return attrgetter(*cls.__slots__)  # type: ignore[attr-defined]


def _names(values: Iterable[str]) -> frozenset[str]:
    return _shared(frozenset(_shared(v) for v in values))  # type: ignore[no-any-return]


@dataclass(slots=True)
class ConsentState:
    consent_id: str
    agencies: frozenset[str]
    purposes: frozenset[str]
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    withdrawn: bool = False
    stopped: bool = False  # 利用停止 requested after it was given

    def in_force(self, at: datetime) -> bool:
        return consent_in_force(
            self.valid_from, self.valid_until, self.withdrawn or self.stopped, at
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return _consent, _CONSENT_FIELDS(self)


_CONSENT_FIELDS = _fields(ConsentState)


def _consent(
    consent_id: str,
    agencies: Iterable[str],
    purposes: Iterable[str],
    categories: Iterable[str],
    valid_from: datetime,
    valid_until: datetime,
    withdrawn: bool = False,
    stopped: bool = False,
) -> ConsentState:
    return ConsentState(
        consent_id,
        _names(agencies),
        _names(purposes),
        _names(categories),
        valid_from,
        valid_until,
        withdrawn,
        stopped,
    )


@dataclass(slots=True)
class EmergencyState:
    declaration_id: str
    agencies: frozenset[str]
    categories: frozenset[str]
    expires_at: datetime
    ended: bool = False
    sensitive: frozenset[str] = frozenset()  # break-glass: the sensitive categories named

    def in_force(self, at: datetime) -> bool:
        return not self.ended and at < self.expires_at

    def releases(self, category: str, sensitive: bool) -> bool:
        if sensitive or category in SENSITIVE_CATEGORIES:
            return category in self.sensitive
        return category in self.categories

    def __reduce__(self) -> tuple[Any, ...]:
        return _emergency, _EMERGENCY_FIELDS(self)


_EMERGENCY_FIELDS = _fields(EmergencyState)


def _emergency(
    declaration_id: str,
    agencies: Iterable[str],
    categories: Iterable[str],
    expires_at: datetime,
    ended: bool = False,
    sensitive: Iterable[str] = (),
) -> EmergencyState:
    return EmergencyState(
        declaration_id,
        _names(agencies),
        _names(categories),
        expires_at,
        ended,
        _names(sensitive),
    )


@dataclass(slots=True)
class ReferralState:
    referral_id: str
    agency_id: str
    purpose: str
    statute: str | None
    status: str = "sent"
    made_at: datetime | None = None  # for the analysts' minutes from referral to answer

    def __reduce__(self) -> tuple[Any, ...]:
        return _referral, _REFERRAL_FIELDS(self)


_REFERRAL_FIELDS = _fields(ReferralState)


def _referral(
    referral_id: str,
    agency_id: str,
    purpose: str,
    statute: str | None,
    status: str = "sent",
    made_at: datetime | None = None,
) -> ReferralState:
    return ReferralState(
        referral_id,
        _shared(agency_id),
        _shared(purpose),
        None if statute is None else _shared(statute),
        _shared(status),
        made_at,
    )


@dataclass(slots=True)
class CaseGovernance:
    ward: str | None = None
    consents: dict[str, ConsentState] = field(default_factory=dict)
    connection_meetings: dict[str, frozenset[str]] = field(default_factory=dict)
    emergencies: dict[str, EmergencyState] = field(default_factory=dict)
    referrals: dict[str, ReferralState] = field(default_factory=dict)
    # Agencies receiving the case's events, in the order they became involved.
    involved: dict[str, None] = field(default_factory=dict)
    # The person's details as the log last recorded them (field → value), and which
    # (agency, basis, reference) has had them delivered on a basis that came later.
    person: dict[str, Any] = field(default_factory=dict)
    delivered: set[tuple[str, str, str]] = field(default_factory=set)
    # An event that changes governance was quarantined (hub/quarantine.py): the state may
    # miss a withdrawal or an end, so nothing personal of the case is released any more.
    held: bool = False

    def purposes_of(self, agency_id: str, at: datetime) -> frozenset[str]:
        """The purposes the agency holds the case for: its referrals that have not ended (one
        cancelled, declined or completed holds it for nothing more), and emergency response
        while a declaration that names it is in force at ``at``."""
        purposes = {
            r.purpose
            for r in self.referrals.values()
            if r.agency_id == agency_id and r.status not in ENDED_REFERRAL
        }
        if any(agency_id in e.agencies and e.in_force(at) for e in self.emergencies.values()):
            purposes.add("emergency_response")
        return frozenset(purposes)

    def __reduce__(self) -> tuple[Any, ...]:
        return _case, _CASE_FIELDS(self)


_CASE_FIELDS = _fields(CaseGovernance)


def _case(
    ward: str | None,
    consents: dict[str, ConsentState],
    connection_meetings: dict[str, frozenset[str]],
    emergencies: dict[str, EmergencyState],
    referrals: dict[str, ReferralState],
    involved: dict[str, None],
    person: dict[str, Any],
    delivered: set[tuple[str, str, str]],
    held: bool,
) -> CaseGovernance:
    return CaseGovernance(
        None if ward is None else _shared(ward),
        consents,
        {m: _names(members) for m, members in connection_meetings.items()},
        emergencies,
        referrals,
        {_shared(a): None for a in involved},
        {_shared(k): v for k, v in person.items()},
        {(_shared(a), _shared(b), r) for a, b, r in delivered},
        held,
    )


@dataclass
class GovernanceState:
    cases: dict[UUID, CaseGovernance] = field(default_factory=dict)
    network: Directory = field(default_factory=replaying)
    position: int = 0
    # Records of their own that the last folded event owes agencies (see _deliveries).
    deliveries: tuple[AgencyRecord, ...] = ()

    def case(self, case_id: UUID) -> CaseGovernance:
        return self.cases.setdefault(case_id, CaseGovernance())


def minutes_since_referral(state: GovernanceState, event: LoggedEvent) -> float | None:
    """For an answer: the minutes since its referral was made, as the analysts get it."""
    p = event.payload
    if not isinstance(p, ev.ReferralAnswered) or event.case_id is None:
        return None
    case = state.cases.get(event.case_id)
    referral = case.referrals.get(str(p.referral_id)) if case is not None else None
    if referral is None or referral.made_at is None:
        return None
    return (p.occurred_at - referral.made_at).total_seconds() / 60


ERASED = ev.PersonErased.__name__

# The events ``fold`` changes the state for: losing one of them to the quarantine holds the case.
GOVERNING_EVENTS = frozenset(
    {
        "CaseOpened",
        "ReferralMade",
        "ReferralAnswered",
        "ConsentGiven",
        "ConsentWithdrawn",
        "UseStopRequested",
        "TakenUpByMeeting",
        "MovedToSupportMeeting",
        "EmergencyDeclared",
        "EmergencyEnded",
        "PersonErased",
        "PersonDetailsCleared",
    }
)


def hold(state: GovernanceState, case_id: UUID, event_type: str) -> None:
    """A quarantined event of the case: fail safe if governance would have folded it (or its
    type is unknown), so every later record of the case is a de-identified notice. A
    quarantined erasure still forgets the person's details (none are kept to deliver)."""
    if event_type in GOVERNING_EVENTS or event_type not in ev.EVENTS_BY_NAME:
        case = state.case(case_id)
        case.held = True
        if event_type == ERASED:
            case.person.clear()


def erase_details(case: CaseGovernance) -> bool:
    """The person's details as a fold of the log read after their key was destroyed holds
    them (each field as ``hub.sealing`` reads it erased; a date, which reads None, not at
    all): what a relay holding them from before another process's erasure must keep from
    then on. True if that changed anything."""
    spec = personal_spec(ev.PersonDetails)
    erased = {}
    for name in case.person:
        leaf = spec.get(name)
        value = leaf.erased if isinstance(leaf, Leaf) else None
        if value is not None:
            erased[name] = value
    if erased == case.person:
        return False
    case.person = erased
    return True


def fold(state: GovernanceState, event: LoggedEvent) -> None:
    """Applies one event to the state (in place)."""
    state.position = event.position
    state.deliveries = ()
    p = event.payload
    if event.event_type in UNPUBLISHED or state.network.apply(p):
        return
    # MeetingHeld needs nothing here: the meeting writes a TakenUpByMeeting per case.
    if event.case_id is None:
        return
    case = state.case(event.case_id)
    person = event.record.get("person")
    if isinstance(person, dict):
        case.person.update({_shared(k): v for k, v in person.items() if v is not None})
    if isinstance(p, ev.CaseOpened):
        case.ward = _shared(p.ward)
    elif isinstance(p, ev.ReferralMade):
        case.referrals[str(p.referral_id)] = _referral(
            str(p.referral_id), p.agency_id, p.purpose, p.statute, made_at=p.occurred_at
        )
        _involve(case, [p.agency_id])
    elif isinstance(p, ev.ReferralAnswered):
        referral = case.referrals.get(str(p.referral_id))
        if referral is not None:
            referral.status = _shared(p.answer)
    elif isinstance(p, ev.ReferralCancelled):
        referral = case.referrals.get(str(p.referral_id))
        if referral is not None:
            referral.status = "cancelled"
    elif isinstance(p, ev.ConsentGiven):
        case.consents[str(p.consent_id)] = _consent(
            str(p.consent_id),
            state.network.network.agencies_in_scope(p.scope),
            p.purposes,
            p.data_categories,
            p.valid_from,
            p.valid_until,
        )
    elif isinstance(p, ev.ConsentWithdrawn):
        consent = case.consents.get(str(p.consent_id))
        if consent is not None:
            consent.withdrawn = True
    elif isinstance(p, ev.UseStopRequested):
        # 利用停止: no consent given so far releases anything any more (a consent given
        # later is the person's new decision). Other bases are the law's, not the person's.
        for consent in case.consents.values():
            consent.stopped = True
    elif isinstance(p, ev.TakenUpByMeeting):
        _involve(case, p.members)
        if p.kind == "connection":
            case.connection_meetings[str(p.meeting_id)] = _names(p.members)
    elif isinstance(p, ev.MovedToSupportMeeting):
        # From here the case is shared on the person's consent: a later withdrawal must stop
        # disclosures, so the earlier つながりづくり会議 no longer releases anything.
        case.connection_meetings.clear()
    elif isinstance(p, ev.EmergencyDeclared):
        case.emergencies[str(p.declaration_id)] = _emergency(
            str(p.declaration_id),
            p.agencies,
            p.data_categories,
            p.expires_at,
            sensitive=p.sensitive_categories,
        )
        _involve(case, p.agencies)
    elif isinstance(p, ev.EmergencyEnded):
        emergency = case.emergencies.get(str(p.declaration_id))
        if emergency is not None:
            emergency.ended = True
    elif isinstance(p, ev.PersonErased):
        # The details read before the keys were destroyed: no later basis may deliver them.
        case.person.clear()
    elif isinstance(p, ev.PersonDetailsCleared):
        # Held wrong and emptied (訂正 by deletion): no later basis delivers them.
        for name in p.fields:
            case.person.pop(name, None)
    if isinstance(p, BASIS_EVENTS) and case.person:
        state.deliveries = _deliveries(state, case, event)


# A basis can come into force after a referral: consent given later, a つながりづくり会議 taking
# the case up, an emergency declared. The agencies it covers then receive the person's details
# as they stand, once per (agency, basis, reference), as a PersonDetailsRecorded record of its
# own (its event id derived from the event that brought the basis), instead of learning them
# only if some later event happens to carry them.
BASIS_EVENTS = (ev.ConsentGiven, ev.TakenUpByMeeting, ev.EmergencyDeclared)


def _deliveries(
    state: GovernanceState, case: CaseGovernance, event: LoggedEvent
) -> tuple[AgencyRecord, ...]:
    brought = _basis_brought(event.payload)
    details = details_event(event, case.person)
    personal = personal_fields("PersonDetailsRecorded")
    owed = []
    for agency_id in sorted(case.involved):
        record = _agency_record(state, details, agency_id, personal)
        # Only what the new basis releases makes a delivery: details already sent on an
        # earlier basis (a statute named on the referral, say) are not sent again for it.
        keys = {
            (agency_id, r.basis, r.basis_ref)
            for r in record.released
            if (r.basis, r.basis_ref) == brought
        }
        if keys - case.delivered:
            case.delivered |= keys
            owed.append(replace(record, own_event=(details.event_id, details.event_type)))
    return tuple(owed)


def _basis_brought(payload: ev.Event) -> tuple[str, str] | None:
    """The (basis, reference) an event brings into force, as Release names them."""
    if isinstance(payload, ev.ConsentGiven):
        return "consent", str(payload.consent_id)
    if isinstance(payload, ev.TakenUpByMeeting) and payload.kind == "connection":
        return "support_meeting", str(payload.meeting_id)
    if isinstance(payload, ev.EmergencyDeclared):
        return "vital_interest", str(payload.declaration_id)
    return None


def details_event(event: LoggedEvent, person: dict[str, Any]) -> LoggedEvent:
    """The person's current details as a PersonDetailsRecorded record at ``event``'s place."""
    assert event.case_id is not None
    payload = ev.PersonDetailsRecorded(
        occurred_at=event.payload.occurred_at,
        case_id=event.case_id,
        person=ev.PersonDetails.model_validate(person),
    )
    record: dict[str, Any] = {
        "event_id": str(uuid5(NAMESPACE_URL, f"/details-on-basis/{event.event_id}")),
        "event_type": "PersonDetailsRecorded",
        "aggregate_id": event.record["aggregate_id"],
        "aggregate_version": event.record["aggregate_version"],
        "recorded_at": event.record["recorded_at"],
    }
    record.update(payload.model_dump(mode="json"))
    # A field held as it reads erased (the person's key destroyed; every field recorded for
    # them after their erasure reads so) is nothing of the person: named erased, as the
    # event it was read from names it, a basis delivers it to no one and no disclosure of
    # it is recorded (``hub audit verify`` refutes any disclosure after an erasure).
    payload._erased = _held_erased(person)
    return LoggedEvent(event.position, payload, record)


def _held_erased(person: dict[str, Any]) -> tuple[str, ...]:
    """The paths of the person's details held as their erased reads."""
    spec = personal_spec(ev.PersonDetails)
    return tuple(
        f"person.{name}"
        for name, value in person.items()
        if isinstance(leaf := spec.get(name), Leaf) and value == leaf.erased
    )


def _involve(case: CaseGovernance, agencies: Iterable[str]) -> None:
    for agency_id in agencies:
        case.involved.setdefault(_shared(agency_id), None)


# Decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    path: str
    category: str
    sensitive: bool
    basis: str
    basis_ref: str


@dataclass(frozen=True)
class Withholding:
    path: str
    category: str
    sensitive: bool
    missing: tuple[str, ...]  # the bases that could have released it


@dataclass(frozen=True)
class AgencyRecord:
    agency_id: str
    record: dict[str, Any]
    released: tuple[Release, ...]
    withheld: tuple[Withholding, ...]
    # (event id, event type) of a record of its own, not the logged event's (_deliveries).
    own_event: tuple[str, str] | None = None

    @property
    def bases(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(basis for basis, _ in self._used()))

    def _used(self) -> list[tuple[str, str]]:
        """Each (basis, reference) released on once, in the order of BASES (STREAMS.md), not
        of the fields that happened to come first."""
        used = dict.fromkeys((r.basis, r.basis_ref) for r in self.released)
        return sorted(used, key=lambda pair: BASES.index(pair[0]))

    def headers(self) -> dict[str, str]:
        """The governance headers of STREAMS.md (besides the common ones)."""
        headers = {
            "basis": ",".join(self.bases) or "none",
            "basis_ref": ",".join(dict.fromkeys(ref for _, ref in self._used())),
            "withheld": ",".join(w.path for w in self.withheld),
        }
        if self.withheld:
            headers["missing_basis"] = ";".join(
                f"{w.path}:{'|'.join(w.missing)}" for w in self.withheld
            )
        return headers


@dataclass(frozen=True)
class Decision:
    event: LoggedEvent
    agencies: tuple[AgencyRecord, ...]
    disclosures: tuple[dict[str, Any], ...]
    audit_record: dict[str, Any] | None  # for audit.consent, personal fields withheld
    analytics: bool = True  # whether analytics.events carries the event (de-identified)


def decide(state: GovernanceState, event: LoggedEvent) -> Decision:
    """Folds ``event`` into ``state`` and routes it."""
    fold(state, event)
    return route(state, event)


def route(state: GovernanceState, event: LoggedEvent) -> Decision:
    """The decision for ``event``, given the state that already includes it."""
    if event.event_type in UNPUBLISHED:
        return Decision(event, (), (), None)
    personal = personal_fields(event.event_type)
    audit = None
    if event.event_type in AUDIT_EVENTS:
        audit = withhold(event.record, [path for path, _, _ in personal])
    records = tuple(
        _agency_record(state, event, agency_id, personal) for agency_id in _recipients(state, event)
    ) + (state.deliveries if state.position == event.position else ())
    disclosures = tuple(d for r in records for d in _disclosures(event, r))
    return Decision(event, records, disclosures, audit, event.event_type not in NETWORK_EVENTS)


def _recipients(state: GovernanceState, event: LoggedEvent) -> list[str]:
    p = event.payload
    if isinstance(p, ev.DiscoveryReported):
        return [state.network.network.coordinator_of(p.ward).id]
    if isinstance(p, ev.DiscoveryErased):
        # The coordinator that received the discovery is told, as of a case's PersonErased,
        # to clear it from its inbox (unless it has left the network since).
        coordinator = state.network.network.coordinator_of(p.ward).id
        return [coordinator] if coordinator in state.network.network.agency_index else []
    if event.case_id is None or isinstance(p, ev.CommandAccepted | ev.ErasureConfirmed):
        # An agency's confirmation of an erasure is the coordinator's to follow (hub privacy
        # erasures), not news for the other agencies.
        return []
    case = state.cases.get(event.case_id)
    involved = set(case.involved) if case else set()
    if isinstance(p, ev.ReferralEscalated):
        # The escalation is addressed to the ward's coordinator, involved in the case or not.
        involved.add(p.coordinator)
    if isinstance(p, ev.PersonErased) and case and case.ward and len(set(p.subjects)) > 1:
        # The discoveries the case was opened from went to the ward's coordinator before the
        # case existed: it is told of the erasure too, to clear them from its inbox.
        involved.add(state.network.network.coordinator_of(case.ward).id)
    # An agency that has left the network is sent nothing more, not even a notice.
    in_network = state.network.network.agency_index
    return sorted(a for a in involved if a in in_network)


def _agency_record(
    state: GovernanceState,
    event: LoggedEvent,
    agency_id: str,
    personal: tuple[tuple[Path, str, bool], ...],
) -> AgencyRecord:
    case = state.cases.get(event.case_id) if event.case_id else None
    released: list[Release] = []
    withheld: list[Withholding] = []
    to_null: list[Path] = []
    erased = _erased_paths(event.payload)
    for path, category, sensitive in personal:
        if not values_at(event.record, path):
            # Whether the person has a health, disability or criminal record entry at all is
            # itself 要配慮: a record that carries the person names its sensitive fields no
            # basis covers as withheld, had they a value or not (docs/STREAMS.md).
            if (
                sensitive
                and len(path) > 1
                and values_at(event.record, path[:-1])
                and _basis(case, agency_id, category, sensitive, event.payload.occurred_at) is None
            ):
                withheld.append(
                    Withholding(dotted(path), category, sensitive, _could_release(category, True))
                )
            continue
        basis = _basis(case, agency_id, category, sensitive, event.payload.occurred_at)
        if basis is None:
            to_null.append(path)
            withheld.append(
                Withholding(dotted(path), category, sensitive, _could_release(category, sensitive))
            )
        elif dotted(path) not in erased:  # read as erased: nothing personal, no disclosure
            released.append(Release(dotted(path), category, sensitive, *basis))
    # Agencies never learn which officer acted (docs/STREAMS.md).
    shared = without_actor(event.record)
    record = withhold(shared, to_null) if to_null else shared
    return AgencyRecord(agency_id, record, tuple(released), tuple(withheld))


def _erased_paths(payload: ev.Event) -> frozenset[str]:
    """The personal fields of ``payload`` read as erased (its data key was destroyed), as
    the dotted paths of the schemas (``issues.issue``, not ``issues.0.issue``)."""
    return frozenset(
        ".".join(part for part in path.split(".") if not part.isdigit())
        for path in ev.erased_fields(payload)
    )


def _basis(
    case: CaseGovernance | None, agency_id: str, category: str, sensitive: bool, at: datetime
) -> tuple[str, str] | None:
    """The first basis in force for the agency and the category, as (basis, reference)."""
    if case is None or case.held:
        return None
    purposes = case.purposes_of(agency_id, at)
    for consent in case.consents.values():
        if (
            consent.in_force(at)
            and agency_id in consent.agencies
            and category in consent.categories
            and consent.purposes & purposes
        ):
            return "consent", consent.consent_id
    for meeting_id, members in case.connection_meetings.items():
        if agency_id in members:
            return "support_meeting", meeting_id
    if category in STATUTE_CATEGORIES:
        for referral in case.referrals.values():
            if (
                referral.agency_id == agency_id
                and referral.statute
                and referral.status not in ENDED_REFERRAL
            ):
                return "statute", referral.statute
    for emergency in case.emergencies.values():
        if (
            emergency.in_force(at)
            and agency_id in emergency.agencies
            and emergency.releases(category, sensitive)
        ):
            return "vital_interest", emergency.declaration_id
    return None


def _could_release(category: str, sensitive: bool) -> tuple[str, ...]:
    if sensitive or category in SENSITIVE_CATEGORIES:
        return ("consent", "support_meeting")
    if category in STATUTE_CATEGORIES:
        return BASES
    return ("consent", "support_meeting", "vital_interest")


def _disclosures(event: LoggedEvent, agency_record: AgencyRecord) -> list[dict[str, Any]]:
    own = f"/{agency_record.own_event[0]}" if agency_record.own_event else ""
    groups: dict[tuple[str, str], list[Release]] = {}
    for release in agency_record.released:
        groups.setdefault((release.basis, release.basis_ref), []).append(release)
    return [
        {
            "disclosure_id": str(
                uuid5(
                    NAMESPACE_URL,
                    f"/disclosures/{event.event_id}/{agency_record.agency_id}/{basis}/{ref}{own}",
                )
            ),
            "event_id": event.event_id,
            "position": event.position,
            "case_id": str(event.case_id or event.record["aggregate_id"]),
            "agency_id": agency_record.agency_id,
            "fields": [r.path for r in releases],
            "categories": sorted({r.category for r in releases}),
            "basis": basis,
            "basis_ref": ref,
            "confidentiality_duty": basis == "support_meeting",
            "occurred_at": event.payload.occurred_at.isoformat(),
        }
        for (basis, ref), releases in groups.items()
    ]
