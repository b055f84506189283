"""The 本人開示 use case: read the person's details (the read recorded in the access log),
replay the case's history and the relay's ledger, and build the report."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hub import events as ev
from hub.application import HubApplication
from hub.fiscal import now
from hub.identity import Actor
from hub.labels import names
from projections.audit.history import replay
from projections.audit.source import log_entries
from projections.audit.subject import SubjectReport, build
from projections.audit.verify import Disclosure


def subject_report(
    app: HubApplication,
    case_id: UUID,
    disclosures: list[Disclosure],
    *,
    actor: Actor | None = None,
    ledger_position: int | None = None,
) -> SubjectReport:
    """The report for the person of ``case_id``; their details are shown on the city's
    official duty for the person's own request, and that read goes on the access log."""
    reported = reported_details(app, case_id)
    otherwise = reported_otherwise(app, case_id)
    # Shown too: in the same access record.
    also = [f"person.{k}" for k in {**reported, **otherwise}]
    person = app.read_person(case_id, actor, "official_duty", "person_request", also=also)
    case = app.get_case(case_id)
    held = person.model_dump(mode="json", exclude_none=True) if person else {}
    history = replay(log_entries(app))
    return build(
        history,
        disclosures,
        str(case_id),
        {**reported, **held} or None,
        names(app.network),
        now(),
        erased_all=case.erased,
        ledger_position=ledger_position,
        discoveries=[str(d) for d in case.discovery_ids],
        reported_otherwise=otherwise,
    )


def reported_details(app: HubApplication, case_id: UUID) -> dict[str, Any]:
    """The person's details the reports of the discoveries the case was opened from hold and
    the case itself does not (the hub holds them, under the discovery's key, and erases them
    with the case); none once the person is erased."""
    held = _held_on_case(app, case_id)
    found: dict[str, Any] = {}
    for details in _reports(app, case_id):
        found.update({k: v for k, v in details.items() if k not in held and k not in found})
    return found


def reported_otherwise(app: HubApplication, case_id: UUID) -> dict[str, Any]:
    """The details a report holds other than the case holds them (an officer corrected the
    report's name on the case): the hub holds both, so the person is shown both."""
    held = _held_on_case(app, case_id)
    found: dict[str, Any] = {}
    for details in _reports(app, case_id):
        found.update(
            {k: v for k, v in details.items() if k in held and held[k] != v and k not in found}
        )
    return found


def _held_on_case(app: HubApplication, case_id: UUID) -> dict[str, Any]:
    person = app.get_case(case_id).person
    return person.model_dump(mode="json", exclude_none=True) if person else {}


def _reports(app: HubApplication, case_id: UUID) -> list[dict[str, Any]]:
    """The person's details each report of the case's discoveries holds; none once the
    person is erased."""
    case = app.get_case(case_id)
    if case.erased:
        return []
    found = []
    for discovery_id in case.discovery_ids:
        report = next(iter(app.events.get(discovery_id))).payload  # type: ignore[attr-defined]
        if isinstance(report, ev.DiscoveryReported) and report.person is not None:
            found.append(report.person.model_dump(mode="json", exclude_none=True))
    return found
