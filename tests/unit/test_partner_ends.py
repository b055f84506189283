"""A cooperating business that leaves the network (WithdrawCooperatingBusiness →
CooperatingBusinessWithdrawn) and a community base that closes (CloseCommunityBase →
CommunityBaseClosed): the administrator's acts; table ④ counts them no more from that day;
no match or gathering names them from then; the list says when."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from hub import commands as c
from hub import events as ev
from hub.application import HubApplication
from hub.errors import (
    IllegalTransitionError,
    NotFoundError,
    PartnerEndedError,
    PermissionDeniedError,
)
from hub.identity import Actor, Role
from hub.labels import names
from hub.policy import authorize_command_type
from ops.web.partner_choices import choices
from projections import report
from projections.audit.source import log_entries
from projections.indicators import Cut, MemoryIndicators
from projections.partners import Partners, listed, partners_of
from tests import factories as f

REGISTERED = datetime(2025, 5, 1, 0, 0, tzinfo=UTC)  # 09:00 JST
ENDED = datetime(2025, 8, 10, 1, 0, tzinfo=UTC)  # 10 August, 10:00 JST
BUSINESSES = "参加支援事業の②協力事業者数"
BASES = "地域づくり事業の①拠点数"


@pytest.fixture
def app() -> HubApplication:
    return HubApplication()


def a_business(app: HubApplication, ward: str | None = "tobata") -> UUID:
    business_id = uuid4()
    app.execute(
        c.RegisterCooperatingBusiness(
            command_id=uuid4(),
            occurred_at=REGISTERED,
            business_id=business_id,
            name="試験商店（架空）",
            kind="飲食",
            ward=ward,
        )
    )
    return business_id


def a_base(app: HubApplication) -> UUID:
    base_id = uuid4()
    app.execute(
        c.RegisterCommunityBase(
            command_id=uuid4(),
            occurred_at=REGISTERED,
            base_id=base_id,
            name="試験サロン（架空）",
            kind="salon",
            ward="moji",
        )
    )
    return base_id


def withdraw(business_id: UUID, at: datetime = ENDED) -> c.WithdrawCooperatingBusiness:
    return c.WithdrawCooperatingBusiness(
        command_id=uuid4(), occurred_at=at, business_id=business_id
    )


def close(base_id: UUID, at: datetime = ENDED) -> c.CloseCommunityBase:
    return c.CloseCommunityBase(command_id=uuid4(), occurred_at=at, base_id=base_id)


def payloads(app: HubApplication, aggregate_id: UUID) -> list[ev.Event]:
    return [e.payload for e in app.events.get(aggregate_id)]  # type: ignore[attr-defined]


def test_a_withdrawal_and_a_closure_carry_the_partners_own_ward(app: HubApplication) -> None:
    business_id, whole_city, base_id = a_business(app), a_business(app, None), a_base(app)
    app.execute(withdraw(business_id))
    app.execute(withdraw(whole_city))
    app.execute(close(base_id))
    (left,) = [
        p for p in payloads(app, business_id) if isinstance(p, ev.CooperatingBusinessWithdrawn)
    ]
    assert (left.business_id, left.ward, left.occurred_at) == (business_id, "tobata", ENDED)
    (left,) = [
        p for p in payloads(app, whole_city) if isinstance(p, ev.CooperatingBusinessWithdrawn)
    ]
    assert left.ward is None
    (closed,) = [p for p in payloads(app, base_id) if isinstance(p, ev.CommunityBaseClosed)]
    assert (closed.base_id, closed.ward) == (base_id, "moji")


def test_an_end_is_recorded_once_never_before_the_registration_nor_for_nothing(
    app: HubApplication,
) -> None:
    business_id, base_id = a_business(app), a_base(app)
    early = REGISTERED - timedelta(days=1)
    with pytest.raises(IllegalTransitionError, match="before it was registered"):
        app.execute(withdraw(business_id, early))
    with pytest.raises(IllegalTransitionError, match="before it was registered"):
        app.execute(close(base_id, early))
    app.execute(withdraw(business_id))
    app.execute(close(base_id))
    with pytest.raises(PartnerEndedError, match="already"):
        app.execute(withdraw(business_id, ENDED + timedelta(days=1)))
    with pytest.raises(PartnerEndedError, match="already"):
        app.execute(close(base_id, ENDED + timedelta(days=1)))
    with pytest.raises(NotFoundError, match="no cooperating business"):
        app.execute(withdraw(uuid4()))
    with pytest.raises(NotFoundError, match="no community base"):
        app.execute(close(uuid4()))


def test_no_match_or_gathering_names_a_partner_from_its_end_on(app: HubApplication) -> None:
    business_id, base_id = a_business(app), a_base(app)
    case = f.open_case(ward="tobata")
    app.execute(case)
    app.execute(withdraw(business_id))
    app.execute(close(base_id))

    def match(at: datetime, **place: UUID) -> c.MatchParticipation:
        return c.MatchParticipation(
            command_id=uuid4(), occurred_at=at, case_id=case.case_id, place_kind="work", **place
        )

    def gathering(at: datetime) -> c.HoldGathering:
        return c.HoldGathering(command_id=uuid4(), occurred_at=at, base_id=base_id, participants=3)

    before = ENDED - timedelta(minutes=1)  # entered late, for a day it was still in
    app.execute(match(before, business_id=business_id))
    app.execute(gathering(before))
    with pytest.raises(PartnerEndedError, match="cooperating business"):
        app.execute(match(ENDED, business_id=business_id))
    with pytest.raises(PartnerEndedError, match="community base"):
        app.execute(match(ENDED, base_id=base_id))
    with pytest.raises(PartnerEndedError, match="community base"):
        app.execute(gathering(ENDED + timedelta(days=3)))


def test_only_the_administrator_records_an_end() -> None:
    for command in ("WithdrawCooperatingBusiness", "CloseCommunityBase"):
        authorize_command_type(Actor("admin-試験", Role.administrator), command)
        for role in (Role.contractor, Role.ward_officer, Role.coordinator, Role.partner_reporter):
            with pytest.raises(PermissionDeniedError):
                authorize_command_type(Actor("試験", role), command)


def test_table_4_counts_a_partner_up_to_the_day_before_its_end(app: HubApplication) -> None:
    business_id, base_id = a_business(app), a_base(app)
    a_business(app, None)  # stays, in no ward
    app.execute(withdraw(business_id))
    app.execute(close(base_id))
    memory = MemoryIndicators.empty()
    for entry in log_entries(app):
        memory.apply(type(entry.payload).__name__, entry.payload.model_dump(mode="json"))

    def value(indicator: str, until: date, by: str | None = None, key: str = "") -> int:
        rows = report.from_memory(memory, Cut.of(2025, until), by)  # type: ignore[arg-type]
        return next(
            r.value for r in rows if r.indicator == indicator and (r.ward or r.month or "") == key
        )

    assert value(BUSINESSES, date(2025, 8, 9)) == 2 and value(BASES, date(2025, 8, 9)) == 1
    assert value(BUSINESSES, date(2025, 8, 10)) == 1 and value(BASES, date(2025, 8, 10)) == 0
    assert value(BUSINESSES, date(2026, 3, 31), "ward", "tobata") == 0
    assert value(BUSINESSES, date(2026, 3, 31), "ward", "") == 1
    assert value(BASES, date(2026, 3, 31), "ward", "moji") == 0
    assert value(BUSINESSES, date(2026, 3, 31), "month", "2025-07") == 2  # the stock at its end
    assert value(BUSINESSES, date(2026, 3, 31), "month", "2025-08") == 1
    assert value(BASES, date(2026, 3, 31), "month", "2025-08") == 0


def test_the_list_says_when_and_the_contractor_is_offered_it_no_more(
    app: HubApplication,
) -> None:
    business_id, base_id = a_business(app), a_base(app)
    app.execute(withdraw(business_id))
    view = partners_of(app)
    (business,) = view.businesses
    assert business.ended_at == ENDED and view.bases[0].ended_at is None
    rows = listed(view, names().wards)
    assert rows[0].record()["ended_at"] == "2025-08-10T10:00:00+09:00"
    assert rows[1].record()["ended_at"] is None
    assert choices(rows, "business", ENDED - timedelta(seconds=1)) != []
    assert choices(rows, "business", ENDED) == []
    assert choices(rows, "base", ENDED) == [
        ("門司区", [(str(base_id), "試験サロン（架空）（サロン）")])
    ]
    assert isinstance(view, Partners)


def test_an_end_back_dated_before_a_match_or_gathering_already_recorded_is_refused(
    app: HubApplication,
) -> None:
    # Recorded after a match and a gathering but dated before them, an end would leave the log
    # a match and a gathering at a partner already gone (and table ④ a stock below its use).
    business_id, base_id, other_base = a_business(app), a_base(app), a_base(app)
    case = f.open_case(ward="tobata")
    app.execute(case)
    used = ENDED + timedelta(days=5)
    for place in ({"business_id": business_id}, {"base_id": base_id}):
        app.execute(
            c.MatchParticipation(
                command_id=uuid4(),
                occurred_at=used,
                case_id=case.case_id,
                place_kind="work",
                **place,
            )
        )
    app.execute(
        c.HoldGathering(command_id=uuid4(), occurred_at=used, base_id=other_base, participants=2)
    )
    with pytest.raises(IllegalTransitionError, match="named it"):
        app.execute(withdraw(business_id))
    with pytest.raises(IllegalTransitionError, match="named it"):
        app.execute(close(base_id))
    with pytest.raises(IllegalTransitionError, match="named it"):
        app.execute(close(other_base))
    later = used + timedelta(days=1)
    app.execute(withdraw(business_id, later))
    app.execute(close(base_id, later))
    app.execute(close(other_base, later))


def test_an_end_naming_another_aggregate_or_the_nil_id_ends_nothing(app: HubApplication) -> None:
    case = f.open_case(ward="tobata", person=f.person())
    app.execute(case)
    business_id, base_id = a_business(app), a_base(app)
    with pytest.raises(NotFoundError, match="no cooperating business"):
        app.execute(withdraw(case.case_id))
    with pytest.raises(NotFoundError, match="no community base"):
        app.execute(close(case.case_id))
    with pytest.raises(NotFoundError, match="no cooperating business"):
        app.execute(withdraw(base_id))
    with pytest.raises(NotFoundError, match="no community base"):
        app.execute(close(business_id))
    nil = UUID(int=0)
    with pytest.raises((NotFoundError, ValueError)):
        app.execute(withdraw(nil))
    assert [type(p) for p in payloads(app, case.case_id)] == [ev.CaseOpened]


def test_no_match_or_gathering_names_a_partner_before_its_registration(
    app: HubApplication,
) -> None:
    # Back-dated before the business or base existed, a match or gathering named a partner
    # the network did not have yet.
    business_id, base_id = a_business(app), a_base(app)
    case = f.open_case(ward="tobata")
    app.execute(case)
    early = REGISTERED - timedelta(minutes=1)
    for place in ({"business_id": business_id}, {"base_id": base_id}):
        with pytest.raises(IllegalTransitionError, match="not registered yet"):
            app.execute(
                c.MatchParticipation(
                    command_id=uuid4(),
                    occurred_at=early,
                    case_id=case.case_id,
                    place_kind="work",
                    **place,
                )
            )
    with pytest.raises(IllegalTransitionError, match="not registered yet"):
        app.execute(
            c.HoldGathering(command_id=uuid4(), occurred_at=early, base_id=base_id, participants=1)
        )
    app.execute(
        c.HoldGathering(command_id=uuid4(), occurred_at=REGISTERED, base_id=base_id, participants=1)
    )
