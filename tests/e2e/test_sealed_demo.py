"""Personal fields at rest (issue 19): after the demo's main job no name or address of its
people is in the store's bytes, and every view and report equals a run without sealing."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from hub.settings import get_settings
from ops.demo.generator import generate_year
from ops.demo.pipeline import DemoOptions, DemoOutcome, run_demo
from ops.services.kafka import KafkaStatus

UNTIL = date(2025, 4, 30)


def _people() -> set[str]:
    """Every name, kana and address the demo's commands give the hub."""
    found: set[str] = set()
    for command in generate_year(until=UNTIL).timeline():
        person = getattr(command, "person", None)
        if person is not None:
            found |= {t for t in (person.name, person.kana, person.address) if t}
    return found


def _demo(home: Path, monkeypatch: pytest.MonkeyPatch, *, sealed: bool) -> DemoOutcome:
    monkeypatch.setenv("HUB_SEAL_PERSONAL", "y" if sealed else "n")
    get_settings.cache_clear()
    try:
        return run_demo(DemoOptions(until=UNTIL, home=home, start_services=False))
    finally:
        get_settings.cache_clear()


def _views(home: Path) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for path in sorted(home.glob("hub.*.sqlite")):  # the projections' stores
        with sqlite3.connect(path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                rows[f"{path.name}:{table}"] = sorted(
                    repr(r) for r in db.execute(f'SELECT * FROM "{table}"')
                )
    return rows


def _figures(outcome: DemoOutcome) -> dict[str, object]:
    audit = outcome.audit
    assert audit is not None
    return {
        "indicators": outcome.indicators,
        "agencies": outcome.agencies,
        "consent": outcome.consent,
        "relay": outcome.relay,
        "replies": outcome.replies,
        "audit": (audit.valid, audit.log_events, audit.disclosures_by_basis, audit.subjects),
        "unavailable": outcome.unavailable,
    }


def _found(home: Path, texts: set[str]) -> set[str]:
    stored = b"".join(p.read_bytes() for p in sorted(home.glob("hub*.sqlite*")))
    return {t for t in texts if t.encode("utf-8") in stored}


@pytest.mark.e2e
def test_the_store_holds_no_name_or_address_and_every_view_and_report_is_unchanged(
    kafka_broker: KafkaStatus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _people()
    assert len(people) > 50

    plain = _demo(tmp_path / "plain", monkeypatch, sealed=False)
    # The scan can fail: without sealing the log holds every one of them.
    assert _found(tmp_path / "plain", people) == people

    sealed = _demo(tmp_path / "sealed", monkeypatch, sealed=True)
    assert _found(tmp_path / "sealed", people) == set()
    assert sealed.audit is not None and sealed.audit.valid

    assert _figures(sealed) == _figures(plain)
    assert _views(tmp_path / "sealed") == _views(tmp_path / "plain")
    for report in ("indicators-R7.csv", "indicators-R7.xlsx"):
        if report.endswith(".csv"):
            assert (tmp_path / "sealed" / report).read_bytes() == (
                tmp_path / "plain" / report
            ).read_bytes()
