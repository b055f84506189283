"""The network on the log: its fold, governance and the audit as of a position, and
``network apply`` (the diff, idempotence, named refusals)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub import events as ev
from hub.application import HubApplication
from hub.errors import (
    InvalidCommandError,
    InvalidNetworkError,
    PermissionDeniedError,
    ReservedAgencyIdError,
    RetiredAgencyError,
    UnknownAgencyError,
    UnsupportedNetworkChangeError,
)
from hub.fiscal import JST
from hub.identity import Actor, Role
from hub.principals import RESERVED_PRINCIPALS
from hub.reference import Network, load_network, parse_network
from hub.reference.directory import Directory, changes, fold
from hub.settings import get_settings
from ops.cli.main import app as cli
from producers.governance import Decision, GovernanceState, decide
from projections.audit.history import Entry, replay
from projections.audit.verify import Disclosure, check
from tests import factories as f
from tests.network_changes import NEW_MEMBER, changed, network, shipped
from tests.unit.governance_log import Log, at, consent, details, ident, opened, referral

CASE = ident("network-case")
LEAVING = "moji.hoken"
RENAMED = "moji.houkatsu"
NEW_NAME = "門司区 地域包括支援センター(試験改称)"


def imported() -> Directory:
    shipped_network = load_network()
    assert shipped_network.in_force_from is not None
    return fold(changes(Directory(), shipped_network, shipped_network.in_force_from))


# The fold ------------------------------------------------------------------------------------


def test_the_import_folds_back_into_the_shipped_network() -> None:
    assert imported().network.model_dump() == load_network().model_dump()


def test_the_import_is_a_ward_registration_per_ward_and_an_event_per_agency_and_group() -> None:
    found = changes(Directory(), load_network(), at(0))
    kinds = [type(p).__name__ for p in found]
    assert kinds[0] == "NetworkEstablished"
    assert kinds.count("WardRegistered") == 7
    assert kinds.count("PartnerGroupAdded") == 8
    assert kinds.count("AgencyRegistered") == 58
    assert kinds.count("CouncilMemberJoined") == 18


def test_a_scope_covers_the_agencies_of_the_network_as_of_each_change() -> None:
    directory = imported()
    before = directory.network.agencies_in_scope(["council", "ward:moji"])
    assert LEAVING in before and "council-17" in before and NEW_MEMBER not in before
    wanted = network(changed(retire=(LEAVING, "council-17"), join=(NEW_MEMBER,)))
    for payload in changes(directory, wanted, at(1)):
        assert directory.apply(payload)
    after = directory.network.agencies_in_scope(["council", "ward:moji"])
    assert after == (before - {LEAVING, "council-17"}) | {NEW_MEMBER}
    with pytest.raises(RetiredAgencyError, match="has left the network"):
        directory.agency(LEAVING)
    assert directory.agency_ever(LEAVING).id == LEAVING  # its past records stay readable
    with pytest.raises(UnknownAgencyError):
        directory.agency_ever("council-99")
    assert not directory.apply(opened(CASE))  # other events are not the network's


def test_a_rename_keeps_the_agency_and_its_groups() -> None:
    directory = imported()
    directory.apply(ev.AgencyRenamed(occurred_at=at(1), agency_id=RENAMED, name=NEW_NAME))
    assert directory.network.agency(RENAMED).name == NEW_NAME
    assert RENAMED in directory.network.agencies_in_scope(["ward:moji"])


# Governance as of a position -----------------------------------------------------------------


def _history(log: Log) -> None:
    log.add(opened(CASE))
    log.add(referral(CASE, LEAVING, 1, label="leaving"))
    log.add(referral(CASE, RENAMED, 1, label="renamed"))
    log.add(consent(CASE, 2, ["ward:moji"], ["identity", "contact"]))
    log.add(details(CASE, 3))


def _change(log: Log, hours: float) -> None:
    directory = fold([e.payload for e in log.events])
    wanted = network(changed(retire=(LEAVING,), rename={RENAMED: NEW_NAME}, join=(NEW_MEMBER,)))
    for payload in changes(directory, wanted, at(hours)):
        log.add(payload)


def _decisions(log: Log) -> list[Decision]:
    state = GovernanceState()
    return [decide(state, event) for event in log.events]


def _routed(decisions: list[Decision]) -> list[Any]:
    return [
        (
            d.event.position,
            [(r.agency_id, r.record, r.headers()) for r in d.agencies],
            d.disclosures,
        )
        for d in decisions
    ]


def test_a_network_change_after_a_history_leaves_its_decisions_unchanged() -> None:
    log = Log()
    _history(log)
    before = _routed(_decisions(log))
    _change(log, 4)
    after = _routed(_decisions(log))
    assert after[: len(before)] == before
    released = [d for d in before if d[2]]
    assert any(d["agency_id"] == LEAVING for _, _, ds in released for d in ds)


def test_a_consent_covers_only_the_agencies_its_scope_named_when_it_was_given() -> None:
    log = Log()
    log.add(opened(CASE))
    log.add(referral(CASE, NEW_MEMBER, 1, label="new"))  # not in the network yet: unrouted
    early = log.add(consent(CASE, 1, ["council"], ["identity"], label="early"))
    _change(log, 2)
    late = log.add(consent(CASE, 3, ["council"], ["identity"], label="late"))
    state = GovernanceState()
    for event in log.events:
        decide(state, event)
    consents = state.cases[CASE].consents
    assert NEW_MEMBER not in consents[str(early.payload.consent_id)].agencies
    assert NEW_MEMBER in consents[str(late.payload.consent_id)].agencies


def test_an_agency_that_left_the_network_receives_nothing_after_it_left() -> None:
    log = Log()
    _history(log)
    _change(log, 4)
    last = log.add(details(CASE, 5))
    decisions = _decisions(log)
    (decision,) = [d for d in decisions if d.event is last]
    assert LEAVING not in [r.agency_id for r in decision.agencies]
    assert RENAMED in [r.agency_id for r in decision.agencies]


def test_network_events_go_to_the_audit_topic_only() -> None:
    log = Log()
    _history(log)
    _change(log, 4)
    network_decisions = [d for d in _decisions(log) if Directory.is_network_event(d.event.payload)]
    assert network_decisions
    for decision in network_decisions:
        assert decision.agencies == () and decision.disclosures == ()
        assert decision.audit_record is not None and not decision.analytics


# The audit's own reading ---------------------------------------------------------------------


def _entries(log: Log) -> list[Entry]:
    return [Entry(e.position, e.payload, e.event_id) for e in log.events]


def test_the_audit_resolves_a_scope_as_of_the_consent_and_keeps_it_after_a_change() -> None:
    log = Log()
    _history(log)
    _change(log, 4)
    history = replay(_entries(log))
    (record,) = history.consents.values()
    assert LEAVING in record.agencies
    snapshot = history.snapshot(at(3.5), agency_id=LEAVING)
    assert [c.consent_id for c in snapshot.consents] == [record.consent_id]


def test_the_audit_refutes_a_disclosure_to_an_agency_after_it_left() -> None:
    log = Log()
    _history(log)
    _change(log, 4)
    last = log.add(details(CASE, 5))
    history = replay(_entries(log))
    (consent_record,) = history.consents.values()
    forged = Disclosure(
        disclosure_id="forged",
        event_id=last.event_id,
        position=last.position,
        case_id=str(CASE),
        agency_id=LEAVING,
        fields=("person.name",),
        categories=("identity",),
        basis="consent",
        basis_ref=consent_record.consent_id,
        confidentiality_duty=False,
        occurred_at=last.payload.occurred_at,
    )
    assert f"{LEAVING} was not in the network at position {last.position}" in check(history, forged)
    left = next(e.position for e in log.events if isinstance(e.payload, ev.AgencyRetired))
    honest = Disclosure(**{**forged.__dict__, "position": left - 1})
    assert not any("not in the network" in r for r in check(history, honest))


# network apply ----------------------------------------------------------------------------------


@pytest.fixture
def app() -> Iterator[HubApplication]:
    application = HubApplication(env={})
    yield application
    application.close()


def _logged(app: HubApplication) -> int:
    return len(app.recorder.select_notifications(start=1, limit=100_000))


def test_apply_records_exactly_the_events_that_differ(app: HubApplication) -> None:
    wanted = network(
        changed(retire=(LEAVING, "council-17"), rename={RENAMED: NEW_NAME}, join=(NEW_MEMBER,))
    )
    recorded = app.apply_network(wanted, f.at(30))
    assert [(type(p).__name__, getattr(p, "agency_id", None)) for p in recorded] == [
        ("AgencyRetired", LEAVING),
        ("CouncilMemberLeft", "council-17"),
        ("AgencyRenamed", RENAMED),
        ("CouncilMemberJoined", NEW_MEMBER),
    ]
    assert app.network.model_dump(exclude={"in_force_from"}) == wanted.model_dump(
        exclude={"in_force_from"}
    )


def test_applying_the_same_network_twice_writes_nothing_the_second_time(
    app: HubApplication,
) -> None:
    assert app.apply_network(load_network(), f.at(1)) == []
    wanted = network(changed(join=(NEW_MEMBER,)))
    assert len(app.apply_network(wanted, f.at(2))) == 1
    logged = _logged(app)
    assert app.apply_network(wanted, f.at(3)) == []
    assert _logged(app) == logged


def test_who_applied_a_change_is_recorded_as_an_administrator(app: HubApplication) -> None:
    imported_events = app.network_events()
    assert {(p.actor.subject, p.actor.role) for p in imported_events if p.actor} == {
        ("system:network-import", "system")
    }
    assert all(p.actor for p in imported_events)
    (joined,) = app.apply_network(network(changed(join=(NEW_MEMBER,))), f.at(1))
    assert joined.actor is not None
    assert (joined.actor.subject, joined.actor.role) == ("operator", "administrator")
    assert app.network_events()[-1] == joined


def test_only_an_administrator_changes_the_network(app: HubApplication) -> None:
    logged = _logged(app)
    officer = Actor("試験 区職員", Role.ward_officer, ward="moji")
    with pytest.raises(PermissionDeniedError, match="administrator"):
        app.apply_network(network(changed(join=(NEW_MEMBER,))), f.at(1), officer)
    assert _logged(app) == logged
    admin = Actor("試験 管理者", Role.administrator)
    (joined,) = app.apply_network(network(changed(join=(NEW_MEMBER,))), f.at(1), admin)
    assert joined.actor is not None and joined.actor.subject == "試験 管理者"


def test_commands_are_checked_against_the_network_the_log_records_now(
    app: HubApplication,
) -> None:
    case_id = app.execute(f.open_case(ward="moji")).aggregate_ids[0]
    app.execute(f.referral(case_id, LEAVING))
    app.apply_network(network(changed(retire=(LEAVING,), join=(NEW_MEMBER,))), f.at(1))
    with pytest.raises(RetiredAgencyError, match="has left the network"):
        app.execute(f.referral(case_id, LEAVING, occurred_at=f.at(2)))
    assert app.execute(f.referral(case_id, NEW_MEMBER, occurred_at=f.at(2))).events == (
        "ReferralMade",
    )
    with pytest.raises(UnknownAgencyError):
        app.execute(f.referral(case_id, "council-99", occurred_at=f.at(2)))


def test_another_process_sees_a_change_on_its_next_command(sqlite_env: dict[str, str]) -> None:
    first, second = HubApplication(env=sqlite_env), HubApplication(env=sqlite_env)
    try:
        case_id = second.execute(f.open_case(ward="moji")).aggregate_ids[0]
        first.apply_network(network(changed(join=(NEW_MEMBER,))), f.at(1))
        assert second.execute(f.referral(case_id, NEW_MEMBER)).events == ("ReferralMade",)
    finally:
        first.close()
        second.close()


def test_a_query_never_leaves_the_processes_network_behind_a_change(
    sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query's network (an API thread's) is made in the writer's turn: a change folded by
    a command meanwhile neither shows in it half way nor is hidden from later reads."""
    import threading

    from hub import reference

    api, cli = HubApplication(env=sqlite_env), HubApplication(env=sqlite_env)
    try:
        case_id = api.execute(f.open_case(ward="moji")).aggregate_ids[0]
        # A first change, so that the query below folds it and makes the snapshot anew.
        cli.apply_network(network(changed(rename={LEAVING: "試験 改称後の名前"})), f.at(1))
        building, go_on = threading.Event(), threading.Event()
        construct = reference.Network.model_construct
        query_thread: list[int] = []

        def slow_construct(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() in query_thread and not go_on.is_set():
                building.set()  # the query makes its snapshot: a command comes meanwhile
                go_on.wait(2)
            return construct(*args, **kwargs)

        monkeypatch.setattr(reference.Network, "model_construct", slow_construct)

        def query() -> None:
            query_thread.append(threading.get_ident())
            api.network  # noqa: B018

        reader = threading.Thread(target=query)
        reader.start()
        assert building.wait(10)
        # While the query makes its snapshot: a second change, which a command folds.
        joined = changed(rename={LEAVING: "試験 改称後の名前"}, join=(NEW_MEMBER,))
        cli.apply_network(network(joined), f.at(2))
        writer = threading.Thread(target=lambda: api.execute(f.referral(case_id, NEW_MEMBER)))
        writer.start()
        writer.join(0.5)
        go_on.set()
        reader.join(10)
        writer.join(10)
        assert api.network.is_agency(NEW_MEMBER)
        assert api.execute(f.referral(case_id, NEW_MEMBER, occurred_at=f.at(3))).events
    finally:
        api.close()
        cli.close()


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d["agencies"][0].update(id="moji.*"), "agencies.0.id"),
        (lambda d: d["agencies"][0].update(id="x" * 101), "agencies.0.id"),
        (lambda d: d["agencies"][0].update(id="../moji"), "agencies.0.id"),
        (lambda d: d["agencies"][0].update(name=""), "agencies.0.name"),
        (lambda d: d["agencies"].pop(7), "has no いのちネット担当係長"),
        (lambda d: d["agencies"].append(dict(d["agencies"][0])), "agency ids must be unique"),
        (lambda d: d["wards"].pop(), "exactly 7 wards"),
        (lambda d: d["agencies"][0].update(ward="narnia"), "unknown ward narnia"),
        (lambda d: d["agencies"][-1].update(groups=["city_wide"]), "group council"),
        (lambda d: d.update(partner_companies_total=-1), "cannot be negative"),
    ],
)
def test_an_invalid_network_file_is_refused_with_its_reason(edit: Any, named: str) -> None:
    data = shipped()
    edit(data)
    with pytest.raises(InvalidNetworkError, match="not a valid network file") as refused:
        parse_network(json.dumps(data, ensure_ascii=False))
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d["wards"][0].update(name="門司"), "wards cannot change"),
        (lambda d: d["agencies"][0].update(kind="contractor"), "its kind cannot change"),
        (lambda d: d["agencies"][0].update(fields=["child"]), "its fields cannot change"),
        (lambda d: d["partner_groups"].pop(), "cannot be removed"),
    ],
)
def test_a_change_no_event_can_express_is_refused_and_writes_nothing(
    app: HubApplication, edit: Any, named: str
) -> None:
    data = shipped()
    edit(data)
    logged = _logged(app)
    with pytest.raises(UnsupportedNetworkChangeError, match=named):
        app.apply_network(network(data), f.at(1))
    assert _logged(app) == logged
    assert app.apply_network(load_network(), f.at(2)) == []  # the cached directory is intact


