"""Property: over random histories, an agency gets a personal field iff a basis is in force.

The oracle below re-reads the log prefix directly, rule by rule, without the governance
state: it is a second, simpler statement of DOMAIN.md's rules, not the same code.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import events as ev
from hub.reference import load_network
from hub.vocabulary import SENSITIVE_CATEGORIES
from producers.governance import GovernanceState, LoggedEvent, decide
from tests.unit.governance_log import (
    Log,
    at,
    consent,
    details,
    emergency,
    ended,
    ident,
    referral,
    taken_up,
    withdrawn,
)

CASE = ident("property-case")
AGENCIES = ["moji.houkatsu", "moji.hoken", "moji.inochinet", "kokurakita.houkatsu"]
SCOPES = [*AGENCIES, "ward:moji", "ward_windows", "ward:tobata"]
CATEGORIES = ["identity", "contact", "narrative", "health", "disability"]
PURPOSES = ["consultation", "outreach", "emergency_response"]
PERSON_FIELDS = {
    "name": "identity",
    "address": "contact",
    "health": "health",
    "disability": "disability",
}


def _some(items: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=1, max_size=3, unique=True)


@st.composite
def histories(draw: st.DrawFn) -> Log:
    log = Log()
    hours = 0.0
    consents: list[str] = []
    emergencies: list[str] = []
    referrals: list[ev.ReferralMade] = []
    for n in range(draw(st.integers(min_value=1, max_value=25))):
        hours += draw(st.sampled_from([0.0, 0.5, 2.0, 24.0]))
        kind = draw(
            st.sampled_from(
                [
                    *("consent", "withdraw", "meeting", "emergency", "end", "referral"),
                    *("answer", "move", "stop", "details", "details", "details"),
                ]
            )
        )
        label = f"x{n}"
        if kind == "consent":
            log.add(
                consent(
                    CASE,
                    hours,
                    draw(_some(SCOPES)),
                    draw(_some(CATEGORIES)),
                    purposes=draw(_some(PURPOSES)),
                    until=hours + draw(st.sampled_from([1.0, 30.0, 1000.0])),
                    label=label,
                )
            )
            consents.append(label)
        elif kind == "withdraw" and consents:
            label = draw(st.sampled_from(consents))
            consents.remove(label)
            log.add(withdrawn(CASE, hours, label=label))
        elif kind == "stop":
            log.add(
                ev.UseStopRequested(
                    occurred_at=at(hours), case_id=CASE, request_id=ident(f"{CASE}/{label}")
                )
            )
        elif kind == "move":
            log.add(
                ev.MovedToSupportMeeting(
                    occurred_at=at(hours), case_id=CASE, consent_id=ident(f"{CASE}/{label}")
                )
            )
        elif kind == "meeting":
            meeting_kind = draw(st.sampled_from(["connection", "support"]))
            log.add(taken_up(CASE, hours, draw(_some(AGENCIES)), meeting_kind, label=label))
        elif kind == "emergency":
            until = hours + draw(st.sampled_from([1.0, 30.0]))
            glass = draw(st.sampled_from([[], [], ["health"], ["health", "disability"]]))
            log.add(
                emergency(
                    CASE,
                    hours,
                    draw(_some(AGENCIES)),
                    draw(_some(CATEGORIES)),
                    until,
                    label,
                    sensitive=glass,
                )
            )
            emergencies.append(label)
        elif kind == "end" and emergencies:
            label = draw(st.sampled_from(emergencies))
            emergencies.remove(label)
            log.add(ended(CASE, hours, label=label))
        elif kind == "referral":
            statute = draw(st.sampled_from([None, None, "児童虐待防止法 第6条"]))
            made = referral(
                CASE,
                draw(st.sampled_from(AGENCIES)),
                hours,
                purpose=draw(st.sampled_from(PURPOSES)),
                statute=statute,
                label=label,
            )
            log.add(made)
            referrals.append(made)
        elif kind == "answer" and referrals:
            made = draw(st.sampled_from(referrals))
            answer = draw(st.sampled_from(["received", "declined", "completed"]))
            if answer != "received":
                referrals.remove(made)  # the domain allows no answer after these
            log.add(
                ev.ReferralAnswered(
                    occurred_at=at(hours),
                    case_id=CASE,
                    referral_id=made.referral_id,
                    agency_id=made.agency_id,
                    answer=answer,  # type: ignore[arg-type]
                )
            )
        else:
            log.add(
                details(CASE, hours).model_copy(
                    update={
                        "person": ev.PersonDetails(
                            name="試験 太郎",
                            address="北九州市架空町9-9",
                            health="架空",
                            disability="架空",
                        )
                    }
                )
            )
    return log


def _oracle_basis(prefix: list[LoggedEvent], agency: str, category: str, t: datetime) -> bool:
    """Whether some basis allows ``category`` to ``agency`` at ``t``, from the raw prefix."""
    payloads = [e.payload for e in prefix]
    network = load_network()
    referred = [p for p in payloads if isinstance(p, ev.ReferralMade) and p.agency_id == agency]
    named = [p for p in payloads if isinstance(p, ev.EmergencyDeclared) and agency in p.agencies]
    closed = {
        p.referral_id
        for p in payloads
        if isinstance(p, ev.ReferralAnswered) and p.answer in ("declined", "completed")
    }
    # A consent serves the purposes the agency still holds the case for: not an ended referral's.
    held = {p.purpose for p in referred if p.referral_id not in closed}
    ended_ids = {p.declaration_id for p in payloads if isinstance(p, ev.EmergencyEnded)}
    # Emergency response is a purpose while a declaration naming the agency is in force.
    responding = [p for p in named if p.declaration_id not in ended_ids and t < p.expires_at]
    purposes = held | ({"emergency_response"} if responding else set())
    withdrawn_ids = {p.consent_id for p in payloads if isinstance(p, ev.ConsentWithdrawn)}
    # 利用停止: a request stops every consent given before it (not one given after).
    stops = [i for i, p in enumerate(payloads) if isinstance(p, ev.UseStopRequested)]
    for i, p in enumerate(payloads):
        if (
            isinstance(p, ev.ConsentGiven)
            and p.consent_id not in withdrawn_ids
            and not any(s > i for s in stops)
            and p.valid_from <= t < p.valid_until
            and agency in network.agencies_in_scope(p.scope)
            and category in p.data_categories
            and purposes & set(p.purposes)
        ):
            return True
    moves = [i for i, p in enumerate(payloads) if isinstance(p, ev.MovedToSupportMeeting)]
    since_move = payloads[moves[-1] + 1 :] if moves else payloads
    if any(
        isinstance(p, ev.TakenUpByMeeting) and p.kind == "connection" and agency in p.members
        for p in since_move
    ):
        return True
    if category in ("identity", "contact") and any(
        r.statute and r.referral_id not in closed for r in referred
    ):
        return True
    # Break-glass: a sensitive category only when the declaration names it as such.
    return any(
        p.declaration_id not in ended_ids
        and t < p.expires_at
        and (
            category in p.sensitive_categories
            if category in SENSITIVE_CATEGORIES
            else category in p.data_categories
        )
        for p in named
    )


def _involved(prefix: list[LoggedEvent]) -> set[str]:
    found: set[str] = set()
    for e in prefix:
        p = e.payload
        if isinstance(p, ev.ReferralMade):
            found.add(p.agency_id)
        elif isinstance(p, ev.TakenUpByMeeting):
            found.update(p.members)
        elif isinstance(p, ev.EmergencyDeclared):
            found.update(p.agencies)
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_no_personal_field_reaches_an_agency_without_a_basis_at_that_point(log: Log) -> None:
    state = GovernanceState()
    for i, event in enumerate(log.events):
        decision = decide(state, event)
        prefix = log.events[: i + 1]
        assert {r.agency_id for r in decision.agencies} == _involved(prefix)
        if not isinstance(event.payload, ev.PersonDetailsRecorded):
            continue
        disclosed = {(d["agency_id"], f) for d in decision.disclosures for f in d["fields"]}
        for sent in decision.agencies:
            person = sent.record["person"]
            for field, category in PERSON_FIELDS.items():
                allowed = _oracle_basis(prefix, sent.agency_id, category, event.payload.occurred_at)
                assert (person[field] is not None) == allowed, (sent.agency_id, field)
                path = f"person.{field}"
                assert ((sent.agency_id, path) in disclosed) == allowed
