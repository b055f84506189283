"""One inbox, one agency: a path or schema setting without ``{agency}`` made two agencies'
clients share one inbox, and each listed the other's referrals (found by the production
walk). The inbox now records whose it is when first opened, and refuses any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consumers.config import ConsumerSettings, get_consumer_settings
from consumers.inbox import InboxOwnerError, open_inbox
from hub.settings import Settings, get_settings

FIRST, SECOND = "tobata.hogo", "moji.houkatsu"


def test_an_inbox_opened_for_another_agency_is_refused(tmp_path: Path) -> None:
    settings = Settings(mode="development", var_dir=tmp_path)
    shared = ConsumerSettings(agency_inbox_path=tmp_path / "inbox.sqlite")
    open_inbox(FIRST, settings, shared).close()
    open_inbox(FIRST, settings, shared).close()  # its own agency, again: fine
    with pytest.raises(InboxOwnerError, match=f"holds the records of {FIRST}, not {SECOND}"):
        open_inbox(SECOND, settings, shared)
    own = ConsumerSettings(agency_inbox_path=tmp_path / "{agency}.sqlite")
    for agency in (FIRST, SECOND):
        open_inbox(agency, settings, own).close()


def test_the_cli_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ops.cli.main import app as cli

    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(tmp_path / "inbox.sqlite"))
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(cli, ["agency", "inbox", "--agency", FIRST])
        assert first.exit_code == 0, first.output
        second = runner.invoke(cli, ["agency", "inbox", "--agency", SECOND])
        assert second.exit_code != 0 and "Traceback" not in second.output
        assert second.output.startswith("Error: this inbox holds the records of tobata.hogo")
    finally:
        get_settings.cache_clear()
        get_consumer_settings.cache_clear()


def test_an_empty_inbox_for_an_id_the_shipped_network_lacks_says_so_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agency's client holds no network (an agency may have joined since), so a mistyped
    id still reads its own empty inbox; a note on stderr names the ids it is close to."""
    from ops.cli.main import app as cli

    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    try:
        runner = CliRunner()
        typo = runner.invoke(cli, ["agency", "inbox", "--agency", "moji.houkatu", "--json"])
        assert typo.exit_code == 0, typo.output
        assert typo.stderr.startswith("Note: moji.houkatu is not in the network shipped")
        assert "did you mean moji.houkatsu or" in typo.stderr
        assert len(typo.stderr.splitlines()) == 1
        assert json.loads(typo.stdout)["referrals"] == []  # the answer itself is unchanged
        assert not (tmp_path / "var" / "agency" / "moji.houkatu.sqlite").exists()
        known = runner.invoke(cli, ["agency", "inbox", "--agency", SECOND, "--json"])
        assert known.exit_code == 0 and known.stderr == ""
        assert json.loads(known.stdout).keys() == json.loads(typo.stdout).keys()
        assert (tmp_path / "var" / "agency" / f"{SECOND}.sqlite").exists()
    finally:
        get_settings.cache_clear()
        get_consumer_settings.cache_clear()


def test_an_answer_for_an_agency_with_no_inbox_makes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub agency ack` for a mistyped id answered 'no referral' and left an empty inbox
    file for the typo behind (found by a review session)."""
    from ops.cli.main import app as cli

    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    try:
        ack = ["agency", "ack", "3f2a9c1e", "accepted", "--agency", "moji.houkatu"]
        typo = CliRunner().invoke(cli, ack)
        assert typo.exit_code == 3, typo.output
        assert "did you mean moji.houkatsu" in typo.stderr
        assert "Error: no referral 3f2a9c1e in this agency's inbox" in typo.stderr
        assert not (tmp_path / "var" / "agency" / "moji.houkatu.sqlite").exists()
    finally:
        get_settings.cache_clear()
        get_consumer_settings.cache_clear()