@pytest.mark.parametrize(
    "when",
    [
        datetime(1999, 12, 31, tzinfo=JST),
        datetime(9999, 1, 1, tzinfo=timezone(timedelta(hours=-12))),
        datetime(2025, 4, 1, tzinfo=timezone(timedelta(hours=15))),
    ],
)
def test_an_implausible_instant_of_a_change_is_refused(app: HubApplication, when: datetime) -> None:
    logged = _logged(app)
    with pytest.raises(InvalidCommandError, match="the change's instant"):
        app.apply_network(network(changed(join=(NEW_MEMBER,))), when)
    assert _logged(app) == logged


def test_a_retired_agency_id_cannot_be_registered_again(app: HubApplication) -> None:
    app.apply_network(network(changed(retire=(LEAVING,))), f.at(1))
    with pytest.raises(UnsupportedNetworkChangeError, match="cannot be reused"):
        app.apply_network(load_network(), f.at(2))


# An agency id is its Kafka user's name and the prefix of its consumer groups' ACL.
TAKEN_IDS = [
    *sorted(RESERVED_PRINCIPALS),
    "hub.inbox",  # its groups hub.inbox.* are under the hub service's prefix hub.
    "moji",  # a dotted prefix of moji.houkatsu: its ACL on groups moji.* covers theirs
    "moji.houkatsu.inbox",  # under moji.houkatsu's
]


