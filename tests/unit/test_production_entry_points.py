"""Every entry point that opens the store or Kafka refuses the public secrets in production.

An attacker who read the source knows the development defaults; a hub started with them in
production would hand out every principal's password. Each command below is started as an
operator would, without ``HUB_MODE=development``: it must stop with one line naming the
variable, before touching the store or the broker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from consumers.config import get_consumer_settings
from hub.settings import Settings, get_settings
from ops.cli.main import app as cli
from tests import factories as f

runner = CliRunner()
SECRETS = [name for name, f_ in Settings.model_fields.items() if f_.annotation is SecretStr]
REAL = {f"HUB_{name.upper()}": f"試験-{name}-0123456789abcdef0123456789abcdef" for name in SECRETS}
AGENCY = "moji.houkatsu"


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Production mode, every secret left at its default, files under ``tmp_path``."""
    monkeypatch.setenv("HUB_MODE", "production")
    for variable in REAL:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_SQLITE_PATH", str(tmp_path / "var" / "hub.sqlite"))
    monkeypatch.setenv("HUB_STORE", "sqlite")
    monkeypatch.setenv("HUB_AGENCY_INBOX_PATH", str(tmp_path / "var" / "agency" / "{agency}.db"))
    # The city's identity provider (checked first by `hub serve`), so the secrets are next.
    monkeypatch.setenv("HUB_OIDC_JWKS_URL", "https://idp.example.invalid/jwks")
    monkeypatch.setenv("HUB_OIDC_ISSUER", "https://idp.example.invalid/realms/kitakyushu")
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_consumer_settings.cache_clear()


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    line = f.consultation().model_dump_json()
    submit = tmp_path / "commands.jsonl"
    if tmp_path.is_dir():
        submit.write_text(line + "\n", encoding="utf-8")
    return {
        # Details go on stdin in production (README): an argument holds none.
        "command": ["command", f.consultation(person=None, note=None).model_dump_json()],
        "submit": ["submit", str(submit)],
        "relay": ["relay", "--once"],
        "kafka provision": ["kafka", "provision"],
        "follow": ["follow", "--once"],
        "rebuild": ["rebuild"],
        "case list": ["case", "list"],
        "case show": ["case", "show", str(uuid4())],
        "inbox": ["inbox", "--agency", AGENCY],
        "report": ["report", "indicators", "--fy", "R7"],
        "analytics rebuild": ["analytics", "rebuild", "--fy", "R7"],
        "audit verify": ["audit", "verify"],
        "audit verify-log": ["audit", "verify-log"],
        "audit report": ["audit", "report"],
        "audit disclosures": ["audit", "disclosures"],
        "audit replay": ["audit", "replay", "--as-of", "2025-06-01T00:00:00+09:00"],
        "audit replay kafka": [
            "audit",
            "replay",
            "--as-of",
            "2025-06-01T00:00:00+09:00",
            "--source",
            "kafka",
        ],
        "agency run": ["agency", "run", "--agency", AGENCY, "--once"],
        "agency ack": ["agency", "ack", "3f2a9c1e", "accepted", "--agency", AGENCY],
        "replies run": ["replies", "run", "--once"],
        "escalations run": ["escalations", "run", "--once"],
        "smoke": ["smoke"],
        "services up kafka": ["services", "up", "kafka"],
        "services up postgres": ["services", "up", "postgres"],
        "demo": ["demo", "--no-services", "--home", str(tmp_path / "demo")],
        "bench": ["bench", "--quick"],
        "serve": ["serve", "--port", "1"],  # refused before it binds
        "target list": ["target", "list", "--fy", "R8"],
        "audit access": ["audit", "access"],
    }


ENTRY_POINTS = sorted(_commands(Path("/nonexistent")))


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_production_mode_refuses_the_public_secrets(name: str, production: Path) -> None:
    earlier = production / "demo" / "hub.sqlite"  # what `hub demo` would wipe
    earlier.parent.mkdir()
    earlier.write_bytes(b"")
    result = runner.invoke(cli, _commands(production)[name])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: refusing to start in production mode: HUB_")
    assert "is the public development default" in lines[0]
    assert "Traceback" not in result.output
    assert not (production / "var" / "hub.sqlite").exists()
    assert earlier.exists()


