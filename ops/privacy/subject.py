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
    reported, otherwise = report_details(app, case_id)
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
    return report_details(app, case_id)[0]


def report_details(app: HubApplication, case_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the reports of the case's discoveries hold of the person: the details the case
    does not hold (``reported_details``), and those it holds otherwise (an officer corrected
    the report's name on the case: the hub holds both, so the person is shown both). Both
    empty once the person is erased."""
    case = app.get_case(case_id)
    if case.erased:
        return {}, {}
    held = case.person.model_dump(mode="json", exclude_none=True) if case.person else {}
    only: dict[str, Any] = {}
    otherwise: dict[str, Any] = {}
    cleared = _cleared(app, case_id) if case.discovery_ids else set()
    for discovery_id in case.discovery_ids:
        report = next(iter(app.events.get(discovery_id))).payload  # type: ignore[attr-defined]
        if not isinstance(report, ev.DiscoveryReported) or report.person is None:
            continue
        for k, v in report.person.model_dump(mode="json", exclude_none=True).items():
            if k not in held and k not in cleared:
                only.setdefault(k, v)
            elif held.get(k) != v:
                otherwise.setdefault(k, v)
    return only, otherwise


def _cleared(app: HubApplication, case_id: UUID) -> set[str]:
    """The details the case emptied (訂正 by deletion) and holds none of since: a report's
    value of one is the report's, not the case's."""
    cleared: set[str] = set()
    for stored in app.events.get(case_id):
        payload = stored.payload  # type: ignore[attr-defined]
        if isinstance(payload, ev.PersonDetailsCleared):
            cleared.update(payload.fields)
        elif isinstance(payload, ev.PersonDetailsRecorded):
            cleared -= set(payload.person.model_dump(exclude_none=True))
    return cleared
