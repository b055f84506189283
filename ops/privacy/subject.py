"""The 本人開示 use case: read the person's details (the read recorded in the access log),
replay the case's history and the relay's ledger, and build the report."""

from __future__ import annotations

from uuid import UUID

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
    person = app.read_person(case_id, actor, "official_duty", "person_request")
    erased = bool(getattr(app.get_case(case_id), "erased", False))
    history = replay(log_entries(app))
    return build(
        history,
        disclosures,
        str(case_id),
        person.model_dump(mode="json") if person else None,
        names(app.network),
        now(),
        erased_all=erased,
        ledger_position=ledger_position,
    )