@pytest.mark.parametrize("agency_id", TAKEN_IDS)
def test_an_agency_id_that_is_a_privileged_user_or_covers_another_is_refused(
    agency_id: str,
) -> None:
    with pytest.raises(InvalidNetworkError, match="not a valid network file") as refused:
        parse_network(json.dumps(changed(join=(agency_id,)), ensure_ascii=False))
    assert repr(agency_id) in str(refused.value)


def test_an_id_that_only_begins_like_another_is_not_a_dotted_prefix() -> None:
    assert parse_network(json.dumps(changed(join=("council-1", "mojiko")), ensure_ascii=False))


@pytest.mark.parametrize("agency_id", TAKEN_IDS)
def test_registering_a_taken_agency_id_is_refused_and_writes_nothing(
    app: HubApplication, agency_id: str
) -> None:
    # Past the file's validation too (a network built in code): the directory refuses it.
    shipped_network = load_network()
    newcomer = network(changed(join=(NEW_MEMBER,))).agency(NEW_MEMBER)
    agencies = (*shipped_network.agencies, newcomer.model_copy(update={"id": agency_id}))
    unchecked = Network.model_construct(**{**dict(shipped_network), "agencies": agencies})
    logged = _logged(app)
    with pytest.raises(ReservedAgencyIdError, match=agency_id):
        app.apply_network(unchecked, f.at(1))
    assert _logged(app) == logged


