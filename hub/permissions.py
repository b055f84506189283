"""Who besides the hub's own user may read or change a private key, or change a folder of
personal data, by its mode: refused outside development, as OpenSSH refuses a private key
that others can read (``sshkey_perm_ok``).

A key the hub's own user owns needs no group: any group bit is refused. A key another user
owns (root, with the group Debian's ``ssl-cert`` the hub's user is in) may be read by that
group, never written. A folder of personal data that its group or every user may write to
(unless sticky, as /tmp, where no one removes another's file) lets them delete or replace
what it holds."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hub.errors import InsecurePermissionsError


def key_exposure(path: Path) -> str | None:
    """Who else may read or change the key at ``path``, in words, or None."""
    found = path.stat()
    mode = stat.S_IMODE(found.st_mode)
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return "every user of this host"
    if mode & stat.S_IWGRP:
        return "its group, which may replace it"
    if mode & stat.S_IRGRP and found.st_uid == os.geteuid():
        return "its group, though the hub's own user owns it"
    return None


def folder_exposure(mode: int) -> str | None:
    """Who else may delete or replace the files of a folder of ``mode``, in words, or None."""
    if mode & stat.S_ISVTX:
        return None
    if mode & stat.S_IWOTH:
        return "every user of this host"
    if mode & stat.S_IWGRP:
        return "its group"
    return None


def check_private_key(path: Path, what: str, running: str) -> None:
    """Refuses (running in ``running`` mode) the key at ``path``, named as ``what``, when
    others may read or change it, naming the path and its mode."""
    exposed = key_exposure(path)
    if exposed is None:
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    raise InsecurePermissionsError(
        f"refusing to start in {running} mode: {what} {path} is open to {exposed} "
        f"(mode {mode:04o}): chmod 600 it (or 640 to a group such as ssl-cert, the key owned "
        "by root)"
    )
