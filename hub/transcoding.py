"""How event payloads are stored in the log of record: as JSON of the pydantic model, with
the personal fields sealed by their data subject's key when a ``Sealer`` is given
(``hub.sealing``; the application gives one unless told not to)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding
from pydantic import BaseModel

from hub.events import (
    ALL_EVENTS,
    AgencyRole,
    DiscoveryErased,
    IssueByArea,
    PersonDetails,
    PersonErased,
)
from hub.sealing import Sealer


class PayloadAsJSON(Transcoding):
    def __init__(self, model: type[BaseModel], sealer: Sealer | None = None) -> None:
        self.model = model
        self.type = model
        self.name = model.__name__
        self.sealer = sealer

    def encode(self, obj: BaseModel) -> Any:
        data = obj.model_dump(mode="json", exclude_none=True)
        if self.sealer is not None:
            return self.sealer.seal(self.model, data)
        return data

    def decode(self, data: Any) -> BaseModel:
        if self.sealer is None:
            return self.model.model_validate(data)
        erased = self.sealer.unseal(self.model, data)
        record = self.model.model_validate(data)
        if erased:
            record._erased = erased  # type: ignore[attr-defined]
        if isinstance(record, PersonErased):  # destroyed by another process: unusable here too
            for subject in record.subjects:
                self.sealer.keys.forget(subject)
        elif isinstance(record, DiscoveryErased):
            self.sealer.keys.forget(str(record.discovery_id))
        return record


def register_payloads(transcoder: JSONTranscoder, sealer: Sealer | None = None) -> None:
    models: tuple[type[BaseModel], ...] = (*ALL_EVENTS, PersonDetails, IssueByArea, AgencyRole)
    for model in models:
        transcoder.register(PayloadAsJSON(model, sealer))
