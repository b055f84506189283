"""README: codes are shown by their Japanese labels, and every coded field `x` has `x_label`.
So every code a command, an event or a view can hold has a label in hub.labels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

import projections.case_state
from hub import vocabulary as v
from hub.labels import VOCABULARY, label, names
from hub.reference import load_network
from ops.cli.agency import _basis_text

LITERALS = {
    "urgency": v.Urgency,
    "reporter_kind": v.ReporterKind,
    "sign": v.Sign,
    "channel": v.Channel,
    "need": v.Need,
    "complexity": v.Complexity,
    "purpose": v.Purpose,
    "data_category": v.DataCategory,
    "reviewer": v.Reviewer,
    "review_verdict": v.ReviewVerdict,
    "referral_status": v.ReferralAnswer,
    "outcome": v.Outcome,
    "cancel_reason": v.CancelReason,
    "decline_reason": v.DeclineReason,
    "meeting_kind": v.MeetingKind,
    "visit_outcome": v.VisitOutcome,
    "activity_kind": v.ActivityKind,
    "place_kind": v.PlaceKind,
    "watch_frequency": v.WatchFrequency,
    "base_kind": v.BaseKind,
    "evaluation": v.Evaluation,
    "case_status": v.CaseStatus,
    "access_basis": v.AccessBasis,
    "access_purpose": v.AccessPurpose,
}


@pytest.mark.parametrize("vocabulary", sorted(LITERALS))
def test_every_code_of_a_vocabulary_has_a_label(vocabulary: str) -> None:
    missing = set(get_args(LITERALS[vocabulary])) - set(VOCABULARY[vocabulary])
    assert not missing, f"{vocabulary}: no label for {sorted(missing)}"


def test_every_state_the_case_view_writes_has_a_label() -> None:
    """The codes the case state view writes itself (a referral sent or cancelled, a consent
    withdrawn or stopped by 利用停止, a case in support) are shown with labels too."""
    source = Path(projections.case_state.__file__).read_text(encoding="utf-8")
    written = {
        "consent_state": set(re.findall(r"\bstate = '([a-z_]+)'", source)),
        "referral_status": {"sent", *re.findall(r"SET status = '([a-z_]+)'", source)}
        - set(get_args(v.CaseStatus)),
        "case_status": set(re.findall(r"\"status = '([a-z_]+)'", source)),
    }
    assert "stopped" in written["consent_state"] and "cancelled" in written["referral_status"]
    for vocabulary, codes in written.items():
        missing = codes - set(VOCABULARY[vocabulary])
        assert not missing, f"{vocabulary}: no label for {sorted(missing)}"


def test_every_group_a_consent_scope_may_name_is_named_in_japanese() -> None:
    """A scope lists agencies and groups of them (``ward_windows``, ``ward:tobata``): each is
    shown by a Japanese name, never by its code, on the case page and in the outputs."""
    network = load_network()
    shown = names()
    for group in sorted(network.group_names):
        name = shown.agency(group)
        assert name != group and not name.isascii(), group
    assert shown.agency("ward:tobata") == "戸畑区の支援機関"
    assert shown.agency("tobata.houkatsu") == "戸畑区 地域包括支援センター"
    assert shown.agency("not-in-the-network") == "not-in-the-network"


def test_an_agency_records_list_of_bases_is_shown_by_their_labels() -> None:
    # A record released on two bases carries `basis: consent,support_meeting`: the agency's
    # inbox table showed that code, and only the first reference of `basis_ref`.
    assert label("basis", "consent,support_meeting") == (
        f"{VOCABULARY['basis']['consent']}、{VOCABULARY['basis']['support_meeting']}"
    )
    disclosure = {
        "basis": "consent,support_meeting",
        "basis_ref": "9fe003ec-0000-5000-8000-000000000001,74efcfe5-0000-5000-8000-000000000002",
        "disclosed": {"person.name": "試験 花子"},
        "withheld": [],
    }
    shown = _basis_text({"disclosures": [disclosure]})
    assert "consent" not in shown and "support_meeting" not in shown
    assert "9fe003ec" in shown and "74efcfe5" in shown


def test_every_event_of_the_log_has_a_japanese_label() -> None:
    """A case's history (`hub case show`, the case page) names each event in Japanese."""
    from hub.events import EVENTS_BY_NAME

    missing = [name for name in EVENTS_BY_NAME if name not in VOCABULARY["event_type"]]
    assert not missing, missing
    assert not [t for t in VOCABULARY["event_type"].values() if t.isascii()]


def test_every_personal_field_of_the_events_has_a_japanese_name() -> None:
    """The leak report and the subject report name each personal field in Japanese:
    `sensitive_reason` was printed as itself."""
    from hub.events import ALL_EVENTS
    from hub.sealing import personal_spec
    from ops.cli.privacy import FIELD_NAMES

    def leaves(spec: dict[str, object]) -> set[str]:
        found: set[str] = set()
        for name, sub in spec.items():
            found |= leaves(sub) if isinstance(sub, dict) and sub else {name}
        return found

    unnamed = {
        f"{model.__name__}.{leaf}"
        for model in ALL_EVENTS
        for leaf in leaves(personal_spec(model))  # type: ignore[arg-type]
        if leaf not in FIELD_NAMES
    }
    assert not unnamed, unnamed
