"""Who acts: the principal behind a command or a read of personal data.

Every door maps its caller to an ``Actor``: the HTTP API from the token's claims, the CLI
from the configured operator (``HUB_OPERATOR``), the hub's own processes (the reply
ingester, the acknowledgement timers) as ``system`` subjects naming what they act for.
The log records who acted as subject and role on every event (``hub.events.ActedBy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.errors import InvalidActorError

SUBJECT_MAX_LENGTH = 255


class Role(StrEnum):
    partner_reporter = "partner_reporter"  # 見守り部会 協力会員 etc.: discoveries only
    ward_officer = "ward_officer"  # 区役所: commands for the cases of their ward
    coordinator = "coordinator"  # いのちネット担当係長: meetings, plans, escalations
    contractor = "contractor"  # 抱樸・社協共同企業体: visits, participation
    member_agency = "member_agency"  # its own inbox and answers only
    auditor = "auditor"  # audit, read-only
    analyst = "analyst"  # de-identified indicators only
    administrator = "administrator"  # network changes, provisioning
    operator = "operator"  # the CLI's configured operator
    system = "system"  # the hub's own processes (reply ingester, timers)


@dataclass(frozen=True)
class Actor:
    subject: str
    role: Role
    ward: str | None = None
    agency_id: str | None = None

    def __post_init__(self) -> None:
        subject = self.subject
        if not subject or subject != subject.strip() or len(subject) > SUBJECT_MAX_LENGTH:
            raise InvalidActorError(
                f"an actor needs a subject of 1 to {SUBJECT_MAX_LENGTH} characters "
                "without surrounding spaces"
            )
        if not subject.isprintable():
            raise InvalidActorError("an actor's subject has unprintable characters")
        # A plain str role (e.g. from a claim) is accepted when it names a Role.
        try:
            object.__setattr__(self, "role", Role(self.role))
        except ValueError:
            raise InvalidActorError(f"unknown role {self.role!r}") from None


def operator(subject: str) -> Actor:
    """The CLI's configured operator (``HUB_OPERATOR``)."""
    return Actor(subject, Role.operator)


# Who a command without an actor acts as in development mode when ``HUB_OPERATOR`` is unset
# (and in an application built without the composition root, as tests do). Outside
# development there is no default: such a command is refused (no principal is anonymous).
DEVELOPMENT_OPERATOR = Actor("operator", Role.operator)


def reply_ingester(agency_id: str) -> Actor:
    """The hub applying an answer read from ``replies.<agency_id>``."""
    return Actor(f"system:replies:{agency_id}", Role.system, agency_id=agency_id)


def timer(name: str) -> Actor:
    """A timer of the hub, e.g. ``escalation`` (acknowledgement deadlines)."""
    return Actor(f"system:timer:{name}", Role.system)
