"""The case log's behaviour, one body for every store (subclassed per store)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from hub import commands as c
from hub.application import HubApplication
from hub.domain.network import NETWORK_ID
from hub.errors import (
    CaseClosedError,
    CaseNotFoundError,
    ConcurrentChangeError,
    ConsentRequiredError,
    CoordinatorNotReferableError,
    DomainError,
    IllegalTransitionError,
    NoConsentToWithdrawError,
    NotFoundError,
    NotReferredAgencyError,
    ReferralNotFoundError,
    UnknownAgencyError,
    UnknownWardError,
)
from tests import factories as f


def _opened(app: HubApplication) -> tuple[HubApplication, object]:
    outcome = app.execute(f.consultation())
    return app, outcome.aggregate_ids[0]


def _events_in_log(app: HubApplication) -> list[str]:
    """The events after the network's import (the first events of every store)."""
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    return [n.topic.rsplit(".", 1)[-1] for n in notifications if n.originator_id != NETWORK_ID]


class CaseLogContract:
    """Subclasses provide an ``env`` fixture: the eventsourcing env of a fresh store."""

    @pytest.fixture
    def app(self, env: dict[str, str]) -> Iterator[HubApplication]:
        application = HubApplication(env=env)
        yield application
        application.close()

    # The network on the log -------------------------------------------------------------

    def test_a_new_store_starts_with_the_shipped_network_imported_once(
        self, env: dict[str, str], app: HubApplication
    ) -> None:
        first = app.recorder.select_notifications(start=1, limit=10_000)
        assert first[0].topic.endswith("NetworkEstablished")
        imported = [n for n in first if n.originator_id == NETWORK_ID]
        assert imported == first  # the import is all there is, and it comes first
        assert len(app.network.agencies) == 76
        again = HubApplication(env=env)
        try:
            assert len(again.recorder.select_notifications(start=1, limit=10_000)) == len(first)
        finally:
            again.close()

    # 見つける / 相談受付 --------------------------------------------------------------------

    def test_a_discovery_is_recorded_before_any_case_exists(self, app: HubApplication) -> None:
        outcome = app.execute(f.discovery())
        assert outcome.events == ("DiscoveryReported",)
        assert _events_in_log(app) == ["DiscoveryReported", "CommandAccepted"]

    def test_a_case_opened_from_a_discovery_links_both(self, app: HubApplication) -> None:
        found = app.execute(f.discovery()).aggregate_ids[0]
        opened = app.execute(f.open_case(discovery_id=found))
        assert opened.events == ("CaseOpened", "DiscoveryLinkedToCase")
        case = app.get_case(opened.aggregate_ids[0])
        assert case.discovery_ids == [found]

    def test_a_discovery_is_linked_to_one_case_only(self, app: HubApplication) -> None:
        found = app.execute(f.discovery()).aggregate_ids[0]
        app.execute(f.open_case(discovery_id=found))
        with pytest.raises(IllegalTransitionError):
            app.execute(f.open_case(discovery_id=found))

    def test_a_consultation_at_a_window_opens_a_case(self, app: HubApplication) -> None:
        outcome = app.execute(f.consultation())
        assert outcome.events == ("CaseOpened", "ConsultationReceived")
        assert app.get_case(outcome.aggregate_ids[0]).ward == "kokurakita"

    def test_a_second_consultation_on_a_case_adds_to_it(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        outcome = app.execute(f.consultation(case_id=case_id, person=None))
        assert outcome.events == ("ConsultationReceived",)

    def test_a_consultation_must_be_received_at_a_window(self, app: HubApplication) -> None:
        with pytest.raises(Exception, match="not a consultation window"):
            app.execute(f.consultation(window_agency="council-01"))

    def test_a_city_wide_window_opens_a_case_in_the_persons_ward(self, app: HubApplication) -> None:
        with pytest.raises(DomainError, match="whole city"):
            app.execute(f.consultation(window_agency="kikan-soudan"))
        opened = app.execute(f.consultation(window_agency="kikan-soudan", ward="wakamatsu"))
        assert app.get_case(opened.aggregate_ids[0]).ward == "wakamatsu"

    def test_unknown_ward_and_agency_are_refused(self, app: HubApplication) -> None:
        with pytest.raises(UnknownWardError):
            app.execute(f.discovery(ward="atlantis"))
        with pytest.raises(UnknownAgencyError):
            app.execute(f.consultation(window_agency="nowhere.office"))
        app, case_id = _opened(app)
        with pytest.raises(UnknownAgencyError):
            app.execute(f.referral(case_id, agency_id="nowhere.office"))

    def test_an_assessment_sets_the_needs(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        app.execute(f.assessment(case_id, needs=["8050", "hoarding"]))
        assert app.get_case(case_id).needs == ("8050", "hoarding")

    # つなげる --------------------------------------------------------------------------------

    def test_a_referral_is_answered_by_the_agency_it_was_sent_to(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        referral = f.referral(case_id)
        app.execute(referral)
        for step in ("received", "accepted", "completed"):
            app.execute(f.answer(case_id, referral.referral_id, referral.agency_id, step))
        assert app.get_case(case_id).referrals[referral.referral_id].status == "completed"

    def test_an_answer_from_another_agency_is_refused(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        referral = f.referral(case_id)
        app.execute(referral)
        with pytest.raises(NotReferredAgencyError):
            app.execute(f.answer(case_id, referral.referral_id, "moji.hogo", "received"))

    def test_illegal_answer_transitions_are_refused(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        referral = f.referral(case_id)
        app.execute(referral)
        with pytest.raises(IllegalTransitionError):
            app.execute(f.answer(case_id, referral.referral_id, referral.agency_id, "completed"))
        app.execute(
            f.answer(case_id, referral.referral_id, referral.agency_id, "declined", reason="満員")
        )
        with pytest.raises(IllegalTransitionError):
            app.execute(f.answer(case_id, referral.referral_id, referral.agency_id, "accepted"))

    def test_an_answer_to_an_unknown_referral_is_refused(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        with pytest.raises(ReferralNotFoundError):
            app.execute(f.answer(case_id, uuid4(), "kokurakita.hogo", "received"))

    def test_a_late_referral_escalates_to_the_ward_coordinator(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        referral = f.referral(case_id)
        app.execute(referral)
        outcome = app.execute(
            f.build(
                c.EscalateReferral,
                case_id=case_id,
                referral_id=referral.referral_id,
                overdue_minutes=90,
            )
        )
        assert outcome.events == ("ReferralEscalated",)
        with pytest.raises(IllegalTransitionError):
            app.execute(
                f.build(
                    c.EscalateReferral,
                    case_id=case_id,
                    referral_id=referral.referral_id,
                    overdue_minutes=120,
                )
            )

    def test_no_referral_on_a_closed_case(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        app.execute(f.build(c.CloseCase, case_id=case_id, reason="転居"))
        with pytest.raises(CaseClosedError):
            app.execute(f.referral(case_id))

    def test_commands_on_a_missing_case_are_refused(self, app: HubApplication) -> None:
        with pytest.raises(CaseNotFoundError):
            app.execute(f.referral(uuid4()))

    # Consent ---------------------------------------------------------------------------------

    def test_consent_is_given_refused_and_withdrawn(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        given = f.consent(case_id, by_proxy=True, proxy_relationship="長女")
        app.execute(given)
        app.execute(f.build(c.RefuseConsent, case_id=case_id, scope=["council"]))
        assert app.get_case(case_id).consent_in_force(f.at(1)) == given.consent_id
        app.execute(f.withdrawal(case_id, given.consent_id, occurred_at=f.at(2)))
        assert app.get_case(case_id).consent_in_force(f.at(3)) is None

    def test_no_withdrawal_without_a_consent(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        with pytest.raises(NoConsentToWithdrawError):
            app.execute(f.withdrawal(case_id, uuid4()))
        given = f.consent(case_id)
        app.execute(given)
        app.execute(f.withdrawal(case_id, given.consent_id))
        with pytest.raises(NoConsentToWithdrawError):
            app.execute(f.withdrawal(case_id, given.consent_id))

    def test_consent_scope_must_name_known_agencies_or_groups(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        with pytest.raises(UnknownAgencyError):
            app.execute(f.consent(case_id, scope=["the-whole-world"]))

    # Meetings --------------------------------------------------------------------------------

    def test_a_connection_meeting_needs_no_consent(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        outcome = app.execute(f.meeting([case_id]))
        assert outcome.events == ("MeetingHeld", "TakenUpByMeeting")
        assert app.get_case(case_id).meeting_kind == "connection"

    def test_a_support_meeting_without_consent_is_refused(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        with pytest.raises(ConsentRequiredError):
            app.execute(f.meeting([case_id], kind="support"))
        assert "MeetingHeld" not in _events_in_log(app)

    def test_a_case_moves_from_connection_to_support_meeting_after_consent(
        self, app: HubApplication
    ) -> None:
        app, case_id = _opened(app)
        app.execute(f.meeting([case_id]))
        with pytest.raises(ConsentRequiredError):
            app.execute(f.build(c.MoveToSupportMeeting, case_id=case_id))
        app.execute(f.consent(case_id))
        outcome = app.execute(f.build(c.MoveToSupportMeeting, case_id=case_id, occurred_at=f.at(1)))
        assert outcome.events == ("MovedToSupportMeeting",)
        app.execute(f.meeting([case_id], kind="support", occurred_at=f.at(2)))
        assert app.get_case(case_id).meeting_kind == "support"

    def test_a_case_is_not_referred_to_a_wards_coordinator(self, app: HubApplication) -> None:
        """The web form never offered it; a crafted request did (a review's find)."""
        app, case_id = _opened(app)
        before = _events_in_log(app)
        with pytest.raises(CoordinatorNotReferableError, match="いのちネット担当"):
            app.execute(f.referral(case_id, "kokurakita.coordinator"))
        assert _events_in_log(app) == before

    def test_a_case_no_connection_meeting_took_up_has_nothing_to_move(
        self, app: HubApplication
    ) -> None:
        app, case_id = _opened(app)
        app.execute(f.consent(case_id))
        before = _events_in_log(app)
        with pytest.raises(IllegalTransitionError, match="つながりづくり会議"):
            app.execute(f.build(c.MoveToSupportMeeting, case_id=case_id, occurred_at=f.at(1)))
        assert _events_in_log(app) == before

    def test_a_meeting_with_one_refused_case_writes_nothing(self, app: HubApplication) -> None:
        app, with_consent = _opened(app)
        app.execute(f.consent(with_consent))
        _, without = _opened(app)
        before = _events_in_log(app)
        with pytest.raises(ConsentRequiredError):
            app.execute(f.meeting([with_consent, without], kind="support"))
        assert _events_in_log(app) == before

    def test_support_decided_and_plan_agreed_then_revised(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        held = f.meeting([case_id])
        app.execute(held)
        app.execute(
            f.build(
                c.DecideSupport,
                case_id=case_id,
                meeting_id=held.meeting_id,
                lead_agency="kokurakita.coordinator",
            )
        )
        app.execute(f.plan(case_id, meeting_id=held.meeting_id))
        app.execute(f.plan(case_id))
        case = app.get_case(case_id)
        assert case.status == "in_support"
        assert case.plan is not None and case.plan.revision == 2
        app.execute(f.build(c.EvaluateCase, case_id=case_id, evaluation="improved"))
        app.execute(f.build(c.SuspendCase, case_id=case_id, reason="入院"))
        app.execute(f.build(c.CloseCase, case_id=case_id, reason="終結"))
        assert app.get_case(case_id).status == "closed"

    def test_a_decision_must_come_from_a_meeting_that_took_up_the_case(
        self, app: HubApplication
    ) -> None:
        app, case_id = _opened(app)
        with pytest.raises(NotFoundError):
            app.execute(
                f.build(
                    c.DecideSupport,
                    case_id=case_id,
                    meeting_id=uuid4(),
                    lead_agency="kokurakita.coordinator",
                )
            )

    def test_a_case_without_a_plan_cannot_be_evaluated(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        with pytest.raises(IllegalTransitionError):
            app.execute(f.build(c.EvaluateCase, case_id=case_id, evaluation="unchanged"))

    # 見守る and support ----------------------------------------------------------------------

    def test_visits_activities_matches_and_watch_over_are_recorded(
        self, app: HubApplication
    ) -> None:
        app, case_id = _opened(app)
        business = app.execute(
            f.build(c.RegisterCooperatingBusiness, name="架空食堂", kind="飲食", ward="moji")
        ).aggregate_ids[0]
        base = app.execute(
            f.build(c.RegisterCommunityBase, name="架空サロン", kind="salon", ward="moji")
        ).aggregate_ids[0]
        app.execute(f.build(c.HoldGathering, base_id=base, participants=12, bodies=["架空自治会"]))
        recorded = [
            app.execute(f.visit(case_id, outcome="no_answer")),
            app.execute(f.visit(case_id, outcome="met")),
            app.execute(f.activity(case_id)),
            app.execute(
                f.build(
                    c.MatchParticipation,
                    case_id=case_id,
                    place_kind="community_meal",
                    business_id=business,
                    base_id=base,
                )
            ),
            app.execute(
                f.build(
                    c.ArrangeWatchOver,
                    case_id=case_id,
                    watchers=["kokurakita.houkatsu", "newspaper"],
                    frequency="weekly",
                )
            ),
        ]
        assert [o.events[0] for o in recorded] == [
            "OutreachVisitMade",
            "OutreachVisitMade",
            "SupportActivityRecorded",
            "ParticipationMatched",
            "WatchOverArranged",
        ]

    def test_a_match_to_an_unknown_business_is_refused(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        with pytest.raises(NotFoundError):
            app.execute(
                f.build(
                    c.MatchParticipation,
                    case_id=case_id,
                    place_kind="work",
                    business_id=uuid4(),
                )
            )

    def test_an_emergency_is_declared_and_ended_once(self, app: HubApplication) -> None:
        app, case_id = _opened(app)
        declared = f.emergency(case_id)
        app.execute(declared)
        ended = f.build(c.EndEmergency, case_id=case_id, declaration_id=declared.declaration_id)
        app.execute(ended)
        with pytest.raises(NotFoundError):
            app.execute(
                f.build(c.EndEmergency, case_id=case_id, declaration_id=declared.declaration_id)
            )

    # Idempotence and concurrency -------------------------------------------------------------

    def test_the_same_command_twice_writes_once(self, app: HubApplication) -> None:
        command = f.consultation()
        first = app.execute(command)
        again = app.execute(command)
        assert not first.duplicate and again.duplicate
        assert _events_in_log(app).count("ConsultationReceived") == 1

    def test_concurrent_changes_to_one_case_are_reported(self, env: dict[str, str]) -> None:
        class Racing(HubApplication):
            """Lets another writer change the case between our read and our save."""

            name = HubApplication.name  # the same tables as every other writer
            race: object = None

            def get_case(self, case_id):  # type: ignore[no-untyped-def]
                case = super().get_case(case_id)
                race, self.race = self.race, None
                if callable(race):
                    race()
                return case

        mine, theirs = Racing(env=env), HubApplication(env=env)
        try:
            case_id = mine.execute(f.consultation()).aggregate_ids[0]
            their_referral = f.referral(case_id)
            mine.race = lambda: theirs.execute(their_referral)
            with pytest.raises(ConcurrentChangeError):
                mine.execute(f.referral(case_id))
            assert _events_in_log(mine).count("ReferralMade") == 1
            # The refused change left nothing in the writer's cache: its next command
            # starts from the case as stored.
            retried = f.referral(case_id)
            assert mine.execute(retried).events == ("ReferralMade",)
            assert set(mine.get_case(case_id).referrals) == {
                their_referral.referral_id,
                retried.referral_id,
            }
        finally:
            mine.close()
            theirs.close()

    def test_a_command_failing_half_way_leaves_no_change_behind(self, env: dict[str, str]) -> None:
        class HalfWay(HubApplication):
            """Refers, then fails before saving, as a handler breaking a later rule would."""

            name = HubApplication.name

            def _handle(self, command):  # type: ignore[no-untyped-def, override]
                changed = super()._handle(command)
                if isinstance(command, c.ReferCase):
                    raise DomainError("a later rule is broken")
                return changed

        app = HalfWay(env=env)
        try:
            case_id = app.execute(f.consultation()).aggregate_ids[0]
            app.get_case(case_id)  # in the cache
            with pytest.raises(DomainError):
                app.execute(f.referral(case_id))
            assert app.get_case(case_id).referrals == {}
            consent = app.execute(f.consent(case_id))
            assert consent.events == ("ConsentGiven",)
            assert _events_in_log(app).count("ReferralMade") == 0
        finally:
            app.close()

    def test_every_command_type_has_a_handler(self) -> None:
        commands = {
            cls
            for cls in vars(c).values()
            if isinstance(cls, type) and issubclass(cls, c.Command) and cls is not c.Command
        }
        assert commands <= set(vars(HubApplication)["_handle"].dispatcher.registry)
