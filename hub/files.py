"""Files and folders holding personal data: readable by the hub's own user only.

The modes are set explicitly, whatever the umask: folders the hub creates are 0700, the files
it creates 0600. A folder that already existed is tightened only when it is the hub's own
(``tighten=True``), and never when it is shared (world-writable or sticky, such as /tmp, or
holding another user's files or a folder others may enter, such as /var and /var/lib).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

from hub.errors import StoreUnavailableError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# What SQLite writes beside a database file; it gives them the database file's mode.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class NotAFileError(StoreUnavailableError):
    """A file of the hub is named where a folder or a device is; its mode was left as it is."""


class NotAFolderError(StoreUnavailableError):
    """A folder of the hub is named where a file is; its mode was left as it is."""


# The folders the hub makes in its var folder (0700 now; an earlier release may have left
# them open): any other folder others may enter there is not the hub's.
OWN_FOLDERS = frozenset({"agency", "keys", "oidc", "kafka", "kafka-cluster", "demo", "bench"})


def _shared(path: Path) -> bool:
    """World-writable or sticky (/tmp), or holding another user's file or folder, or a folder
    of others that they may enter (/var or /var/lib named by mistake and run as root: closing
    it would lock PostgreSQL and every other service out of their data)."""
    if path.stat().st_mode & (stat.S_IWOTH | stat.S_ISVTX):
        return True
    me = os.geteuid()
    try:
        with os.scandir(path) as entries:
            return any(_not_the_hubs(entry, me) for entry in entries)
    except OSError:  # not ours to list (nor, then, to close): left as it is
        return True


# What a file system puts at the top of a volume: a var folder of its own volume (as README
# advises) holds it, owned by root, and is the hub's all the same.
VOLUME_ENTRIES = frozenset({"lost+found"})


def _not_the_hubs(entry: os.DirEntry[str], me: int) -> bool:
    if entry.name in VOLUME_ENTRIES:
        return False
    found = entry.stat(follow_symlinks=False)
    if found.st_uid != me:
        return True
    entered = stat.S_ISDIR(found.st_mode) and found.st_mode & (stat.S_IXGRP | stat.S_IXOTH)
    return bool(entered) and entry.name not in OWN_FOLDERS


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """``path`` as a folder: missing ones (parents too) created 0700; an existing one made
    0700 too if ``tighten`` and it is not shared."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            with contextlib.suppress(FileExistsError):
                folder.mkdir(mode=PRIVATE_DIR)
        except OSError as error:  # a read-only or full disk, a folder of another user
            raise StoreUnavailableError(
                f"the hub's folder {folder} cannot be created ({error.strerror})"
            ) from error
        _set_mode(folder, PRIVATE_DIR)
    if not missing and not path.is_dir():  # a file, a device: never chmod it as a folder
        raise NotAFolderError(f"the hub's folder {path} is a file, not a folder")
    if tighten and not missing and not _shared(path):
        _set_mode(path, PRIVATE_DIR)
    return path


def _set_mode(path: Path, mode: int) -> None:
    """``chmod`` only when the mode differs: what is already private is not written to (a
    store on read-only media is read). A mode that cannot be set is one error line (a
    folder's or file's path names no person)."""
    if stat.S_IMODE(path.stat().st_mode) == mode:
        return
    try:
        path.chmod(mode)
    except FileNotFoundError:
        raise
    except OSError as error:  # a read-only disk, a file of another user
        kind = "folder" if mode == PRIVATE_DIR else "file"
        raise StoreUnavailableError(
            f"the hub's {kind} {path} cannot be made private ({error.strerror})"
        ) from error


def private_file(path: Path, *, keep_read_only: bool = False) -> Path:
    """``path`` as a file of the hub: created empty if missing, 0600 either way; with
    ``keep_read_only`` an existing file only loses group's and others' bits (a store the
    hub reads: a backup its owner made 0400 stays so when it is verified)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
    except FileExistsError:
        # No descriptor on a file that exists: it may be a live SQLite database, and closing
        # any descriptor of it drops every POSIX lock this process holds on it, so another
        # process may then delete the -wal/-shm files under us ("disk I/O error").
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:  # O_EXCL met a symbolic link to nothing
            raise NotAFileError(f"the hub's file {path} is a link to nothing") from None
        if not stat.S_ISREG(mode):
            # A folder (HUB_SQLITE_PATH=/ or the current one) or a device (/dev/full) made
            # 0600 would lock its owner out of it, or every other user out of the device.
            raise NotAFileError(f"the hub's file {path} is not a regular file") from None
        kept = stat.S_IMODE(mode) & PRIVATE_FILE
        _set_mode(path, kept if keep_read_only else PRIVATE_FILE)
        return path
    except OSError as error:
        raise StoreUnavailableError(
            f"the hub's file {path} cannot be created ({error.strerror})"
        ) from error
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def _not_a_database(path: Path) -> bool:
    """A regular file with something in it that SQLite refuses as no database (SQLITE_NOTADB;
    one the hub cannot read is left to the checks that follow).

    Asked of SQLite itself, read-only, never by a descriptor of our own: the store may be
    open in this process (each open of the relay's ledger comes here), and closing any other
    descriptor of it would drop every POSIX lock the process holds on it, so that another
    process could delete the -wal and -shm files under the hub and its next writes be lost.
    SQLite keeps a file's descriptors open while its own connections hold locks on it.
    ``immutable``: only the file's first page is read, without its -wal and -shm, which a
    read-only connection to a WAL store in no one's hands made and could not remove."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size == 0:
            return False
    except OSError:
        return False
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return False
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB
    finally:
        probe.close()
    return False


def private_sqlite(path: Path) -> Path:
    """An SQLite database file (and whatever SQLite keeps beside it) at 0600.

    SQLite creates its -wal and -shm files with the database file's mode, so creating the
    database file first at 0600 keeps them private too.
    """
    if _not_a_database(path):
        # A certificate or a text file named by mistake (HUB_SQLITE_PATH=cert.pem): SQLite
        # refuses it (SQLITE_NOTADB), and its mode stays the one its owner gave it.
        return path
    private_file(path, keep_read_only=True)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            _set_mode(side, PRIVATE_FILE)
    return path


def tighten_tree(roots: Iterable[Path]) -> None:
    """Folders 0700 and files 0600 below each root (data written before modes were set)."""
    for root in roots:
        if not root.is_dir():
            continue
        root.chmod(PRIVATE_DIR)
        for folder, dirs, files in os.walk(root):
            for name, mode in [(d, PRIVATE_DIR) for d in dirs] + [(f, PRIVATE_FILE) for f in files]:
                path = Path(folder) / name
                if not path.is_symlink():
                    with contextlib.suppress(FileNotFoundError):
                        path.chmod(mode)
