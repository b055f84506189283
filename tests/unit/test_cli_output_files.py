"""Files the command line is told to write that are no regular file: refused in one line
before anything is read or recorded, their mode left as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.application import HubApplication
from hub.settings import get_settings
from ops.cli.main import app as cli
from projections.audit.access import access_log
from tests import factories as f

runner = CliRunner()


@pytest.mark.timeout(30)
def test_a_subject_report_onto_a_pipe_is_refused_before_the_read_is_logged(
    cli_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--out /dev/null (or a pipe) was made 0600 (as root, /dev/null for every user of the
    host) after the person's details were read and the read logged; a pipe with no reader
    hung the command."""
    monkeypatch.setenv("HUB_OPERATOR", "shiken.kaiji@city.example")
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
    finally:
        app.close()
    pipe = cli_store / "pipe"
    os.mkfifo(pipe, 0o644)
    os.chmod(pipe, 0o644)
    result = runner.invoke(
        cli, ["privacy", "subject-report", "--case", str(case_id), "--out", str(pipe)]
    )
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"Error: --out {str(pipe)!r} is not a regular file"
    assert stat.S_IMODE(pipe.stat().st_mode) == 0o644
    app = HubApplication(env=get_settings().eventsourcing_env())
    try:
        assert access_log(app, case_id=str(case_id)) == []
    finally:
        app.close()


def test_a_backup_onto_a_link_to_nothing_is_one_line(cli_store: Path) -> None:
    """A symbolic link to nothing at the path (a review's attack): 'unexpected
    FileNotFoundError' and a traceback, not a line naming it."""
    HubApplication(env=get_settings().eventsourcing_env()).close()
    link = cli_store / "backup.sqlite"
    link.symlink_to(cli_store / "no-such-folder" / "x")
    result = runner.invoke(cli, ["backup", str(link)])
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line == f"Error: the hub's file {link} is a link to nothing"
    assert not (cli_store / "no-such-folder").exists()
