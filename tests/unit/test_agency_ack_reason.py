"""`hub agency ack --reason`: the decline's free text is a personal field (ReferralAnswered's
``reason``), so outside development mode it goes on stdin, never as an argument, as `hub
command` refuses a person's details there (README: `ps` shows arguments to every user)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consumers.config import get_consumer_settings
from hub.settings import Settings, get_settings
from ops.cli.agency import reason_text
from ops.cli.main import app as cli

runner = CliRunner()
REASON = "試験 花子さんは架空病院に入院中"
ACK = ["agency", "ack", "3f2a9c1e", "declined", "--agency", "moji.houkatsu"]


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HUB_MODE", "production")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(tmp_path / "var" / "agency" / "{agency}.db"))
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()


def test_a_reason_given_as_an_argument_is_refused_in_production(production: Path) -> None:
    refused = runner.invoke(cli, [*ACK, "--reason", REASON])
    assert refused.exit_code == 2, refused.output
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("Error: --reason: free text about a person is refused as an argument")
    assert "--reason - < FILE" in line and REASON not in refused.output
    assert not (production / "var").exists()  # refused before the inbox was opened
    # From stdin it passes this check (and meets the next: the agency's own password).
    piped = runner.invoke(cli, [*ACK, "--reason", "-"], input=REASON + "\n")
    assert "free text about a person" not in piped.output
    assert "HUB_PROVISIONING_SECRET" in piped.stderr and REASON not in piped.output


def test_stdin_gives_the_reason_and_development_takes_an_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"\ufeff {REASON}\n"))
    assert reason_text("-", Settings(mode="production")) == REASON
    assert reason_text(None, Settings(mode="production")) is None
    assert reason_text(REASON, Settings(mode="development")) == REASON


def test_the_sent_line_keeps_the_reply_id_on_it_at_any_width() -> None:
    """Piped at 80 columns, the reply id went to a line of its own, and a script reading
    the line got half of it."""
    from ops.cli import agency

    line = (
        f"受諾を送信 / accepted sent for referral {'3f2a9c1e-' * 4}0001 "
        f"(reply {'816a5c36-' * 4}0002)"
    )
    with agency.out.capture() as captured:
        agency.out.print(line, width=60)
    assert captured.get() == line + "\n"
