"""What `hub services` generates and says, without starting anything."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from hub.errors import ConfigurationError, ServiceUnavailableError, password_refused
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from ops.services import kafka, postgres


def test_the_broker_denies_everything_without_an_acl_except_to_its_super_users(tmp_path):
    props = kafka.server_properties(Settings(), kafka.KafkaPaths(tmp_path))
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"].split(";") == ["User:admin", "User:controller"]
    assert props["listener.security.protocol.map"] == (
        "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert props["log.dirs"] == str(tmp_path / "data")


def test_the_controller_listener_takes_only_its_own_plain_user_with_the_secret_setting(tmp_path):
    # KRaft keeps SCRAM credentials in the metadata the controller serves: PLAIN it is.
    settings = Settings(kafka_controller_secret="試験-controller-secret")
    props = kafka.server_properties(settings, kafka.KafkaPaths(tmp_path))
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    jaas = props["listener.name.controller.plain.sasl.jaas.config"]
    assert 'username="controller" password="試験-controller-secret"' in jaas
    assert jaas.count("user_") == 1  # no other user may log in on the controller listener
    assert "ANONYMOUS" not in props["super.users"]


def test_ports_and_user_come_from_the_settings(tmp_path):
    settings = Settings(
        kafka_bootstrap="127.0.0.1:29092", kafka_controller_port=29093, kafka_user="root-of-hub"
    )
    props = kafka.server_properties(settings, kafka.KafkaPaths(tmp_path))
    assert props["listeners"] == "CLIENT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["super.users"].startswith("User:root-of-hub;")
    assert 'username="root-of-hub"' in props["listener.name.client.scram-sha-512.sasl.jaas.config"]


def test_missing_java_or_maven_is_one_line_naming_the_install_command(monkeypatch):
    monkeypatch.setattr(kafka.shutil, "which", lambda tool: None)
    with pytest.raises(ServiceUnavailableError) as caught:
        kafka._require("java", "mvn")
    message = str(caught.value)
    assert "\n" not in message
    assert "java, mvn" in message
    assert "apt-get install openjdk-17-jre-headless maven" in message


def test_missing_postgresql_is_one_line_naming_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(postgres, "PG_ROOT", tmp_path)
    with pytest.raises(ServiceUnavailableError) as caught:
        postgres.installed_version()
    assert str(caught.value) == (
        "PostgreSQL is not installed; install it with: apt-get install postgresql"
    )


def test_provisioning_sql_is_idempotent_and_sets_a_verifier_not_the_password():
    sql = postgres.provision_sql(Settings(mode="development", postgres_password="it's"))
    assert "WHERE NOT EXISTS" in sql
    assert 'ALTER ROLE "hub" WITH LOGIN CREATEDB PASSWORD \'SCRAM-SHA-256$4096:' in sql
    # The role's creation is a text psql runs (\gexec): the verifier quoted twice over.
    assert "CREATE ROLE \"hub\" WITH LOGIN CREATEDB PASSWORD ''SCRAM-SHA-256$4096:" in sql
    assert "it's" not in sql and "it''s" not in sql


def test_outside_development_an_existing_roles_password_is_left_alone():
    """A mistyped HUB_POSTGRES_PASSWORD given to `hub services up postgres` would otherwise
    become the role's password and lock every other process out."""
    sql = postgres.provision_sql(
        Settings(mode="production", postgres_password="a-試験-password-of-32-bytes-or-more")
    )
    assert "ALTER ROLE" not in sql
    assert "CREATE ROLE" in sql and "PASSWORD ''SCRAM-SHA-256$4096:" in sql


def test_a_refused_password_is_told_apart_from_a_server_away():
    refused = OSError('connection failed: FATAL:  password authentication failed for user "hub"')
    away = OSError("connection failed: Connection refused\n\tIs the server running on that host")
    assert password_refused(RuntimeError("store")) is False
    wrapped = RuntimeError("store")
    wrapped.__cause__ = refused
    assert password_refused(wrapped) and not password_refused(away)


def test_a_refusal_in_the_servers_japanese_is_a_refused_password():
    """A server set up on a Japanese machine answers in Japanese (its lc_messages)."""
    refused = OSError('connection failed: FATAL:  ユーザー"hub"のパスワード認証に失敗しました')
    missing = OSError('connection failed: FATAL:  データベース"hub"は存在しません')
    assert password_refused(refused) and not password_refused(missing)


def test_postgres_is_stopped_only_in_development_and_only_on_this_host():
    with pytest.raises(ConfigurationError, match="outside development mode"):
        postgres.check_may_stop(Settings(mode="production"))
    with pytest.raises(ConfigurationError, match="this machine's cluster only"):
        postgres.check_may_stop(Settings(mode="development", postgres_host="db.example.invalid"))
    # A database elsewhere that does not answer is never "started" here.
    with pytest.raises(ConfigurationError, match="this machine's cluster only"):
        postgres.up(Settings(mode="development", postgres_host="db.example.invalid"))
    # A socket folder is this machine's cluster.
    postgres.check_may_stop(Settings(mode="development", postgres_host="/var/run/postgresql"))


def test_services_down_all_refuses_before_it_stops_anything(monkeypatch, tmp_path):
    """In production `down all` would stop Kafka, then refuse PostgreSQL: half done."""
    stopped: list[str] = []
    monkeypatch.setattr(kafka, "down", lambda settings: stopped.append("kafka") or True)
    monkeypatch.setenv("HUB_MODE", "production")
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["services", "down", "all"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "outside development mode" in result.output
    assert stopped == []


@pytest.mark.parametrize("returncode", [0, 1])
def test_the_super_users_password_is_never_in_the_storage_tools_arguments(
    tmp_path, monkeypatch, returncode
):
    password = '試験 super "user" pass\\word-0123456789'
    settings = Settings(var_dir=tmp_path, kafka_password=SecretStr(password))
    paths = kafka.KafkaPaths.of(settings)
    kafka.write_config(settings, paths)
    seen: list[tuple[list[str], list[tuple[int, str]]]] = []

    def run(cmd, **kwargs):
        files = [Path(a[1:]) for a in cmd if a.startswith("@")]
        seen.append((cmd, [(stat.S_IMODE(f.stat().st_mode), f.read_text("utf-8")) for f in files]))
        return subprocess.CompletedProcess(cmd, returncode, "", "")

    monkeypatch.setattr(kafka.subprocess, "run", run)
    if returncode:
        with pytest.raises(ServiceUnavailableError, match="storage format failed"):
            kafka.format_storage(settings, paths)
    else:
        kafka.format_storage(settings, paths)
    [(cmd, argfiles)] = seen
    assert not any(password in a or "password=" in a for a in cmd)
    [(mode, text)] = argfiles
    assert mode == 0o600
    assert "kafka.tools.StorageTool" in text and "--add-scram" in text
    assert password not in text and ",password=" not in text  # the salted password only
    assert "saltedpassword=" in text
    assert not list(paths.home.glob(".java-args-*"))  # removed after the run
