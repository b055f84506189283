"""Making the store private while the hub has it open keeps the hub's SQLite locks.

``hub serve`` opens the relay's ledger (and so ``private_sqlite`` on the live store) at each
inbox page. A descriptor of the file opened and closed by the hub drops every POSIX lock the
process holds on it: another process (the relay, ``hub audit verify``, the sqlite3 shell)
then believes it is the store's last user, checkpoints and deletes the -wal and -shm files,
and the hub's next writes go to a deleted file: answered as written, lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from hub.files import private_sqlite

OTHER_PROCESS = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
    "print(c.execute('SELECT count(*) FROM t').fetchone()[0]); c.close()"
)


def _count_in_another_process(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


def test_a_write_after_the_store_was_made_private_again_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    live = sqlite3.connect(path, isolation_level=None)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE t (n INTEGER)")
    live.execute("INSERT INTO t VALUES (1)")
    private_sqlite(path)  # as each open of the ledger does, the store open in this process
    assert _count_in_another_process(path) == 1  # a reader comes and goes
    assert Path(f"{path}-wal").exists(), "the other process deleted the live store's WAL"
    live.execute("INSERT INTO t VALUES (2)")
    assert _count_in_another_process(path) == 2
    live.close()


def test_a_file_that_is_no_store_is_still_told_apart(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    cert.chmod(0o644)
    private_sqlite(cert)
    assert cert.stat().st_mode & 0o777 == 0o644
    store = tmp_path / "hub.sqlite"
    sqlite3.connect(store).execute("CREATE TABLE t (n INTEGER)").connection.commit()
    store.chmod(0o644)
    private_sqlite(store)
    assert store.stat().st_mode & 0o777 == 0o600


def test_asking_sqlite_makes_no_file_beside_a_store_in_no_ones_hands(tmp_path: Path) -> None:
    """A read-only connection to a WAL store nobody had open made its -wal and -shm files
    (with the store's mode), and could not remove them: left beside a backup being
    verified, or a store the hub was about to refuse. A name SQLite's URIs would misread
    (?, #, %, a space) still names the file."""
    folder = tmp_path / "a b?#%20 日本"
    folder.mkdir()
    store = folder / "hub?mode=rw#1.sqlite"
    made = sqlite3.connect(store)
    made.execute("PRAGMA journal_mode=WAL")
    made.execute("CREATE TABLE t (n INTEGER)")
    made.commit()
    made.close()
    store.chmod(0o644)
    private_sqlite(store)
    assert sorted(p.name for p in folder.iterdir()) == [store.name]
    assert store.stat().st_mode & 0o777 == 0o600
    cert = folder / "cert?.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    cert.chmod(0o644)
    private_sqlite(cert)
    assert cert.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in folder.iterdir()) == sorted([store.name, cert.name])
