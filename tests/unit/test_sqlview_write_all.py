"""A view's bulk write (``SqlView.write_all``) on SQLite: a row written again takes the place
of the view's in the insert itself where its key is the table's primary key, and every key
read back but not written again loses its rows, as a delete of every key before the insert
would leave them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment

from projections.sqlview import SQLiteView


class PeopleView(SQLiteView):
    APPLICATION = "test"
    TABLES = {  # noqa: RUF012
        "people": "id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (id)",
        "tags": "id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (id, tag)",
        "visits": "ward TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL, "
        "PRIMARY KEY (day, ward)",
    }


@pytest.fixture
def view(tmp_path: Path) -> Iterator[PeopleView]:
    env = Environment(
        "test",
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "v.db")},
    )
    factory = InfrastructureFactory[Any].construct(env=env)
    made = factory.tracking_recorder(PeopleView)
    assert isinstance(made, PeopleView)
    made.start_position()
    yield made


def _tracking(position: int) -> Tracking:
    return Tracking(application_name="test", notification_id=position)


def _rows(view: PeopleView, table: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(row.values()) for row in view.query(f"SELECT * FROM {{{table}}}"))


def test_rows_read_back_are_replaced_and_a_key_not_written_again_is_deleted(
    view: PeopleView,
) -> None:
    people = ("id", "name")
    view.write_all({"people": (people, [("p1", "試験 一"), ("p2", "試験 二")])}, _tracking(1), 0)
    view.write_all(
        {"people": (people, [("p1", "架空 一"), ("p3", "試験 三")])},
        _tracking(2),
        1,
        replaced={"people": (("id",), [("p1",), ("p2",)])},
    )
    assert _rows(view, "people") == [("p1", "架空 一"), ("p3", "試験 三")]


def test_a_key_naming_several_rows_loses_them_all_before_the_insert(view: PeopleView) -> None:
    tags = ("id", "tag")
    view.write_all({"tags": (tags, [("p1", "a"), ("p1", "b"), ("p2", "a")])}, _tracking(1), 0)
    view.write_all(
        {"tags": (tags, [("p1", "c")])},
        _tracking(2),
        1,
        replaced={"tags": (("id",), [("p1",)])},
    )
    assert _rows(view, "tags") == [("p1", "c"), ("p2", "a")]


def test_a_key_in_another_order_than_the_primary_key_is_deleted_first(
    view: PeopleView,
) -> None:
    visits = ("ward", "day", "n")
    view.write_all(
        {"visits": (visits, [("門司区", "2025-04-01", 1), ("小倉北区", "2025-04-01", 2)])},
        _tracking(1),
        0,
    )
    view.write_all(
        {"visits": (visits, [("門司区", "2025-04-01", 5)])},
        _tracking(2),
        1,
        replaced={
            "visits": (("ward", "day"), [("門司区", "2025-04-01"), ("小倉北区", "2025-04-01")])
        },
    )
    assert _rows(view, "visits") == [("門司区", "2025-04-01", 5)]


def test_a_second_row_for_a_key_not_read_back_is_still_refused(view: PeopleView) -> None:
    """``OR REPLACE`` only where the write replaces keys: a first write inserts plainly."""
    people = ("id", "name")
    view.write_all({"people": (people, [("p1", "試験 一")])}, _tracking(1), 0)
    with pytest.raises(Exception, match="UNIQUE"):
        view.write_all({"people": (people, [("p1", "架空 一")])}, _tracking(2), 1)
    assert _rows(view, "people") == [("p1", "試験 一")]
