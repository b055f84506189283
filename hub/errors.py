"""The hub's error hierarchy. Entry points catch ``HubError`` and print one line."""

from __future__ import annotations

from dataclasses import dataclass


class HubError(Exception):
    """Base of every error the hub reports to a user."""


class ConfigurationError(HubError):
    """Settings or reference data are missing or inconsistent."""


class OutdatedViewError(ConfigurationError):
    """A view written by another release's rules than this one's: read as if current, it
    would show wrong or empty columns, and catching it up would mix two rules' rows."""


class DataKeyUnavailableError(ConfigurationError):
    """A person's data key is missing from the store or does not unwrap with this HUB_KEK."""


class InsecurePermissionsError(ConfigurationError):
    """A private key others may read or change, or a folder of personal data others may
    write to, by its mode (``hub.permissions``): refused outside development."""


class InsecureSecretError(ConfigurationError):
    """Outside development mode a secret is missing or still its public default."""


class ServiceUnavailableError(HubError):
    """A service the hub needs (store, broker) cannot be reached."""


class StoreUnavailableError(ServiceUnavailableError):
    """The log of record cannot be reached; nothing was written."""


class ChainBrokenError(StoreUnavailableError):
    """The head of the log's hash chain is not a link the hub wrote (the store edited by
    hand?): nothing is written after it until someone has looked (``hub audit verify-log``)."""


class PasswordRefusedError(StoreUnavailableError):
    """PostgreSQL refused the hub's role its password: a setting to correct, not a service
    to start (``hub services up postgres`` changes no existing role's password outside
    development mode)."""

    @classmethod
    def of(cls, user: str, host: str, port: int, dbname: str) -> PasswordRefusedError:
        return cls(
            f"PostgreSQL at {host}:{port}/{dbname} refused the password of role {user}: "
            "check HUB_POSTGRES_PASSWORD (the role's password is its administrator's)"
        )


# The words of a refused login (SQLSTATE 28P01 reaches psycopg without its code): libpq's
# own, and the server's in English and in Japanese, the language a server set up on a
# Japanese machine answers in (its lc_messages; PostgreSQL's ja catalog).
_REFUSED_LOGIN = (
    "password authentication failed",
    "no password supplied",
    "のパスワード認証に失敗しました",
)