def test_a_new_id_under_a_retired_agencys_is_refused(app: HubApplication) -> None:
    # The retired agency's user and group ACLs stay on the broker.
    app.apply_network(network(changed(retire=(LEAVING,))), f.at(1))
    wanted = network(changed(retire=(LEAVING,), join=(f"{LEAVING}.shinki",)))
    with pytest.raises(ReservedAgencyIdError, match="dotted prefix"):
        app.apply_network(wanted, f.at(2))


# The command line --------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "hub.sqlite"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def hub(*args: str) -> Any:
    return CliRunner().invoke(cli, ["network", *args])


def test_network_apply_twice_records_the_change_once_and_show_tells_before_from_after(
    store: Path,
) -> None:
    path = store / "network.json"
    path.write_text(
        json.dumps(changed(rename={RENAMED: NEW_NAME}, join=(NEW_MEMBER,)), ensure_ascii=False),
        encoding="utf-8",
    )
    first = hub("apply", str(path), "--at", "2026-04-01T00:00:00+09:00")
    assert first.exit_code == 0, first.output
    assert "AgencyRenamed" in first.output and "CouncilMemberJoined" in first.output
    assert "2 件を記録しました" in first.output
    second = hub("apply", str(path))
    assert second.exit_code == 0 and "変更なし" in second.output
    before = json.loads(hub("show", "--as-of", "2026-03-31T23:59:59+09:00", "--json").output)
    after = json.loads(hub("show", "--json").output)
    assert {a["id"]: a["name"] for a in before["agencies"]}[RENAMED] != NEW_NAME
    assert {a["id"]: a["name"] for a in after["agencies"]}[RENAMED] == NEW_NAME
    assert NEW_MEMBER not in {a["id"] for a in before["agencies"]}
    table = hub("show")
    assert table.exit_code == 0 and NEW_MEMBER in table.output
    assert table.output.index("名称") < table.output.index("name")  # Japanese first