@pytest.mark.parametrize("variable", sorted(REAL))
def test_one_default_secret_is_enough_to_refuse(
    variable: str, production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for other, value in REAL.items():
        if other != variable:
            monkeypatch.setenv(other, value)
    monkeypatch.setenv("HUB_STORE", "postgres")
    result = runner.invoke(cli, ["case", "list"])
    assert result.exit_code == 1
    # HUB_KEK has no public default (development makes a key file of its own): it is missing.
    why = "is missing" if variable == "HUB_KEK" else "is the public development default"
    assert f"{variable} {why}" in result.stderr
    assert [v for v in REAL if v in result.stderr] == [variable]


def test_production_with_real_secrets_starts(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in REAL.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("HUB_OPERATOR", raising=False)
    opened = f.consultation(person=None, note=None)  # details go on stdin in production
    anonymous = runner.invoke(cli, ["command", opened.model_dump_json()])
    assert anonymous.exit_code == 1  # no principal is anonymous: who acts must be configured
    assert "HUB_OPERATOR" in anonymous.stderr and "Traceback" not in anonymous.output
    monkeypatch.setenv("HUB_OPERATOR", "試験-officer-0001")
    get_settings.cache_clear()
    result = runner.invoke(cli, ["command", opened.model_dump_json()])
    assert result.exit_code == 0, result.output
    assert (production / "var" / "hub.sqlite").exists()
    listed = runner.invoke(cli, ["case", "list", "--ward", opened.ward])  # type: ignore[attr-defined]
    assert listed.exit_code == 0, listed.output
    verified = runner.invoke(cli, ["audit", "verify-log", "--no-witness"])
    assert verified.exit_code == 0, verified.output


def test_an_agency_with_its_own_password_is_not_asked_for_the_hubs(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_KAFKA_USER", AGENCY)
    monkeypatch.setenv("HUB_KAFKA_PASSWORD", REAL["HUB_KAFKA_PASSWORD"])
    result = runner.invoke(cli, ["agency", "inbox", "--agency", AGENCY, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["agency"] == AGENCY


@pytest.mark.parametrize("name", ["agency run", "replies run", "kafka provision"])
def test_production_refuses_a_broker_off_this_host_in_clear(
    name: str, production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Agencies' records carry names and addresses: SCRAM guards the password, not them.
    for variable, value in REAL.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("HUB_OPERATOR", "試験-officer-0001")
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", "kafka1.city.example.invalid:9092,127.0.0.1:19092")
    result = runner.invoke(cli, _commands(production)[name])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: refusing to start in production mode: HUB_KAFKA_BOOTSTRAP")
    assert "kafka1.city.example.invalid:9092" in line and "127.0.0.1" not in line
    assert "HUB_KAFKA_SECURITY_PROTOCOL" in line and "Traceback" not in result.output


def test_production_refuses_to_serve_plain_http_off_this_host(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bearer tokens, session cookies and people's details: plain HTTP on loopback only (a
    # TLS proxy on the host), else the API's own TLS.
    for variable, value in REAL.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr("uvicorn.Server.run", lambda *_, **__: pytest.fail("served plain HTTP"))
    result = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: refusing to start in production mode: --host 0.0.0.0")
    assert "--ssl-certfile" in line and "Traceback" not in result.output
    assert not (production / "var" / "hub.sqlite").exists()  # refused before the store opened
    half = runner.invoke(cli, ["serve", "--port", "1", "--ssl-certfile", "/etc/hub/cert.pem"])
    assert half.exit_code == 1 and "go together" in half.stderr


def test_a_certificate_that_cannot_be_loaded_is_one_line(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README: HTTPS of its own with --ssl-certfile/--ssl-keyfile. A missing or broken file is
    # refused before the store opens, in one line, not a traceback once "serving" was said.
    for variable, value in REAL.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr("uvicorn.Server.run", lambda *_, **__: pytest.fail("served"))
    garbage = production / "cert.pem"
    garbage.write_text("not a certificate\n", encoding="utf-8")
    for cert in (production / "missing.pem", garbage):
        tls = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(cert)]
        result = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1", *tls])
        assert result.exit_code == 1, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"Error: --ssl-certfile {cert}"), line
        assert "Traceback" not in result.output and "serving" not in result.output
        assert not (production / "var" / "hub.sqlite").exists()


def test_a_key_with_a_passphrase_is_left_to_uvicorn_to_ask_for(tmp_path: Path) -> None:
    # The check before the store opens never prompts: uvicorn asks for the passphrase, as
    # it did before the check existed.
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from ops.cli.serve import check_certificate

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    locked = serialization.BestAvailableEncryption(b"passphrase-of-the-test")
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, locked)
    )
    check_certificate(tmp_path / "cert.pem", tmp_path / "key.pem")


def test_a_tls_key_every_user_may_read_is_refused_in_production(tmp_path: Path) -> None:
    """`hub serve --ssl-keyfile` took a key left 0644: any user of the host could copy it
    and pose as the hub, whose every other key and store file is 0600."""
    from hub.errors import ConfigurationError
    from ops.cli.serve import check_listener
    from ops.services.tls import _make

    made = _make("localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(made.chain)
    key.write_text(made.key)
    production = Settings(mode="production")
    for mode in (0o644, 0o602):
        key.chmod(mode)
        with pytest.raises(ConfigurationError, match=rf"--ssl-keyfile {key} is open to every"):
            check_listener(production, "0.0.0.0", cert, key)
        check_listener(Settings(mode="development"), "0.0.0.0", cert, key)
    for mode in (0o600, 0o400):
        key.chmod(mode)
        check_listener(production, "0.0.0.0", cert, key)


def test_a_tls_key_its_group_may_read_or_replace_is_refused_in_production(tmp_path: Path) -> None:
    """An attacker in the key's group: a key the hub's own user owns left 0640 (its group
    reads it), or any key left 0660/0620 (its group replaces it), passed. Refused by name,
    the path and the mode said, as OpenSSH refuses such a private key; development takes it
    as it takes a key every user may read. A key root owns, read through its group
    (Debian's ssl-cert, 0640), is still the city's choice."""
    import os

    from hub.errors import InsecurePermissionsError
    from ops.cli.serve import check_listener
    from ops.services.tls import _make

    made = _make("localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(made.chain)
    key.write_text(made.key)
    production = Settings(mode="production")
    for mode in (0o640, 0o660, 0o620, 0o460):
        key.chmod(mode)
        with pytest.raises(
            InsecurePermissionsError, match=rf"--ssl-keyfile {key} is open to its group"
        ) as refused:
            check_listener(production, "0.0.0.0", cert, key)
        assert f"(mode {mode:04o})" in str(refused.value)
        check_listener(Settings(mode="development"), "0.0.0.0", cert, key)
    if os.geteuid() == 0:  # root owns it, the hub runs as another user: its group reads it
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr("hub.permissions.os.geteuid", lambda: 1000)
            key.chmod(0o640)
            check_listener(production, "0.0.0.0", cert, key)
            key.chmod(0o660)
            with pytest.raises(InsecurePermissionsError, match="its group, which may replace"):
                check_listener(production, "0.0.0.0", cert, key)


def test_a_tls_key_another_user_may_replace_is_refused_in_production(tmp_path: Path) -> None:
    """A key 0600 passed though another user than the hub's or root owned it (who may
    rewrite it), or it lay, or the link naming it lay, in a folder its group or every user may
    write to (who may put another key, or link, in its place before the hub reads it)."""
    import os

    from hub.errors import InsecurePermissionsError
    from ops.cli.serve import check_listener
    from ops.services.tls import _make

    made = _make("localhost")
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    cert, key = tmp_path / "cert.pem", keys / "key.pem"
    cert.write_text(made.chain)
    key.write_text(made.key)
    key.chmod(0o600)
    production = Settings(mode="production")
    check_listener(production, "0.0.0.0", cert, key)
    for mode in (0o777, 0o770, 0o730):
        keys.chmod(mode)
        with pytest.raises(InsecurePermissionsError, match=f"in its folder {keys}"):
            check_listener(production, "0.0.0.0", cert, key)
        check_listener(Settings(mode="development"), "0.0.0.0", cert, key)
    keys.chmod(0o1777)  # sticky, as /tmp: no one replaces another's file
    check_listener(production, "0.0.0.0", cert, key)
    keys.chmod(0o700)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    shared.chmod(0o777)
    link = shared / "key.pem"
    link.symlink_to(key)
    with pytest.raises(InsecurePermissionsError, match=f"in its folder {shared}"):
        check_listener(production, "0.0.0.0", cert, link)
    if os.geteuid() == 0:
        os.chown(key, 65534, os.getegid())
        with pytest.raises(InsecurePermissionsError, match="another user \\(uid 65534\\)"):
            check_listener(production, "0.0.0.0", cert, key)
