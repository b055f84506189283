"""``ops.disclosed`` folds the person's details as the relay's governance does. An event the
relay quarantined was folded by it or not (before an encoding failure; never on a rebuild,
``producers.governance.hold``): a value it may have changed is not shown as delivered on a
later basis, so the page shows no value the agency's client may not have received."""

from __future__ import annotations

from typing import Any

from ops.disclosed import CaseEvent, released_values

AGENCY = "tobata.hogo"


def row(event_id: str, *fields: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "fields": list(fields),
        "occurred_at": "2026-04-01T10:00:00+09:00",
        "basis": "consent",
        "basis_ref": "c-1",
        "position": 3,
    }


EVENTS = [
    CaseEvent("e1", "CaseOpened", {"person": {"name": "架空 一郎"}}),
    # Quarantined by the relay (a poison record): governance never folded its details.
    CaseEvent("e2", "PersonDetailsRecorded", {"person": {"name": "架空 二郎"}}),
    # The consent the relay delivered the details on, as they stood in ITS fold.
    CaseEvent("e3", "ConsentGiven", {"consent_id": "c-1"}),
]


def test_a_value_a_quarantined_event_may_have_changed_is_not_shown() -> None:
    """Which name the consent delivered is not known (the relay folded e2 or not): neither
    is shown, the page never showing a value the client may not have received."""
    shown = released_values([row("e3", "person.name")], EVENTS, AGENCY, quarantined={"e2"})
    assert "person.name" not in shown


def test_a_value_a_quarantined_event_left_as_it_was_is_shown() -> None:
    events = [*EVENTS[:1], CaseEvent("e2", "PersonDetailsRecorded", {"person": {"phone": "0"}})]
    shown = released_values(
        [row("e3", "person.name")], [*events, EVENTS[2]], AGENCY, quarantined={"e2"}
    )
    assert shown["person.name"].value == "架空 一郎"


def test_without_a_quarantine_the_details_as_they_stood_at_the_basis_are_shown() -> None:
    shown = released_values([row("e3", "person.name")], EVENTS, AGENCY)
    assert shown["person.name"].value == "架空 二郎"


def test_a_quarantined_clearing_still_empties_what_was_shown() -> None:
    """The stricter reading holds for a notice the relay could not pass either."""
    events = [
        CaseEvent("e1", "CaseOpened", {"person": {"name": "架空 一郎"}}),
        CaseEvent("e2", "ConsentGiven", {"consent_id": "c-1"}),
        CaseEvent("e3", "PersonDetailsCleared", {"fields": ["name"]}),
    ]
    shown = released_values([row("e2", "person.name")], events, AGENCY, quarantined={"e3"})
    assert "person.name" not in shown
