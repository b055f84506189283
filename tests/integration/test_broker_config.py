"""The broker's own settings reach it as they were set: ``server.properties`` is read by
Java (ISO-8859-1, backslash escapes) and each JAAS line by Kafka's tokenizer (quotes and
backslashes), so a password holding ``"``, ``\\`` or a character beyond ASCII, and the TLS
listener's PEM texts, must be written escaped for both. Read back here by the broker's own
code (tests/java/ReadBrokerConfig.java); no broker is started."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.settings import Settings
from ops.services import kafka, tls

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [
    'Ab3"Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1uV',  # a quote ends the JAAS value
    "Ab3\\Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1uV",  # a backslash Java's properties would drop
    "Ab3\\\\u0041Cd5Ef7gH9iJ1kL3mN5oP7qR",  # an escape sequence in the text itself
    "試験Ab3Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1",  # UTF-8, read as ISO-8859-1
    "\U0001f511Ab3Cd5Ef7gH9iJ1kL3mN5oP7qR9",  # beyond the BMP: a surrogate pair
    " Ab3Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1u#=",  # a leading space, a comment sign, an equals
]


def read_back(path: Path) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    done = subprocess.run(
        [
            "java",
            "-cp",
            f"{kafka.jar_dir()}/*",
            str(ROOT / "tests" / "java" / "ReadBrokerConfig.java"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    props, jaas = {}, {}
    for line in done.stdout.splitlines():
        kind, *names, value = line.split("\t")
        text = base64.b64decode(value).decode("utf-8")
        if kind == "property":
            props[names[0]] = text
        elif kind == "jaas":
            jaas[(names[0], names[1])] = text
    return props, jaas


@pytest.mark.parametrize("secret", SECRETS)
def test_the_broker_reads_its_passwords_as_they_were_set(secret: str, tmp_path: Path) -> None:
    settings = Settings(
        mode="development",
        var_dir=tmp_path,
        kafka_password=SecretStr(secret),
        kafka_controller_secret=SecretStr(secret[::-1]),
    )
    paths = kafka.KafkaPaths.of(settings)
    kafka.write_config(settings, paths)
    _, options = read_back(paths.server_properties)
    assert options[("client", "username")] == settings.kafka_user
    assert options[("client", "password")] == secret
    assert options[("controller", "password")] == secret[::-1]
    assert options[("controller", "user_controller")] == secret[::-1]


def test_the_broker_reads_its_tls_key_and_certificates_as_made(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    settings = Settings(
        mode="development",
        var_dir=tmp_path,
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_cafile=ca,
    )
    paths = kafka.KafkaPaths.of(settings)
    kafka.write_config(settings, paths)
    props, _ = read_back(paths.server_properties)
    made = tls.folder(paths.home)
    assert props["ssl.keystore.key"] == (made / tls.KEY_FILE).read_text().strip()
    assert props["ssl.keystore.key"].startswith("-----BEGIN PRIVATE KEY-----\n")
    assert props["ssl.keystore.certificate.chain"] == (made / tls.CERT_FILE).read_text().strip()
    assert props["ssl.truststore.certificates"] == (made / tls.CA_FILE).read_text().strip()


def stored_credential(data: Path) -> dict[str, str]:
    """The super user's SCRAM record the storage tool wrote, read by Kafka's own dump tool."""
    done = subprocess.run(
        [
            "java",
            "-cp",
            f"{kafka.jar_dir()}/*",
            "kafka.tools.DumpLogSegments",
            "--cluster-metadata-decoder",
            "--files",
            str(data / "bootstrap.checkpoint"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [payload] = [
        json.loads(line.split("payload: ", 1)[1])["data"]
        for line in done.stdout.splitlines()
        if "USER_SCRAM_CREDENTIAL_RECORD" in line
    ]
    return payload


def scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """RFC 5802's StoredKey and ServerKey of ``password`` (SCRAM-SHA-512): what a client
    that logs in with the password is checked against."""
    salted = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    client = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    server = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    return hashlib.sha512(client).digest(), server


@pytest.mark.parametrize(
    "secret",
    [
        "Ab3,Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1uV",  # a comma parts the storage tool's argument
        " Ab3Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1uV ",  # spaces around: the tool trims them
        '"Ab3Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1uV"',  # quotes around: the tool takes them off
        "試験Ab3Cd5Ef7gH9iJ1kL3mN5oP7qR9sT1",  # beyond ASCII, whatever the locale
    ],
)
def test_the_super_users_credential_is_the_password_as_set(
    secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "C")  # a service's environment often has no UTF-8 locale
    settings = Settings(mode="development", var_dir=tmp_path, kafka_password=SecretStr(secret))
    paths = kafka.KafkaPaths.of(settings)
    kafka.write_config(settings, paths)
    kafka.format_storage(settings, paths)
    record = stored_credential(paths.data)
    assert record["name"] == settings.kafka_user
    stored, server = scram_keys(secret, base64.b64decode(record["salt"]), record["iterations"])
    assert base64.b64decode(record["storedKey"]) == stored
    assert base64.b64decode(record["serverKey"]) == server
