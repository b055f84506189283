"""Who may do what: the one role policy every door (HTTP, web pages, CLI) asks.

A role grants a set of commands and a set of reads; a scope narrows them. Ward officers and
coordinators act only on cases of their ward, a member agency only on its own inbox and
answers, a contractor only in its own name. The policy needs no framework: a door builds the
``Actor`` from its credentials and calls ``authorize`` or ``authorize_command`` before the
use case, and turns ``PermissionDeniedError`` into its own refusal (403, a message).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from hub import commands as c
from hub.errors import PermissionDeniedError, Refusal
from hub.identity import Actor, Role


class Read(StrEnum):
    """What a role may read, besides the commands it may give."""

    case = "case"  # case state: ids and codes
    person = "person"  # a person's details (logged in the access log)
    inbox = "inbox"  # an agency's referrals and their answers
    answer = "answer"  # answer a referral of the inbox (accept, decline, ...)
    coordination = "coordination"  # unanswered and escalated referrals, meetings
    audit = "audit"  # replay, disclosures, verify, the access log
    indicators = "indicators"  # table ④, de-identified counts
    review = "review"  # break-glass declarations and the reviewer's own verdicts
    erasures = "erasures"  # erasures and which agencies confirmed clearing the person
    # The cooperating businesses and community bases (organisations, no person's details):
    # the administrator registers them; the contractor reads them too, to choose by name
    # the business or base a participation match or a gathering names (its page, the API's
    # GET /partners). The list is all the read gives: registering stays the administrator's
    # commands (NETWORK), and the administrator's page its own (ops/web/pages.py, OPENS).
    network = "network"


# How a refusal names each read ("ward_officer of tobata may not read cases outside tobata").
READ_PHRASES = {
    Read.case: "read cases",
    Read.person: "read a person's details",
    Read.inbox: "read an inbox",
    Read.answer: "answer referrals",
    Read.coordination: "read the referrals awaiting answers and the meetings",
    Read.audit: "read the audit",
    Read.indicators: "read table ④",
    Read.review: "review break-glass disclosures",
    Read.erasures: "read the erasure confirmations",
    Read.network: "read the cooperating businesses and community bases",
}

CASE_WORK = frozenset(
    {
        "ReportDiscovery",
        "ReceiveConsultation",
        "OpenCase",
        "RecordPersonDetails",
        "ClearPersonDetails",
        "RecordAssessment",
        "ReferCase",
        "CancelReferral",
        "GiveConsent",
        "RefuseConsent",
        "WithdrawConsent",
        "RequestUseStop",
        "EvaluateCase",
        "SuspendCase",
        "CloseCase",
        "RecordSupportActivity",
        "ArrangeWatchOver",
        "DeclareEmergency",
        "EndEmergency",
    }
)
COORDINATION = frozenset(
    {
        "HoldMeeting",
        "MoveToSupportMeeting",
        "DecideSupport",
        "AgreePlan",
        "EvaluateCase",
        "EscalateReferral",
        "AnswerReferral",  # an agency's answer received by phone, on its behalf
        "ReviewBreakGlass",
    }
)
CONTRACTED = frozenset(
    {"RecordOutreachVisit", "RecordSupportActivity", "MatchParticipation", "HoldGathering"}
)
NETWORK = frozenset(
    {
        "RegisterCooperatingBusiness",
        "RegisterCommunityBase",
        "WithdrawCooperatingBusiness",
        "CloseCommunityBase",
    }
)


def _command_types() -> frozenset[str]:
    return frozenset(
        value.__name__
        for value in vars(c).values()
        if isinstance(value, type)
        and issubclass(value, c.Command)
        and value is not c.Command
        and "type" in value.model_fields
    )


ALL_COMMANDS = _command_types()

COMMANDS: dict[Role, frozenset[str]] = {
    Role.partner_reporter: frozenset({"ReportDiscovery"}),
    Role.ward_officer: CASE_WORK,
    Role.coordinator: COORDINATION,
    Role.contractor: CONTRACTED,
    Role.member_agency: frozenset({"AnswerReferral"}),
    Role.auditor: frozenset({"ReviewBreakGlass"}),
    Role.analyst: frozenset(),
    Role.administrator: NETWORK,
    Role.operator: ALL_COMMANDS,
    Role.system: frozenset({"AnswerReferral", "EscalateReferral"}),
}

READS: dict[Role, frozenset[Read]] = {
    Role.partner_reporter: frozenset(),
    Role.ward_officer: frozenset({Read.case, Read.person}),
    Role.coordinator: frozenset(
        {Read.case, Read.person, Read.coordination, Read.indicators, Read.review}
    ),
    Role.contractor: frozenset({Read.network}),  # to choose a business or base by name
    Role.member_agency: frozenset({Read.inbox, Read.answer}),
    Role.auditor: frozenset({Read.audit, Read.review}),
    Role.analyst: frozenset({Read.indicators}),
    Role.administrator: frozenset({Read.indicators, Read.erasures, Read.network}),
    Role.operator: frozenset(
        {Read.case, Read.person, Read.inbox, Read.coordination, Read.indicators}
    ),
    Role.system: frozenset(),
}

WARD_ROLES = frozenset({Role.ward_officer, Role.coordinator})
REVIEWERS = frozenset({Role.coordinator, Role.auditor})  # break-glass verdicts, each its own
AGENCY_ROLES = frozenset({Role.member_agency, Role.contractor})


class ScopeLookup(Protocol):
    """What the policy must know of the log to place a command in a ward."""

    def ward_of_case(self, case_id: UUID) -> str | None: ...

    def ward_of_agency(self, agency_id: str) -> str | None: ...

    def ward_of_discovery(self, discovery_id: UUID) -> str | None: ...

    def contractor_for(self, field: str) -> str | None:
        """The network's contractor in force for ``field`` (outreach, participation); None
        when the network names none, or several."""
        ...


def _deny(actor: Actor, what: str | Read) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"{actor.role} may not {_phrase(what)}", Refusal(actor.role, _code(what))
    )


def authorize(
    actor: Actor, read: Read, *, ward: str | None = None, agency_id: str | None = None
) -> None:
    """Refuse ``read`` unless the role grants it, within the actor's ward or agency."""
    if read not in READS[actor.role]:
        raise _deny(actor, read)
    _within_scope(actor, wards=[ward] if ward else [], agency_id=agency_id, what=read)


