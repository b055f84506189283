"""A folder named for the hub's that holds another user's files is theirs too: the hub does
not close it (``HUB_VAR_DIR=/var/lib`` by mistake, run as root, would lock PostgreSQL out of
its data folder). Its own files and folders in it are private all the same."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from ops.services import kafka

OTHER = "nobody"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file of another user needs root")
def test_a_var_dir_holding_another_users_folder_is_left_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "lib"
    theirs = shared / "postgresql"
    theirs.mkdir(parents=True)
    shared.chmod(0o755)
    theirs.chmod(0o700)
    shutil.chown(theirs, OTHER)
    _case_list(shared, monkeypatch)
    assert mode(shared) == 0o755
    assert mode(shared / "hub.sqlite") == 0o600
    assert mode(theirs) == 0o700 and theirs.owner() == OTHER


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file of another user needs root")
def test_a_var_dir_that_is_a_volume_of_its_own_is_closed_whatever_owns_lost_and_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A var folder on a volume of its own holds lost+found, owned by root where the hub runs
    as its own user: it counted as another user's folder, and the var folder stayed open."""
    var = tmp_path / "var"
    found = var / "lost+found"
    found.mkdir(parents=True)
    var.chmod(0o755)
    shutil.chown(found, OTHER)
    _case_list(var, monkeypatch)
    assert mode(var) == 0o700
    assert found.owner() == OTHER


def test_a_var_dir_of_the_hubs_own_is_still_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    (var / "agency").mkdir(parents=True)
    var.chmod(0o755)
    _case_list(var, monkeypatch)
    assert mode(var) == 0o700


def _case_list(var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MODE", "development")
    monkeypatch.setenv("HUB_VAR_DIR", str(var))
    monkeypatch.delenv("HUB_SQLITE_PATH", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["case", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output


def test_a_var_dir_holding_folders_others_may_enter_is_left_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HUB_VAR_DIR=/var`` as root: every folder in it is root's, and others enter them."""
    var = tmp_path / "var"
    (var / "lib").mkdir(parents=True, mode=0o755)
    (var / "lib").chmod(0o755)
    var.chmod(0o755)
    _case_list(var, monkeypatch)
    assert mode(var) == 0o755
    assert mode(var / "hub.sqlite") == 0o600


def test_the_hubs_own_folders_an_earlier_release_left_open_do_not_keep_it_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    for name in ("agency", "keys", "kafka"):
        (var / name).mkdir(parents=True)
        (var / name).chmod(0o755)
    var.chmod(0o755)
    _case_list(var, monkeypatch)
    assert mode(var) == 0o700


def test_the_brokers_folder_left_open_with_its_own_folders_open_is_closed_at_once(
    tmp_path: Path,
) -> None:
    """An earlier release left the broker's folder and its data and logs 0755: its own
    folders open made the broker's folder look shared, and it stayed open for that start."""
    settings = Settings(var_dir=tmp_path / "var")
    paths = kafka.KafkaPaths.of(settings)
    for folder in (paths.home, paths.data, paths.logs, paths.home / "tls"):
        folder.mkdir(parents=True)
        folder.chmod(0o755)
    kafka.write_config(settings, paths)
    assert {p.name: mode(p) for p in (paths.home, paths.data, paths.logs)} == {
        "kafka": 0o700,
        "data": 0o700,
        "logs": 0o700,
    }
    assert mode(paths.home / "tls") == 0o700


def test_production_refuses_a_store_in_a_folder_anyone_may_empty(tmp_path: Path) -> None:
    """HUB_VAR_DIR in a folder made 0777 was used as it was (its mode left alone): any user
    could delete or replace the log of record and its write-ahead log. A sticky folder
    (/tmp) lets no one remove another's file, and development takes any folder."""
    from hub.errors import ConfigurationError

    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    secrets = {
        name: f"試験-{name}-0123456789abcdefghijklmnopqrstuvwxyz"
        for name in (
            "provisioning_secret",
            "pseudonym_key",
            "kek",
            "kafka_password",
            "kafka_controller_secret",
        )
    }
    production = Settings(mode="production", var_dir=open_to_all, **secrets)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"folder of the store, .*open, is writable"):
        production.eventsourcing_env()
    assert not (open_to_all / "hub.sqlite").exists()
    Settings(mode="development", var_dir=open_to_all).eventsourcing_env()
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    Settings(mode="production", sqlite_path=sticky / "hub.sqlite", **secrets).eventsourcing_env()  # type: ignore[arg-type]
    assert mode(open_to_all) == 0o777 and mode(sticky) == 0o1777


def test_production_refuses_a_store_in_a_folder_its_group_may_empty(tmp_path: Path) -> None:
    """HUB_SQLITE_PATH in a folder left 0770 or 0775 (a group of users may delete or replace
    the log of record) passed where 0777 was refused: refused by name with its path and
    mode; sticky (01770) and development take it as before."""
    from hub.errors import InsecurePermissionsError

    secrets = {
        name: f"試験-{name}-0123456789abcdefghijklmnopqrstuvwxyz"
        for name in (
            "provisioning_secret",
            "pseudonym_key",
            "kek",
            "kafka_password",
            "kafka_controller_secret",
        )
    }
    grouped = tmp_path / "grouped"
    grouped.mkdir()
    for bits in (0o770, 0o775, 0o730):
        grouped.chmod(bits)
        store = grouped / "hub.sqlite"
        production = Settings(mode="production", sqlite_path=store, **secrets)  # type: ignore[arg-type]
        with pytest.raises(InsecurePermissionsError) as refused:
            production.eventsourcing_env()
        assert f"{grouped}, is writable by its group (mode {bits:04o})" in str(refused.value)
        assert not (grouped / "hub.sqlite").exists()
    Settings(mode="development", sqlite_path=grouped / "hub.sqlite").eventsourcing_env()
    # The hub's own var folder left 0770 is not refused but closed (0700), as before.
    var = tmp_path / "var"
    var.mkdir()
    var.chmod(0o770)
    Settings(mode="production", var_dir=var, **secrets).eventsourcing_env()  # type: ignore[arg-type]
    assert mode(var) == 0o700
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1770)
    Settings(mode="production", sqlite_path=sticky / "hub.sqlite", **secrets).eventsourcing_env()  # type: ignore[arg-type]


def test_production_refuses_an_agency_inbox_in_a_folder_anyone_may_empty(tmp_path: Path) -> None:
    """The same for an agency's inbox (HUB_AGENCY_INBOX_PATH): it holds people's details."""
    from consumers.config import ConsumerSettings
    from consumers.inbox import open_inbox
    from hub.errors import ConfigurationError

    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    where = ConsumerSettings(agency_inbox_path=open_to_all / "{agency}.sqlite")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match=r"folder of the agency's inbox, .*open, is"):
        open_inbox("moji.houkatsu", Settings(mode="production"), where)
    assert not (open_to_all / "moji.houkatsu.sqlite").exists()
    open_inbox("moji.houkatsu", Settings(mode="development"), where).close()