def test_network_show_json_applies_back_as_no_change(store: Path) -> None:
    shown = hub("show", "--json")
    path = store / "shown.json"
    path.write_text(shown.output, encoding="utf-8")
    result = hub("apply", str(path))
    assert result.exit_code == 0 and "変更なし" in result.output


def test_network_apply_names_what_is_wrong_with_a_file_in_one_line(store: Path) -> None:
    data = shipped()
    data["agencies"][0]["id"] = "moji.*"
    path = store / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = hub("apply", str(path))
    assert result.exit_code == 2  # a bad file is invalid input (README "Exit codes")
    assert result.output.startswith("Error: not a valid network file: agencies.0.id")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "no such file"),
        (b"{not json", "not a valid network file"),
        (b"\xff\xfe", "not a valid network file"),
        ("duplicate", "agency ids must be unique"),
    ],
    ids=["missing", "not-json", "not-text", "duplicate-id"],
)
def test_a_bad_network_file_is_invalid_input_exit_2(
    store: Path, content: bytes | str | None, named: str
) -> None:
    path = store / "network.json"
    if content == "duplicate":
        data = shipped()
        data["agencies"].append(dict(data["agencies"][0]))
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = hub("apply", str(path))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and named in line


def test_a_valid_file_the_log_cannot_take_is_refused_by_a_rule_exit_1(store: Path) -> None:
    data = shipped()
    data["agencies"][0].update(kind="contractor")
    path = store / "network.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = hub("apply", str(path))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and "its kind cannot change" in result.stderr