def authorize_command_type(actor: Actor, command_type: str) -> None:
    """Refuse a command type the role never gives, before its body is even read."""
    if command_type not in COMMANDS[actor.role]:
        raise PermissionDeniedError(
            f"{actor.role} may not give {command_type}", Refusal(actor.role, command_type)
        )


def authorize_command(actor: Actor, command: c.Command, lookup: ScopeLookup) -> None:
    """Refuse ``command`` unless the role grants its type, for wards and agencies in scope."""
    name = type(command).__name__
    authorize_command_type(actor, name)
    agency_id = _agency_of(command, lookup)
    if actor.role in AGENCY_ROLES and _speaks_for_an_agency(command) and agency_id is None:
        raise PermissionDeniedError(
            f"{actor.role} may not {name}: the network names no agency it would be recorded for"
        )
    if isinstance(command, c.AnswerReferral):
        _answer_speaks_for_itself(actor, command)
    if actor.role is Role.partner_reporter and isinstance(command, c.ReportDiscovery):
        _reports_in_its_own_name(command)
    reviewer = getattr(command, "reviewer", None)
    if (
        isinstance(command, c.ReviewBreakGlass)
        and actor.role in REVIEWERS
        and reviewer != actor.role
    ):
        raise PermissionDeniedError(
            f"{actor.role} gives the {actor.role}'s verdict, not the {reviewer}'s"
        )
    wards, missing = wards_of(command, lookup)
    _within_scope(actor, wards=wards, agency_id=agency_id, what=name)
    if missing and actor.role in WARD_ROLES | AGENCY_ROLES:
        # A case (or discovery) that does not exist is in no one's scope: refused as another
        # ward's is, after every other check, so that a probe learns nothing of which exist.
        raise outside_scope(actor, name)


def _reports_in_its_own_name(command: c.ReportDiscovery) -> None:
    """A community reporter reports as what it is: a report credited to a member agency
    (``reporter_kind`` agency, ``reporter_agency``) is the agency's or its ward officer's
    to record, or the agency would be counted as having found someone it never saw."""
    if command.reporter_kind == "agency" or command.reporter_agency is not None:
        raise PermissionDeniedError(
            "partner_reporter reports in its own name: not as an agency (reporter_kind "
            "agency, reporter_agency)"
        )


def _answer_speaks_for_itself(actor: Actor, command: c.AnswerReferral) -> None:
    """An answer says who gave it: the agency (its staff, its integrator on the reply
    topic), or the ward's coordinator recording, on the agency's behalf, an answer given by
    phone (``recorded_by``). Neither may pass for the other."""
    if actor.role is Role.coordinator and command.recorded_by is None:
        raise PermissionDeniedError(
            "a coordinator records an agency's answer only on its behalf: give recorded_by "
            f"({actor.ward or '<ward>'}.coordinator)"
        )
    if actor.role in AGENCY_ROLES | {Role.system} and command.recorded_by is not None:
        raise PermissionDeniedError(
            f"{actor.role} answers in its own name; recorded_by is the coordinator's"
        )


