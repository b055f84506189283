"""Personal data at rest is readable by the hub's user only, whatever the umask.

Another user on the host must not read the store, an agency's inbox or the broker's segment
files: the hub creates its folders 0700 and its files 0600 even under umask 000, and the
broker it starts writes its own files the same way.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.config import ConsumerSettings
from consumers.inbox import open_inbox
from hub.application import HubApplication
from hub.settings import Settings
from projections.runner import PROJECTIONS, open_projection, rebuild_all
from tests import factories as f
from tests.ports import free_ports, run_hub

pytestmark = pytest.mark.integration

UMASKS = [0o000, 0o022]


@pytest.fixture(params=UMASKS, ids=["umask000", "umask022"])
def permissive(request: pytest.FixtureRequest) -> Iterator[int]:
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def not_private(root: Path) -> list[str]:
    """Everything below ``root`` (root included) that a group or other users may use; the
    hub's folders are exactly 0700 (the broker may keep a file stricter than 0600)."""
    paths = [root, *(p for p in root.rglob("*") if not p.is_symlink())]
    return [
        f"{p} {mode(p)}"
        for p in paths
        if p.stat().st_mode & 0o077 or (p.is_dir() and mode(p) != "0o700")
    ]


def test_the_store_and_what_sqlite_keeps_beside_it_are_private(
    permissive: int, tmp_path: Path
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    app = HubApplication(env=settings.eventsourcing_env())
    try:
        app.execute(f.consultation())
        store = settings.sqlite_file
        assert Path(f"{store}-wal").exists()  # the library keeps the store in WAL mode
        assert not_private(tmp_path / "var") == []
        for name in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
            assert mode(name) == "0o600"
    finally:
        app.close()


def test_the_views_beside_the_store_are_private(permissive: int, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    app = HubApplication(env=settings.eventsourcing_env())
    try:
        app.execute(f.consultation())
        env = settings.eventsourcing_env()
        rebuild_all([open_projection(name, env) for name in PROJECTIONS], app)
        views = sorted((tmp_path / "var").glob("hub.*.sqlite"))
        assert [view.name.split(".")[1] for view in views] == sorted(PROJECTIONS)
        assert not_private(tmp_path / "var") == []
    finally:
        app.close()


def test_a_store_an_earlier_version_left_readable_is_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    for name in ("hub.sqlite", "hub.sqlite-wal"):
        (var / name).touch()
        (var / name).chmod(0o644)
    Settings(var_dir=var).eventsourcing_env()
    assert not_private(var) == []
    assert mode(var / "hub.sqlite") == mode(var / "hub.sqlite-wal") == "0o600"


def test_an_explicit_store_in_a_shared_folder_leaves_the_folder_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    Settings(sqlite_path=shared / "private" / "hub.sqlite").eventsourcing_env()
    assert mode(shared) == "0o1777"
    assert not_private(shared / "private") == []


def test_an_agencys_inbox_is_private(permissive: int, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    inbox = open_inbox("moji.houkatsu", settings, ConsumerSettings())
    try:
        inbox.park("referrals.moji.houkatsu", 0, 7, "試験: a bad record")
        assert inbox.parked_count() == 1
        file = tmp_path / "var" / "agency" / "moji.houkatsu.sqlite"
        assert Path(f"{file}-wal").exists()
        assert not_private(tmp_path / "var") == []
        assert (mode(file), mode(file.parent)) == ("0o600", "0o700")
    finally:
        inbox.close()


def test_the_demos_home_is_private(permissive: int, tmp_path: Path) -> None:
    from ops.demo.pipeline import DemoOptions, _wipe

    home = tmp_path / "var" / "demo"
    _wipe(Settings(var_dir=tmp_path / "var"), DemoOptions(home=home, start_services=False))
    assert not_private(tmp_path / "var") == []


def test_the_development_issuers_key_and_jwks_are_private(permissive: int, tmp_path: Path) -> None:
    from ops.identity.dev_issuer import jwks_path, signing_key

    settings = Settings(var_dir=tmp_path / "var", mode="development")
    signing_key(settings)  # what `hub serve` and `hub dev token` do first
    assert mode(jwks_path(settings)) == "0o600"
    assert not_private(tmp_path / "var") == []


def test_a_jwks_an_earlier_version_left_readable_is_tightened(tmp_path: Path) -> None:
    from ops.identity.dev_issuer import jwks_path, signing_key

    settings = Settings(var_dir=tmp_path / "var", mode="development")
    signing_key(settings)
    jwks_path(settings).chmod(0o644)
    signing_key(settings)
    assert mode(jwks_path(settings)) == "0o600"


def test_the_brokers_data_and_logs_are_private_under_umask_000(tmp_path: Path) -> None:
    """A broker of its own (free ports, its own var dir), started and used under umask 000."""
    client, controller = free_ports(2)
    env = {
        **os.environ,
        "HUB_MODE": "development",
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{client}",
        "HUB_KAFKA_CONTROLLER_PORT": str(controller),
        "HUB_KAFKA_TOPIC_PREFIX": "",
    }

    def hub(*args: str) -> subprocess.CompletedProcess[str]:
        return run_hub(env, *args, umask=0o000)

    try:
        started = hub("services", "up", "kafka")
        assert started.returncode == 0, started.stdout + started.stderr
        smoke = hub("smoke")  # a record on a topic: a segment file with data in it
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        segments = list((tmp_path / "var" / "kafka" / "data" / "ops.smoke-0").glob("*.log"))
        assert segments and any(s.stat().st_size > 0 for s in segments)
        assert not_private(tmp_path / "var") == []
    finally:
        stopped = hub("services", "down", "kafka")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
