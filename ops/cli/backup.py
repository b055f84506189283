"""``hub backup FILE``: a consistent copy of the SQLite log of record, made while the hub's
processes run (SQLite's online backup: what is still in the write-ahead log is in the copy,
where ``cp`` of the file would miss it), private (0600) and checked: its hash chain is
recomputed before the command says it is good, and a copy that fails is removed."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from hub.errors import HubError, InvalidCommandError
from hub.files import private_file
from hub.settings import get_settings
from ops.cli._output import a_path
from ops.wiring import application, chain_verdict


class BackupUnverifiedError(HubError):
    """The copy's hash chain does not verify: it is not a backup to restore."""


def backup(
    target: Annotated[
        Path,
        typer.Argument(
            help="The copy to write (a new file).",
            parser=a_path,
        ),
    ],
) -> None:
    """Copy the SQLite log of record to FILE (0600) while the hub runs, and check its chain."""
    settings = get_settings()
    if settings.store != "sqlite":
        raise InvalidCommandError(
            "hub backup copies the SQLite store; back up PostgreSQL with its own tools "
            "(pg_dump of the hub's schema)"
        )
    source = settings.sqlite_file
    if not source.exists():
        raise InvalidCommandError(f"no SQLite store at {source} to back up")
    # The caller's slips, not the machine's: a folder named for the copy, or a file where a
    # folder of its path should be (a missing folder is made, 0700).
    if target.is_dir():
        raise InvalidCommandError(f"FILE {str(target)!r} is a folder, not a file")
    if blocking := next((p for p in target.parents if p.exists() and not p.is_dir()), None):
        raise InvalidCommandError(f"FILE: {str(blocking)!r} is a file, not a folder")
    if target.exists():
        raise InvalidCommandError(f"{target} exists: a backup never overwrites a file")
    settings.require_secrets()  # before a copy of the store exists, not after it is made
    private_file(target)  # 0600 before a byte of the store is in it
    try:
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
            live.backup(copy)
    except BaseException:  # a full disk, an interrupt: no half copy left to be taken for one
        target.unlink(missing_ok=True)
        raise
    try:
        verdict = chain_verdict(settings.model_copy(update={"sqlite_path": target}))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if not verdict.intact:
        assert verdict.first is not None
        target.unlink()  # under a backup's name, it would be restored one day
        raise BackupUnverifiedError(
            f"the copy {target} does not verify (notification {verdict.first.notification_id}, "
            f"{verdict.first.kind}), so it was removed: the store itself is as it was; see "
            "`hub audit verify-log`"
        )
    with application(settings.model_copy(update={"sqlite_path": target})) as app:
        plain = not settings.seals_personal or app.begun_in_plain()
    # A log begun by a release before sealing keeps its first events' details in clear:
    # no key kept apart protects those.
    held = (
        "the personal fields the log holds in plain (stored before sealing) are in clear "
        "in it: keep it as the people's records themselves"
        if plain
        else "keep HUB_KEK apart from it: the copy's personal fields read only with it"
    )
    typer.echo(
        f"バックアップ backup: {verdict.events} events, chain intact\n  {target} (0600; {held})"
    )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
