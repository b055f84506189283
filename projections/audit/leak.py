"""Leak impact: from the records a leaked copy held, who is exposed, which fields, and whether
the city must report to the 個人情報保護委員会.

An administrative organ (行政機関等) must report a leak (漏えい等) and tell the people concerned
when the 委員会規則 says the rights of the people are likely to be harmed (個人情報保護法
第68条第1項, 個人情報の保護に関する法律施行規則 第43条):
1. 要配慮個人情報 is included (one person suffices);
2. data whose misuse may cause property damage;
3. the leak may have been done for an unlawful purpose (unauthorised access, theft, ...);
4. the data of more than 100 people.
Items 2 and 3 are facts about the incident, not about the records: the person running the
assessment states them. What a record exposes is read from the schemas' marks (personal and
sensitive fields), the one definition of "personal" the relay redacts by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.avro_schemas import personal_paths
from hub.codec import schema_definition
from hub.errors import InvalidCommandError
from hub.sealing import ERASED

PEOPLE_THRESHOLD = 100  # 規則第43条第4号: "100人を超える"


@dataclass(frozen=True)
class Exposure:
    """One personal field with a value in one leaked record."""

    person: str  # the case id (or the discovery's, for a discovery without a case)
    path: str
    category: str
    sensitive: bool
    occurred_at: datetime


@dataclass
class PersonImpact:
    person: str
    fields: dict[str, bool] = field(default_factory=dict)  # path → sensitive
    records: int = 0

    @property
    def sensitive(self) -> bool:
        return any(self.fields.values())


@dataclass(frozen=True)
class Threshold:
    item: str
    met: bool
    why: str


@dataclass
class LeakImpact:
    records: int = 0
    people: dict[str, PersonImpact] = field(default_factory=dict)

    def add(self, exposures: Sequence[Exposure]) -> None:
        self.records += 1
        for person in {e.person for e in exposures}:
            self.people.setdefault(person, PersonImpact(person)).records += 1
        for e in exposures:
            impact = self.people[e.person]
            impact.fields[e.path] = impact.fields.get(e.path, False) or e.sensitive

    def thresholds(self, *, unlawful: bool, property_damage: bool) -> list[Threshold]:
        sensitive = [p for p in self.people.values() if p.sensitive]
        return [
            Threshold(
                "第1号 要配慮個人情報",
                bool(sensitive),
                f"{len(sensitive)} people with sensitive fields exposed",
            ),
            Threshold(
                "第2号 財産的被害のおそれ",
                property_damage,
                "stated (--property-damage)" if property_damage else "not stated",
            ),
            Threshold(
                "第3号 不正の目的のおそれ",
                unlawful,
                "stated (--unlawful)" if unlawful else "not stated",
            ),
            Threshold(
                f"第4号 本人の数が{PEOPLE_THRESHOLD}人を超える",
                len(self.people) > PEOPLE_THRESHOLD,
                f"{len(self.people)} people",
            ),
        ]


def exposures(schema: str, record: Mapping[str, Any], occurred_at: datetime) -> list[Exposure]:
    """The personal fields with a value in one record of ``schema``."""
    try:
        marks = personal_paths(schema_definition(schema))
    except KeyError:
        return []
    person = _person(record)
    if person is None:
        return []
    return [
        Exposure(person, ".".join(path), mark["category"], mark["sensitive"], occurred_at)
        for path, mark in marks.items()
        if _has_value(record, path)
    ]


def disclosed_exposures(
    schema: str, person: str, disclosed: Mapping[str, Any], occurred_at: datetime
) -> list[Exposure]:
    """An agency inbox's row: the personal fields it was given, by path."""
    try:
        marks = {".".join(p): m for p, m in personal_paths(schema_definition(schema)).items()}
    except KeyError:
        return []
    return [
        Exposure(person, path, marks[path]["category"], marks[path]["sensitive"], occurred_at)
        for path, value in disclosed.items()
        if value not in _NO_VALUE and path in marks
    ]


def assess(
    records: Iterable[tuple[datetime, list[Exposure]]],
    start: datetime | None,
    end: datetime | None,
) -> LeakImpact:
    """The impact of the records (business time, exposures) whose time is in [start, end)."""
    if start and end and end <= start:
        raise InvalidCommandError("--to must be after --from")
    impact = LeakImpact()
    for at, found in records:
        if _within(at, start, end):
            impact.add(found)
    return impact


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


def _person(record: Mapping[str, Any]) -> str | None:
    for key in ("case_id", "discovery_id"):
        if record.get(key):
            return str(record[key])
    return None


# What a personal field holds once its key is destroyed (hub/sealing.py), or never held.
_NO_VALUE: tuple[Any, ...] = (None, [], "", ERASED, [ERASED])


def _has_value(value: Any, path: tuple[str, ...]) -> bool:
    if not path:
        return value not in _NO_VALUE
    if isinstance(value, list):
        return any(_has_value(item, path) for item in value)
    if isinstance(value, Mapping):
        return _has_value(value.get(path[0]), path[1:])
    return False
