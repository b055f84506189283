"""The broker's own passwords reach it as they were set: ``server.properties`` is read by
Java (ISO-8859-1, backslash escapes) and each JAAS line by Kafka's tokenizer (quotes and
backslashes), so a secret holding ``"``, ``\\`` or a character beyond ASCII must be written
escaped for both. Read back here by the broker's own code (tests/java/ReadBrokerJaas.java);
no broker is started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.settings import Settings
from ops.services import kafka

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


def read_back(path: Path) -> dict[tuple[str, str], str]:
    done = subprocess.run(
        [
            "java",
            "-cp",
            f"{kafka.jar_dir()}/*",
            str(ROOT / "tests" / "java" / "ReadBrokerJaas.java"),
            str(path),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    lines = done.stdout.decode("utf-8").split("\n")
    return {(f[0], f[1]): f[2] for f in (line.split("\t", 2) for line in lines if line)}


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
    options = read_back(paths.server_properties)
    assert options[("client", "username")] == settings.kafka_user
    assert options[("client", "password")] == secret
    assert options[("controller", "password")] == secret[::-1]
    assert options[("controller", "user_controller")] == secret[::-1]