def password_refused(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is PostgreSQL refusing a login's password."""
    seen: BaseException | None = error
    while seen is not None:
        if any(words in str(seen) for words in _REFUSED_LOGIN):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def database_missing(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is PostgreSQL saying the database named does
    not exist (SQLSTATE 3D000, which reaches psycopg at connect time without its code)."""
    seen: BaseException | None = error
    while seen is not None:
        text = str(seen)
        if ('database "' in text and "does not exist" in text) or (
            "データベース" in text and "存在しません" in text
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# SQLite's primary result codes that say the machine, not the hub, is at fault; each one's
# meaning for whoever runs the hub (https://sqlite.org/rescode.html).
_SQLITE_MEANING = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the store or its folder is read-only",
    "SQLITE_CANTOPEN": "the store's file cannot be opened",
    "SQLITE_IOERR": "the disk failed to read or write",
    "SQLITE_PERM": "permission denied",
    "SQLITE_BUSY": "another process holds the store's lock",
    "SQLITE_LOCKED": "another process holds the store's lock",
    "SQLITE_CORRUPT": "the store's file is damaged",
    "SQLITE_NOTADB": "the file is not a SQLite store",
}


def sqlite_cause(error: BaseException) -> tuple[str, str] | None:
    """The SQLite result code behind ``error`` (itself, or what it was raised from) and its
    meaning, when it is one of the machine's faults above; else None. The code is a fixed
    name, never the message (which may quote a stored value)."""
    seen: BaseException | None = error
    for _ in range(8):  # a chain of causes; a few links at most
        if seen is None:
            return None
        name = getattr(seen, "sqlite_errorname", None)
        if isinstance(name, str):
            primary = "_".join(name.split("_")[:2])
            meaning = _SQLITE_MEANING.get(primary)
            return (name, meaning) if meaning is not None else None
        seen = seen.__cause__ or seen.__context__
    return None


def store_failure(error: BaseException) -> str:
    """How a failed store call is named in an error line: the exception's type, and the
    SQLite code and its meaning when SQLite gave one (``OperationalError: SQLITE_FULL, the
    disk is full``)."""
    found = sqlite_cause(error)
    if found is None:
        return type(error).__name__
    return f"{type(error).__name__}: {found[0]}, {found[1]}"


def named(error: BaseException) -> str:
    """``<ErrorName>: <message>``, once: some messages begin with their error's name already
    (``IdempotencyConflictError: command_id … was already used``)."""
    name = type(error).__name__
    text = str(error)
    return text if text.startswith(f"{name}:") else f"{name}: {text}"


class ErasureIncompleteError(ServiceUnavailableError):
    """A data key is destroyed in its table, but a reader kept the store's write-ahead log
    from being emptied, so the key's old bytes are still in the store's files."""


class InvalidCommandError(HubError):
    """A command failed validation at the edge; nothing was written."""


class EmptyPeriodError(InvalidCommandError):
    """A filter's period ends before (or as) it starts: it names no instant."""


class InvalidActorError(HubError):
    """An actor without a usable subject or role: no principal is anonymous."""


class DomainError(HubError):
    """A command broke a rule of the domain; nothing was written."""


class UnknownAgencyError(DomainError):
    pass


class NoOutreachContractorError(UnknownAgencyError):
    """The network in force names no single contractor for outreach (伴走型支援) or
    participation (参加支援) to record for."""


class WardMismatchError(DomainError):
    """A command joins things of two wards (a case and another ward's discovery)."""


class NotAConsultationWindowError(DomainError):
    """The agency named as the window does not receive consultations."""


class WardRequiredError(DomainError):
    """A city-wide window opened a case without the person's ward."""


class RetiredAgencyError(UnknownAgencyError):
    """The agency has left the network (retired, or left the council)."""


class InvalidNetworkError(DomainError):
    """A network file is not valid reference data; nothing was written."""


class InvalidNetworkFileError(InvalidNetworkError, InvalidCommandError):
    """The network file itself is bad (missing, unreadable, not JSON, not the format or its
    rules): invalid input, like any bad input file; nothing was written."""


class ReservedAgencyIdError(InvalidNetworkError):
    """An agency id names a Kafka super user or service principal, or is a dotted prefix of
    another agency's id: its user or consumer-group ACLs would reach theirs."""


class UnsupportedNetworkChangeError(DomainError):
    """A network file changes what no network event can change; nothing was written."""


class UnknownWardError(DomainError):
    pass


class UnknownPartnerGroupError(DomainError):
    pass


class CaseNotFoundError(DomainError):
    pass


class CaseClosedError(DomainError):
    pass


class ConsentRequiredError(DomainError):
    pass


class NoConsentToWithdrawError(DomainError):
    pass


class InvalidPeriodError(DomainError):
    pass


class ReferralNotFoundError(DomainError):
    pass


class NotReferredAgencyError(DomainError):
    pass


class CoordinatorNotReferableError(DomainError):
    """A referral to a ward's いのちネット担当 (coordinator): the city itself, which connects
    cases to agencies and is told of their escalations; no agency that takes a case up."""


class NotTheWardCoordinatorError(DomainError):
    """An answer on an agency's behalf names someone other than the case's ward coordinator."""


class IllegalTransitionError(DomainError):
    pass


class PartnerEndedError(IllegalTransitionError):
    """A cooperating business that left the network, or a community base that closed, named
    by a match or a gathering at or after that instant, or ended a second time."""


class CooperatingBusinessWithdrawnError(PartnerEndedError):
    pass


class CommunityBaseClosedError(PartnerEndedError):
    pass


class BeforeReferralError(DomainError):
    """An answer or a cancellation dated before the referral it ends was made: its time
    would count as a response time below zero."""


class MeetingRuleError(DomainError):
    pass


class BasisNotInForceError(DomainError):
    """A read of a person's details claims a basis the case does not hold now (a consent, a
    つながりづくり会議, an emergency or a statutory referral in force)."""


class NothingToClearError(DomainError):
    """Details to empty that the case does not hold (or the person was erased): nothing
    would change, so nothing is recorded."""


class PersonErasedError(DomainError):
    """Details recorded for a person who was erased: they would be sealed under a destroyed
    key and kept as nothing, so nothing is recorded (a person who comes back is a new case)."""


class NotErasedError(DomainError):
    """An erasure confirmation for a case whose person was not erased."""


class NotToldOfCaseError(DomainError):
    """An erasure confirmation from an agency the case was never sent to: it had nothing of
    the person to clear, and its word would count as another agency's."""


class NotFoundError(DomainError):
    pass


class PartnerNotRegisteredError(NotFoundError):
    """A community base or cooperating business no registration on the log names (a match,
    a gathering): still a NotFoundError (404), named so that a door tells it by type."""


class CommunityBaseNotRegisteredError(PartnerNotRegisteredError):
    pass


class CooperatingBusinessNotRegisteredError(PartnerNotRegisteredError):
    pass


class DiscoveryOfACaseError(DomainError):
    """An erasure of a discovery linked to a case: the case is erased instead, and that
    erasure destroys the discovery's key too."""


class DiscoveryErasedError(DomainError):
    """A case opened from a discovery that was erased: nothing of the report is left to
    open it from, and linking it would tie a case to details already destroyed."""


class UnknownEmergencyError(DomainError):
    """A break-glass verdict on a declaration the reviewer has no review of: none by that id,
    one that named no sensitive data, or another ward's (they answer alike)."""


class AlreadyReviewedError(DomainError):
    """A break-glass verdict from a reviewer whose verdict already stands (given after the
    declaration's last sensitive disclosure): nothing to review until a disclosure reopens it."""


class IdempotencyConflictError(DomainError):
    """A command id already applied to a command with different content; nothing written."""


class ConcurrentChangeError(HubError):
    """Someone else changed the same case first; reload and try again."""


class AuthenticationError(HubError):
    """No credentials, or credentials the hub cannot verify (expired, wrong issuer or key)."""


@dataclass(frozen=True)
class Refusal:
    """What the policy refused, for a door that words it in its own language (the pages).

    ``what`` is a read's code or a command's type; ``ward`` and ``agency_id`` are the
    actor's own, set when the refusal is for a case outside them (never the case's: a
    missing case and another ward's are refused alike)."""

    role: str
    what: str
    ward: str | None = None
    agency_id: str | None = None


class PermissionDeniedError(HubError):
    """The actor's role or scope does not allow this; nothing was read or written."""

    def __init__(self, message: str, refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal


class RelayPositionAheadError(HubError):
    """The relay's stored position is past events its (empty or missing) topics never got."""


class RelayStoreBehindError(HubError):
    """The log of record does not hold what the relay already published (a store restored
    from an older backup): new events would go out at positions agencies hold for others."""


class RelayStateOutOfStepError(HubError):
    """The relay's state was to be stored at a position other than its stored one."""
