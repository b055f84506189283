"""How event payloads are stored in the log of record: as JSON of the pydantic model."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding
from pydantic import BaseModel

from hub.events import ALL_EVENTS, AgencyRole, IssueByArea, PersonDetails


class PayloadAsJSON(Transcoding):
    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.type = model
        self.name = model.__name__

    def encode(self, obj: BaseModel) -> Any:
        return obj.model_dump(mode="json", exclude_none=True)

    def decode(self, data: Any) -> BaseModel:
        return self.model.model_validate(data)


def register_payloads(transcoder: JSONTranscoder) -> None:
    models: tuple[type[BaseModel], ...] = (*ALL_EVENTS, PersonDetails, IssueByArea, AgencyRole)
    for model in models:
        transcoder.register(PayloadAsJSON(model))
