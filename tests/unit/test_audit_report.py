"""The one-page audit report, from a replayed history and a small fake ledger."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from hub.application import HubApplication
from hub.chain import Link
from hub.fiscal import JST
from hub.identity import Actor, Role
from projections.audit.access import access_log
from projections.audit.history import replay
from projections.audit.report import Period, render_report
from projections.audit.source import log_entries
from projections.audit.tamper import Finding, LogVerdict
from projections.audit.verify import Disclosure, verify
from tests import audit_scenario as s
from tests import factories as f

HEAD = Link(24, "x", 1, "t", "0" * 64, "a" * 64)


ALL_TIME = Period(None, None)


def _report(
    log: LogVerdict, period: Period = ALL_TIME, generated_at: datetime | None = None
) -> str:
    app = HubApplication(env={})
    sc = s.build(app)
    history = replay(log_entries(app))
    app.close()
    event = s.event_at(history, "ReferralMade", 1)
    good = s.disclosure(
        event, "kokurakita.hoken", "consent", sc.consent_id, categories=["identity"]
    )
    forged = s.disclosure(event, "kokurakita.hoken", "vital_interest", sc.declaration_id)
    disclosures = [Disclosure.from_record(good), Disclosure.from_record(forged)]
    verdict = verify(history, disclosures)
    return "\n".join(
        render_report(history, disclosures, verdict, log, period, generated_at or datetime.now())
    )


def test_the_report_counts_and_names_what_does_not_hold() -> None:
    text = _report(LogVerdict(events=24, links=24, head=HEAD))
    assert "disclosures: 2" in text
    assert "本人同意 (consent): 1" in text
    assert "kokurakita.hoken: 2" in text
    # By agency, each by its name (機関名) as the history's network records it, then its id.
    assert "    小倉北区 地域保健 — kokurakita.hoken: 2" in text.splitlines()
    assert "consents: given 1, refused 0, withdrawn 1" in text
    assert "つながりづくり会議 (connection) 1" in text
    assert "1 of 2 disclosures had NO valid basis" in text
    assert "verify-log: intact (24 events, 24 links)" in text
    assert f"24:{'a' * 64}" in text


def test_every_line_of_the_report_but_its_items_leads_in_japanese() -> None:
    """The page a city office signs: each heading and total in Japanese first, the English
    beside it; the items under them (indented) are ids, counts and reasons."""
    for log in (
        LogVerdict(events=24, links=24, head=HEAD),
        LogVerdict(events=3, links=3, findings=[Finding("edited", 2, "changed")]),
    ):
        lines = _report(log).splitlines()
        headings = [line for line in lines if line and not line.startswith(" ")]
        english = [line for line in headings if line[:1].isascii()]
        assert not english, english
        assert lines[-2:] == [
            "監査担当 auditor: ____________________",
            "日付 date: ____________    署名 signature: ____________",
        ]
        # Within 80 columns, the items naming whole ids wrapped under their heading.
        wide = [line for line in lines if _columns(line) > 80]
        assert not wide, wide
        assert any(line.startswith("  disclosure ") for line in lines)  # a refuted one


def test_the_generated_line_fits_80_columns_with_the_zone_the_cli_gives() -> None:
    """`hub audit report` stamps the page with an aware instant of the hub's clock (JST, with
    microseconds): the line is to the second, within 80 columns like every other."""
    generated = datetime(2026, 12, 5, 17, 8, 33, 403870, tzinfo=JST)
    lines = _report(LogVerdict(events=24, links=24, head=HEAD), generated_at=generated)
    line = next(x for x in lines.splitlines() if x.startswith("作成 generated:"))
    # The instant as ISO 8601 and the day in 和暦, as a city office dates what it signs.
    assert line == "作成 generated: 2026-12-05T17:08:33+09:00（令和8年12月5日）"
    assert _columns(line) <= 80


def test_a_report_of_a_period_given_both_ends_fits_80_columns() -> None:
    """`hub audit report --from T1 --to T2`: the period's two instants and what they mean
    (business time, end excluded) on lines within 80 columns."""
    lines = _report(LogVerdict(events=24, links=24, head=HEAD), Period(f.at(1), f.at(30)))
    period = lines.splitlines()[1:3]
    assert period[0].startswith(f"期間 period: {f.at(1).isoformat()} – {f.at(30).isoformat()}")
    assert period[1] == "  (business time, end excluded)"
    assert all(_columns(line) <= 80 for line in lines.splitlines())


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_the_report_shows_a_broken_log_and_keeps_to_its_period() -> None:
    broken = LogVerdict(events=3, links=3, findings=[Finding("edited", 2, "changed")])
    text = _report(broken, Period(f.at(6), None))
    assert "verify-log: BROKEN" in text and "notification 2: edited" in text
    assert "disclosures: 0" in text
    assert "consents: given 0, refused 0, withdrawn 0" in text


def test_the_report_names_who_recorded_decisions_and_counts_reads_of_details() -> None:
    app = HubApplication(env={})
    sc = s.build(app)
    coordinator = Actor("coordinator-0002@city.test", Role.coordinator, ward="kokurakita")
    app.execute(f.consent(sc.case_id, occurred_at=f.at(9)), coordinator)
    auditor = Actor("auditor-0001@city.test", Role.auditor)
    app.record_access(auditor, sc.case_id, ["person.name"], "official_duty", "audit", at=f.at(8))
    history, reads = replay(log_entries(app)), access_log(app)
    app.close()

    text = "\n".join(
        render_report(
            history, [], verify(history, []), LogVerdict(1, 1), ALL_TIME, datetime.now(), reads
        )
    )

    assert "ConsentGiven — operator (operator): 1" in text
    assert "EmergencyDeclared — operator (operator): 1" in text
    assert "ConsentWithdrawn — operator (operator): 1" in text
    assert "ConsentGiven — coordinator-0002@city.test (coordinator): 1" in text
    assert "アクセス記録 personal data reads: 1 reads of 1 cases by 1 subjects" in text
    assert "auditor-0001@city.test (auditor): 1" in text
    # The basis in Japanese first (its article of the law), the code beside it.
    assert "  根拠 所掌事務（個人情報保護法第61条・第69条第1項） official_duty: 1" in text
    # A period before the read counts none.
    early = "\n".join(
        render_report(
            history,
            [],
            verify(history, []),
            LogVerdict(1, 1),
            Period(None, f.at(7)),
            datetime.now(),
            reads,
        )
    )
    assert "アクセス記録 personal data reads: 0 reads" in early


def test_a_malformed_disclosure_is_in_every_periods_report() -> None:
    # It has no instant to place it in a period: a report of any period must still show it.
    app = HubApplication(env={})
    sc = s.build(app)
    history = replay(log_entries(app))
    app.close()
    event = s.event_at(history, "ReferralMade", 1)
    edited = s.disclosure(
        event,
        "kokurakita.hoken",
        "consent",
        sc.consent_id,
        categories=["identity"],
        occurred_at="2025-04-14T09:00:00",
    )
    disclosures = [Disclosure.from_record(edited)]
    verdict = verify(history, disclosures)
    log = LogVerdict(events=24, links=24, head=HEAD)
    text = "\n".join(
        render_report(history, disclosures, verdict, log, Period(f.at(1), f.at(30)), datetime.now())
    )
    assert "1 of 1 disclosures had NO valid basis" in text
    assert edited["disclosure_id"] in text and "malformed record" in text


def test_a_period_given_in_another_zone_is_printed_in_jst() -> None:
    """`hub audit report --from 2025-03-31T15:00Z --to 2026-03-31T15:00Z` is 令和7年度: the
    page to sign says so in JST, as every time the hub prints for people, not in UTC."""
    from datetime import UTC

    period = Period(datetime(2025, 3, 31, 15, tzinfo=UTC), datetime(2026, 3, 31, 15, tzinfo=UTC))
    lines = _report(LogVerdict(events=24, links=24, head=HEAD), period)
    assert lines.splitlines()[1] == (
        "期間 period: 2025-04-01T00:00:00+09:00 – 2026-04-01T00:00:00+09:00"
    )


def test_subjects_past_the_ten_named_are_counted_and_the_command_naming_each_exists() -> None:
    """Past the 10 most active, a section counts the others and names a command that lists
    each: that command must exist and list them (it once named `hub audit replay --format
    json`, which lists none of them; the reads and searches were cut without a word)."""
    from typer.testing import CliRunner

    from ops.cli.main import app as cli
    from projections.audit.access import search_log

    app = HubApplication(env={})
    sc = s.build(app)
    for n in range(12):
        officer = Actor(f"試験-officer-{n:02}@city.test", Role.ward_officer, ward="kokurakita")
        app.execute(f.consent(sc.case_id, occurred_at=f.at(9)), officer)
        app.record_access(officer, sc.case_id, ["person.name"], "official_duty", "audit")
    history, reads, searches = replay(log_entries(app)), access_log(app), search_log(app)
    app.close()

    def lines(every: bool) -> list[str]:
        return render_report(
            history,
            [],
            verify(history, []),
            LogVerdict(1, 1),
            ALL_TIME,
            datetime.now(),
            reads,
            searches=searches,
            every_subject=every,
        )

    page = lines(False)
    more = [line for line in page if line.lstrip().startswith("… ")]
    assert more, page
    assert all("`hub audit report --every-subject` names each" in line for line in more), more
    assert "  … 2 more (`hub audit report --every-subject` names each)" in more
    assert all(_columns(line) <= 80 for line in page)
    every = "\n".join(lines(True))
    assert "names each" not in every
    for n in range(12):
        assert f"  試験-officer-{n:02}@city.test (ward_officer): 1" in every  # its reads
    help_text = CliRunner().invoke(cli, ["audit", "report", "--help"]).output
    assert "--every-subject" in help_text