def wards_of(command: c.Command, lookup: ScopeLookup) -> tuple[list[str], bool]:
    """Every ward a command touches (its own ward, its cases' and its window's), and whether
    a case or discovery it acts on does not exist. The case a command creates (``OpenCase``)
    is not looked up."""
    wards: list[str | None] = [getattr(command, "ward", None)]
    places: list[str | None] = []  # the wards of the cases and discovery it names
    if isinstance(command, c.ReceiveConsultation) and command.case_id is None:
        wards.append(lookup.ward_of_agency(command.window_agency))
    places.extend(lookup.ward_of_case(case_id) for case_id in _cases_of(command))
    if isinstance(command, c.OpenCase) and command.discovery_id is not None:
        places.append(lookup.ward_of_discovery(command.discovery_id))
    known = [w for w in [*wards, *places] if w is not None]
    return known, None in places


def _cases_of(command: c.Command) -> list[UUID]:
    """The existing cases a command acts on."""
    if isinstance(command, c.OpenCase):
        return []
    if isinstance(command, c.HoldMeeting):
        return list(command.case_ids)
    case_id = getattr(command, "case_id", None)
    return [case_id] if isinstance(case_id, UUID) else []


_SPEAKS_FOR_AN_AGENCY = (
    c.AnswerReferral,
    c.RecordOutreachVisit,
    c.RecordSupportActivity,
    c.MatchParticipation,
)


def _speaks_for_an_agency(command: c.Command) -> bool:
    return isinstance(command, _SPEAKS_FOR_AN_AGENCY)


def _agency_of(command: c.Command, lookup: ScopeLookup) -> str | None:
    """The agency in whose name a command speaks, for roles that act as one agency.

    A visit that names no agency is recorded for the network's outreach contractor in
    force, and a participation match is the participation contractor's work (参加支援), so
    those are the agencies the actor's scope is checked against (never skipped).
    """
    if isinstance(command, c.RecordOutreachVisit) and command.agency_id is None:
        return lookup.contractor_for("outreach")
    if isinstance(command, c.MatchParticipation):
        return lookup.contractor_for("participation")
    if isinstance(command, c.AnswerReferral | c.RecordOutreachVisit | c.RecordSupportActivity):
        return command.agency_id
    return None


def _phrase(what: str | Read) -> str:
    """What a refusal says is refused: a read in words (READ_PHRASES), a command by name."""
    return READ_PHRASES[what] if isinstance(what, Read) else what


def _code(what: str | Read) -> str:
    """A refused read's code (``case``) or a command's type, for ``Refusal``."""
    return what.value if isinstance(what, Read) else what


def outside_scope(actor: Actor, what: str | Read) -> PermissionDeniedError:
    """The one refusal of a ward role outside its ward, and of an agency on a case that is
    not its own. It names neither the other ward or agency nor whether the case exists, so
    that a missing case and another ward's (or agency's) case answer alike (every door
    passes a read as the Read itself, so both say it in the same words)."""
    phrase = _phrase(what)
    if actor.role in AGENCY_ROLES:
        return PermissionDeniedError(
            f"{actor.role} {actor.agency_id} may not {phrase} on a case not its own",
            Refusal(actor.role, _code(what), agency_id=actor.agency_id),
        )
    return PermissionDeniedError(
        f"{actor.role} of {actor.ward} may not {phrase} outside {actor.ward}",
        Refusal(actor.role, _code(what), ward=actor.ward),
    )


def _within_scope(
    actor: Actor, *, wards: Iterable[str], agency_id: str | None, what: str | Read
) -> None:
    phrase = _phrase(what)
    if actor.role in WARD_ROLES:
        if actor.ward is None:
            raise PermissionDeniedError(f"{actor.role} without a ward may not {phrase}")
        if any(w != actor.ward for w in wards):
            raise outside_scope(actor, what)
    if actor.role in AGENCY_ROLES and actor.agency_id is None:
        raise PermissionDeniedError(f"{actor.role} without an agency may not {phrase}")
    if actor.role in AGENCY_ROLES and agency_id is not None and agency_id != actor.agency_id:
        raise PermissionDeniedError(
            f"{actor.role} {actor.agency_id} may not {phrase} for {agency_id}"
        )
