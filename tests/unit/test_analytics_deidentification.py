"""Analysts get only what table ④ and the network measures need, and the same figures.

With the pseudonym key known the ids link back; even without it, an instant to the minute,
when the hub wrote it, the window and the needs (mental_health...) single a person out. The
records on analytics.events carry days, no recorded_at, and one duration (minutes from a
referral to an answer); folding them gives exactly the hub's table ④ and measures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import RFC_4122, UUID, uuid4

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.fiscal import JST
from hub.identity import Actor, Role
from producers.deidentify import deidentify, pseudonym
from producers.governance import GovernanceState, decide, fold, logged, minutes_since_referral
from projections import report
from projections.indicators import Cut, MemoryIndicators
from tests import factories as f

KEY = b"test-pseudonym-key"
T = datetime(2025, 5, 12, 9, 17, 23, 456789, tzinfo=JST)


@pytest.fixture
def app(sqlite_env: dict[str, str]) -> Iterator[HubApplication]:
    application = HubApplication(env=sqlite_env)
    yield application
    application.close()


def _history(app: HubApplication) -> None:
    """Consultations, referrals answered after various minutes, gatherings in two wards on
    one day with the same body (a first occurrence decided by the day, then the ward)."""
    for i, (ward, minutes) in enumerate([("moji", 17.5), ("tobata", 90.25), ("moji", 2000.0)]):
        at = T + timedelta(days=i, minutes=7 * i)
        opened = f.consultation(
            occurred_at=at, window_agency=f"{ward}.houkatsu", needs=["mental_health", "elderly"]
        )
        case_id = app.execute(opened).aggregate_ids[0]
        referral_id = uuid4()
        refer = f.referral(case_id, referral_id=referral_id, occurred_at=at + timedelta(hours=1))
        app.execute(refer)
        answered = at + timedelta(hours=1, minutes=minutes)
        app.execute(
            f.answer(case_id, referral_id, refer.agency_id, "received", occurred_at=answered)
        )
        for later, answer in [(1, "accepted"), (2, "completed")]:
            at_later = answered + timedelta(days=later)
            # A completion's outcome: 完了（解決）件数 counts the resolved ones.
            outcome = {"outcome": "resolved"} if answer == "completed" and i != 1 else {}
            app.execute(
                f.answer(
                    case_id, referral_id, refer.agency_id, answer, occurred_at=at_later, **outcome
                )
            )
        app.execute(f.visit(case_id, occurred_at=at + timedelta(days=3, hours=5)))
    bases = []
    for ward in ("tobata", "moji"):
        base = f.build(c.RegisterCommunityBase, name="試験サロン", kind="salon", ward=ward)
        app.execute(base)
        bases.append(base.base_id)
    # A business that left the network and a base that closed: their ends lower the stock in
    # the ward each was registered in (the end's own ward, kept for the analysts).
    business = f.build(
        c.RegisterCooperatingBusiness, name="試験商店", kind="飲食", ward="tobata", occurred_at=T
    )
    app.execute(business)
    ended = T + timedelta(days=10)  # after the cut of 2025-05-13, before that of 2025-06-01
    app.execute(
        f.build(c.WithdrawCooperatingBusiness, business_id=business.business_id, occurred_at=ended)
    )
    app.execute(
        f.build(c.CloseCommunityBase, base_id=bases[1], occurred_at=ended + timedelta(days=30))
    )
    # tobata's is earlier in the day, moji's ward code sorts first: the day and then the ward
    # decide, as the analysts cannot see the hour
    # Two targets set on one day, the later one recorded with the earlier time: the day, then
    # the log's order decide which holds, as the analysts cannot see the hour either.
    for hour, value in [(16, 40.0), (9, 55.0)]:
        at = T.replace(hour=hour) + timedelta(days=1)
        app.execute(
            f.build(
                c.SetTarget,
                fiscal_year=2025,
                indicator="outreach_visits",
                value=value,
                occurred_at=at,
            )
        )
    for hour, base_id in [(10, bases[0]), (15, bases[1])]:
        app.execute(
            f.build(
                c.HoldGathering,
                base_id=base_id,
                participants=12,
                bodies=["試験自治会"],
                occurred_at=T.replace(hour=hour) + timedelta(days=20),
            )
        )


def _records(app: HubApplication) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(the hub's record, the analysts' record) of every event, as the relay makes them."""
    state = GovernanceState()
    for n in app.recorder.select_notifications(start=1, limit=10_000):
        event = logged(n.id, app.mapper.to_domain_event(n))
        fold(state, event)
        decide(state, event)
        yield event.record, deidentify(event.record, KEY, minutes_since_referral(state, event))


def test_analysts_get_days_no_recorded_at_and_no_needs(app: HubApplication) -> None:
    _history(app)
    pairs = list(_records(app))
    assert pairs
    for hub_record, record in pairs:
        assert record["recorded_at"] == ""
        occurred = datetime.fromisoformat(record["occurred_at"])
        assert occurred.utcoffset() == timedelta(hours=9)
        assert (occurred.hour, occurred.minute, occurred.second, occurred.microsecond) == (
            0,
            0,
            0,
            0,
        )
        hub_day = datetime.fromisoformat(str(hub_record["occurred_at"])).astimezone(JST).date()
        assert occurred.date() == hub_day
        for name, value in record.items():
            if isinstance(value, str) and len(value) > 10 and value[10:11] == "T":
                assert value.endswith("T00:00:00+09:00"), (record["event_type"], name, value)
        text = json.dumps(record, ensure_ascii=False, default=str)
        assert "mental_health" not in text
    consultations = [r for _, r in pairs if r["event_type"] == "ConsultationReceived"]
    assert consultations and all(r["needs"] == [] and r["ward"] for r in consultations)


