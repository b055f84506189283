"""The contractor's choices of a business or base: grouped by ward, name with kind; one
registered twice under the same name is told apart by its day, not offered as two alike."""

from __future__ import annotations

from datetime import UTC, datetime

from ops.web.partner_choices import choices
from projections.partners import Partner, Partners, listed

WARDS = {"moji": "門司区", "tobata": "戸畑区"}


def at(day: int) -> datetime:
    return datetime(2025, 5, day, 1, 0, tzinfo=UTC)


def test_a_name_registered_twice_in_a_ward_is_told_apart_by_its_day() -> None:
    partners = Partners(
        businesses=[
            Partner("b-1", "試験商店（架空）", "飲食", "tobata", at(1)),
            Partner("b-2", "試験商店（架空）", "飲食", "tobata", at(20)),
            Partner("b-3", "試験商店（架空）", "飲食", "moji", at(2)),
        ],
        bases=[Partner("s-1", "試験サロン（架空）", "salon", "moji", at(3))],
    )
    rows = listed(partners, WARDS)
    assert choices(rows, "business", at(30)) == [
        ("門司区", [("b-3", "試験商店（架空）（飲食）")]),  # alone in its ward: no day
        (
            "戸畑区",
            [
                ("b-1", "試験商店（架空）（飲食）・令和7年5月1日登録"),
                ("b-2", "試験商店（架空）（飲食）・令和7年5月20日登録"),
            ],
        ),
    ]
    assert choices(rows, "base", at(30)) == [("門司区", [("s-1", "試験サロン（架空）（サロン）")])]


def test_a_partner_is_offered_only_from_the_instant_it_was_registered() -> None:
    """The hub refuses a match or a gathering naming a partner before its registration
    (``check_in_network_at``, ``check_open_at``): the form does not offer it before then."""
    partners = Partners(
        businesses=[Partner("b-1", "試験商店（架空）", "飲食", "moji", at(20))],
        bases=[Partner("s-1", "試験サロン（架空）", "salon", "moji", at(20))],
    )
    rows = listed(partners, WARDS)
    assert choices(rows, "business", at(10)) == []
    assert choices(rows, "base", at(10)) == []
    assert choices(rows, "business", at(20)) == [("門司区", [("b-1", "試験商店（架空）（飲食）")])]
