"""アクセス記録: each read of a person's details and each 名寄せ search through the hub, one
small aggregate each."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from hub import events as ev


class AccessRecord(Aggregate):
    """One read; a new aggregate per read, so concurrent reads never conflict."""

    @staticmethod
    def create_id(payload: ev.PersonalDataAccessed) -> UUID:
        return payload.access_id

    @event("PersonalDataAccessed")
    def __init__(self, payload: ev.PersonalDataAccessed) -> None:
        self.case_id = payload.case_id


class SearchRecord(Aggregate):
    """One 名寄せ search; a new aggregate per search, like a read."""

    @staticmethod
    def create_id(payload: ev.PeopleSearched) -> UUID:
        return payload.search_id

    @event("PeopleSearched")
    def __init__(self, payload: ev.PeopleSearched) -> None:
        self.ward = payload.ward