def test_shipped_network_starts_in_force_at_the_start_of_r7() -> None:
    in_force = load_network().in_force_from
    assert in_force is not None and in_force.utcoffset() == timedelta(hours=9)
    assert (in_force.year, in_force.month, in_force.day) == (2025, 4, 1)


def test_a_log_written_before_the_network_was_on_it_uses_the_shipped_network_until_the_import() -> (
    None
):
    log = Log()
    seed = [e.payload for e in log.events]
    log.events.clear()
    log.versions.clear()
    found = log.add(
        ev.DiscoveryReported(
            occurred_at=at(0),
            discovery_id=ident("legacy-discovery"),
            reporter_kind="resident",
            ward="moji",
            signs=["odour"],
            urgency="urgent",
        )
    )
    _history(log)
    for payload in seed:  # opening the old store appends the import after its history
        log.add(payload)
    decisions = _decisions(log)
    (discovery,) = [d for d in decisions if d.event is found]
    assert [r.agency_id for r in discovery.agencies] == ["moji.coordinator"]
    disclosures = [
        Disclosure.from_record(d) for decision in decisions for d in decision.disclosures
    ]
    assert any(d.agency_id == LEAVING and d.basis == "consent" for d in disclosures)
    history = replay(_entries(log))
    assert all(check(history, d) == [] for d in disclosures)
