"""`hub audit report` checks the chain against the head the relay witnessed, as
`hub audit verify-log` does: a log cut short under its chain holds against itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.settings import get_settings
from ops.cli import audit
from ops.cli.main import app as cli
from projections.audit.tamper import Anchor
from tests import factories as f

runner = CliRunner()


def _a_log_of_a_few_events() -> int:
    app = HubApplication(env=get_settings().eventsourcing_env())
    app.execute(f.consultation(person=f.person(name="試験 花子")))
    last = app.recorder.max_notification_id()
    app.close()
    assert last is not None
    return last


def test_a_log_cut_short_of_its_witnessed_head_is_broken_on_the_page_to_sign(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report checked the store alone and said "intact" of a log whose tail a restore
    had cut (the relay had witnessed, and agencies hold, events past its end), where
    `hub audit verify-log` says `truncated`."""
    monkeypatch.setenv("HUB_MODE", "development")
    last = _a_log_of_a_few_events()
    monkeypatch.setattr(audit, "witnessed_head", lambda _settings: Anchor(last + 3, "a" * 64))

    result = runner.invoke(cli, ["audit", "report"])

    assert result.exit_code == 0, result.output
    assert "改ざん検証 verify-log: BROKEN" in result.stdout, result.stdout
    assert "truncated" in result.stdout
    assert "intact" not in result.stdout
    # The witnessed head is named, not said to hold under the finding that it does not.
    assert "holds" not in result.stdout, result.stdout
    assert f"証人の先頭 {last + 3} と照合 / checked against the witnessed head {last + 3}" in (
        result.stdout
    )


def test_the_page_says_what_the_chain_was_checked_against(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    _a_log_of_a_few_events()

    def no_broker(_settings: object) -> Anchor | None:
        raise AssertionError("--no-witness reads no broker")

    monkeypatch.setattr(audit, "witnessed_head", no_broker)
    alone = runner.invoke(cli, ["audit", "report", "--no-witness"])
    assert alone.exit_code == 0, alone.output
    assert "verify-log: intact" in alone.stdout
    # Japanese first, for the city office that signs the page (the English after it).
    assert "証人とは照合せず / not checked against a witness (--no-witness)" in alone.stdout

    monkeypatch.setattr(audit, "witnessed_head", lambda _settings: None)
    nothing = runner.invoke(cli, ["audit", "report"])
    assert "verify-log: intact" in nothing.stdout
    assert "証人の先頭はまだなし、保存された記録のみ検証 / no head witnessed" in nothing.stdout
    assert "yet: the store alone was checked" in nothing.stdout
