"""``withhold`` and ``deidentify`` copy only what they change (producers/fields.py): their
records are those of a full deep copy edited in place, and the event's record is untouched."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.application import HubApplication
from hub.codec import event_record
from hub.settings import Settings
from producers import deidentify as d
from producers.fields import ACTOR, personal_fields, uuid_fields, withhold
from tests.unit.governance_log import Log
from tests.unit.test_rebuild_decode import seeded

KEY = b"\x01" * 32


def _edit_in_place(record: Any, path: tuple[str, ...], change: Callable[[Any], Any]) -> None:
    # The in-place edit the copies replaced, as the reference.
    if isinstance(record, list):
        for item in record:
            _edit_in_place(item, path, change)
    elif isinstance(record, dict) and record.get(path[0]) is not None:
        if len(path) == 1:
            record[path[0]] = change(record[path[0]])
        else:
            _edit_in_place(record[path[0]], path[1:], change)


def reference_deidentify(record: dict[str, Any], minutes: float | None) -> dict[str, Any]:
    schema = record["event_type"]
    result = copy.deepcopy(record)
    for path in [p for p, _, _ in personal_fields(schema)] + [ACTOR]:
        _edit_in_place(result, path, lambda _: None)
    for path in uuid_fields(schema):
        _edit_in_place(
            result,
            path,
            lambda v: (
                [d.pseudonym(x, KEY) for x in v] if isinstance(v, list) else d.pseudonym(v, KEY)
            ),
        )
    instants, lists, optional = d._shape(schema)
    for name in instants:
        if result.get(name) is not None:
            result[name] = d.jst_day_start(result[name])
    for name in lists:
        if result.get(name) is not None:
            result[name] = []
    for name in optional:
        if name in result and (schema, name) not in d.NEEDED:
            result[name] = None
    result["recorded_at"] = ""
    if "minutes_since_referral" in result or minutes is not None:
        result["minutes_since_referral"] = minutes
    return result


def records(tmp_path: Path) -> list[dict[str, Any]]:
    app = HubApplication(
        env=Settings(store="sqlite", sqlite_path=tmp_path / "h.sqlite").eventsourcing_env()
    )
    found = []
    for n in seeded(app):
        try:
            found.append(event_record(app.mapper.to_domain_event(n)))
        except Exception:
            continue  # the one event its model no longer reads
    return found + [e.record for e in Log().events]


def test_copies_share_nothing_they_change_and_change_nothing_they_share(tmp_path: Path) -> None:
    seen = records(tmp_path)
    assert len({r["event_type"] for r in seen}) >= 8
    for record in seen:
        before = json.dumps(record, sort_keys=True, default=str)
        paths = [p for p, _, _ in personal_fields(record["event_type"])] + [ACTOR]
        expected = copy.deepcopy(record)
        for path in paths:
            _edit_in_place(expected, path, lambda _: None)
        assert withhold(record, paths) == expected
        for minutes in (None, 12.5):
            try:
                want = reference_deidentify(record, minutes)
            except Exception as error:  # an instant at the ends of time: both refuse it
                with pytest.raises(type(error)):
                    d.deidentify(record, KEY, minutes)
                continue
            assert d.deidentify(record, KEY, minutes) == want
        assert json.dumps(record, sort_keys=True, default=str) == before, record["event_type"]


def test_what_is_off_the_paths_is_shared_not_copied(tmp_path: Path) -> None:
    nested = 0
    for record in records(tmp_path):
        result = withhold(record, [ACTOR])
        assert result is not record
        for name, value in record.items():
            if name != ACTOR[0] and isinstance(value, dict | list) and value:
                assert result[name] is value
                nested += 1
    assert nested >= 5