def test_free_texts_the_schemas_require_reach_analysts_empty(app: HubApplication) -> None:
    """A watch-over's frequency was typed freely before release 3 (who watches, where, a
    phone number fit in it; its details now go in the personal ``note``) and an erasure
    names who decided and why: none is a code an indicator reads."""
    case_id = app.execute(f.consultation(occurred_at=T)).aggregate_ids[0]
    app.execute(
        f.build(
            c.ArrangeWatchOver,
            case_id=case_id,
            watchers=["moji.houkatsu"],
            frequency="weekly",
            note="毎週月曜 試験花子宅 090-0000-0000",
            occurred_at=T,
        )
    )
    discovery_id = app.execute(f.discovery(occurred_at=T)).aggregate_ids[0]
    admin = Actor("shiken.kanri@city.example", Role.administrator)
    app.erase_person(
        case_id, decided_by="試験課 架空 一郎", reason="本人 試験花子の求め", actor=admin
    )
    app.erase_discovery(discovery_id, decided_by="試験課 架空 一郎", reason="架空", actor=admin)
    records = {r["event_type"]: r for _, r in _records(app)}
    assert records["WatchOverArranged"]["frequency"] == ""
    assert records["WatchOverArranged"]["note"] is None
    for erased in ("PersonErased", "DiscoveryErased"):
        assert (records[erased]["decided_by"], records[erased]["reason"]) == ("", "")
    text = json.dumps(list(records.values()), ensure_ascii=False, default=str)
    assert "試験" not in text and "架空" not in text and "090-0000-0000" not in text


def test_a_consent_given_by_proxy_reaches_analysts_as_any_other(app: HubApplication) -> None:
    """Few consents are given by proxy, and one says the person could not consent: with the
    ward and the day it singles a person out, and no indicator counts it."""
    case_id = app.execute(f.consultation(occurred_at=T)).aggregate_ids[0]
    app.execute(f.consent(case_id, by_proxy=True, proxy_relationship="長男", occurred_at=T))
    (given,) = [r for h, r in _records(app) if r["event_type"] == "ConsentGiven"]
    assert (given["by_proxy"], given["proxy_relationship"]) == (False, None)


def test_an_answer_carries_the_minutes_since_its_referral(app: HubApplication) -> None:
    _history(app)
    answers = [r for _, r in _records(app) if r["event_type"] == "ReferralAnswered"]
    received = sorted(r["minutes_since_referral"] for r in answers if r["answer"] == "received")
    assert received == [17.5, 90.25, 2000.0]
    assert all(r["minutes_since_referral"] > 1440 for r in answers if r["answer"] != "received")


@pytest.mark.parametrize("by", [None, "ward", "month"])
@pytest.mark.parametrize("until", [None, date(2025, 5, 13), date(2025, 6, 1)])
def test_the_analysts_fold_gives_the_hubs_figures(
    app: HubApplication, by: str | None, until: date | None
) -> None:
    _history(app)
    hub, analyst = MemoryIndicators.empty(), MemoryIndicators.empty()
    for hub_record, record in _records(app):
        hub.apply(hub_record["event_type"], hub_record)
        analyst.apply(record["event_type"], record)
    cut = Cut.of(2025, until)
    expected = report.from_memory(hub, cut, by)  # type: ignore[arg-type]
    assert report.from_memory(analyst, cut, by) == expected  # type: ignore[arg-type]
    values = {r.code: r.value for r in report.from_memory(analyst, Cut.of(2025))}
    assert values["median"] == 90.2 and values["sent"] == 3
    assert values["resolved"] == 2  # the outcome reached the analysts
    assert values["gathering_bodies"] == 1
    assert (values["cooperating_businesses"], values["community_bases"]) == (0, 1)
    early = {r.code: r.value for r in report.from_memory(analyst, Cut.of(2025, date(2025, 5, 13)))}
    assert (early["cooperating_businesses"], early["community_bases"]) == (1, 2)
    assert analyst.target_values(2025) == hub.target_values(2025) == {"outreach_visits": 55.0}


def _pseudonym_through_uuid(value: object, key: bytes) -> str:
    # The formula as first written (through uuid.UUID), as the reference.
    text = str(UUID(str(value)))
    digest = hmac.new(key, text.encode("ascii"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:16], "big")
    number &= ~(0xF000 << 64)
    number |= 0x8000 << 64
    number &= ~(0xC000 << 48)
    number |= 0x8000 << 48
    return str(UUID(int=number))


def test_a_pseudonym_is_the_keyed_version_8_uuid_whatever_the_spelling_of_the_id() -> None:
    rng = random.Random(7305)
    ids = [UUID(int=rng.getrandbits(128)) for _ in range(500)]
    ids += [UUID(int=0), UUID(int=2**128 - 1)]  # the edges of the type
    for case_id in ids:
        expected = _pseudonym_through_uuid(case_id, KEY)
        spellings = (str(case_id), str(case_id).upper(), f"{{{case_id}}}", case_id.hex, case_id)
        for spelling in spellings:
            assert pseudonym.__wrapped__(spelling, KEY) == expected, spelling
        made = UUID(expected)
        assert (made.version, made.variant) == (8, RFC_4122) and str(made) == expected
        assert pseudonym.__wrapped__(str(case_id), b"another key") != expected
    with pytest.raises(ValueError):
        pseudonym.__wrapped__("0" * 35, KEY)  # not an id: refused, never hashed as text
