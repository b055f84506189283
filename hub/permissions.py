"""Who besides the hub's own user may read or change a private key, or change a folder of
personal data, by its mode: refused outside development, as OpenSSH refuses a private key
that others can read (``sshkey_perm_ok``).

A key the hub's own user owns needs no group: any group bit is refused. A key root owns
(with the group Debian's ``ssl-cert`` the hub's user is in) may be read by that group, never
written; a key any other user owns is refused, since its owner may rewrite it, and so is a
key (or the symbolic link naming it) in a folder others may write to. A folder of personal
data that its group or every user may write to (unless sticky, as /tmp, where no one removes
another's file) lets them delete or replace what it holds."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hub.errors import InsecurePermissionsError


def key_exposure(path: Path) -> str | None:
    """Who else may read or change the key at ``path``, in words, or None: by its mode, its
    owner (the hub's own user or root: any other owner may rewrite it), and the folders
    that hold it and, for a symbolic link, the link (one its group or every user may write
    to, unless sticky, lets them put another key, or another link, in its place)."""
    found = path.stat()
    mode = stat.S_IMODE(found.st_mode)
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return "every user of this host"
    if mode & stat.S_IWGRP:
        return "its group, which may replace it"
    if mode & stat.S_IRGRP and found.st_uid == os.geteuid():
        return "its group, though the hub's own user owns it"
    if found.st_uid not in (os.geteuid(), 0):
        return f"its owner, another user (uid {found.st_uid}), who may replace it"
    for folder in dict.fromkeys((path.absolute().parent, path.resolve().parent)):
        exposed = folder_exposure(folder.stat().st_mode)
        if exposed is not None:
            return f"{exposed}, who may replace it in its folder {folder}"
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
        "by root), owned by the hub's own user or root, in a folder only they may write to"
    )
