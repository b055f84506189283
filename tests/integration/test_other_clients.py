"""Agencies' own clients log in with their SCRAM credentials and read their topic: librdkafka
(kcat, confluent-kafka) and the Java client, not only kafka-python.

librdkafka before 2.6.1 repeats its client nonce in the SCRAM client-final message and Kafka 4
refuses it (RFC 5802's nonce check) as "invalid credentials": Debian bookworm's kcat links
2.0.2, so the hub runs it through ops/kcat.sh on the librdkafka of the confluent-kafka wheel.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from uuid import uuid4

import pytest

from hub import topics
from hub.kafka_config import principal_credentials
from hub.settings import Settings
from ops.services import kafka as kafka_service
from producers.provision import provision
from tests.agency_support import relay_writer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AGENCY = "moji.houkatsu"
KEY = "試験-case-0001"
VALUE = "架空の紹介記録"


@pytest.fixture(scope="module")
def tenant(kafka_broker: object) -> Settings:
    settings = Settings(kafka_topic_prefix=f"cli{uuid4().hex[:8]}.")
    provision(settings, [AGENCY])
    writer = relay_writer(settings)
    try:
        writer.send(topics.referrals(settings, AGENCY), VALUE.encode(), key=KEY.encode())
    finally:
        writer.close()
    return settings


def _kcat(settings: Settings, user: str, password: str, *args: str) -> subprocess.CompletedProcess:
    assert shutil.which("kcat"), "kcat is missing: run `bash ops/setup.sh` (apt-get install kcat)"
    command = [
        str(ROOT / "ops" / "kcat.sh"),
        "-b",
        settings.kafka_bootstrap,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        f"sasl.username={user}",
        "-X",
        f"sasl.password={password}",
        "-m",
        "30",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_kcat_logs_in_as_the_super_user_as_the_issue_tried(tenant: Settings) -> None:
    password = tenant.kafka_password.get_secret_value()
    done = _kcat(tenant, tenant.kafka_user, password, "-L")
    assert done.returncode == 0, done.stderr
    assert topics.referrals(tenant, AGENCY) in done.stdout


def test_kcat_reads_an_agency_topic_with_the_agencys_credentials(tenant: Settings) -> None:
    user, password = principal_credentials(tenant, AGENCY)
    topic = topics.referrals(tenant, AGENCY)
    done = _kcat(tenant, user, password, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                 "-f", "%k\\t%s\\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{KEY}\t{VALUE}"]


def test_kcat_is_refused_with_a_wrong_password(tenant: Settings) -> None:
    user, _ = principal_credentials(tenant, AGENCY)
    done = _kcat(tenant, user, "試験-wrong-password", "-L")
    assert done.returncode != 0
    assert "Authentication failed" in done.stderr


def test_confluent_kafka_reads_an_agency_topic(tenant: Settings) -> None:
    from confluent_kafka import Consumer, TopicPartition

    user, password = principal_credentials(tenant, AGENCY)
    consumer = Consumer(
        {
            "bootstrap.servers": tenant.kafka_bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": password,
            "group.id": topics.agency_group(tenant, AGENCY, "librdkafka"),
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topics.referrals(tenant, AGENCY), 0, 0)])
        message = consumer.poll(30)
        assert message is not None and message.error() is None, message and message.error()
        assert (message.key(), message.value()) == (KEY.encode(), VALUE.encode())
    finally:
        consumer.close()


def test_the_java_client_reads_an_agency_topic(tenant: Settings, tmp_path: Path) -> None:
    user, password = principal_credentials(tenant, AGENCY)
    properties = tmp_path / "client.properties"
    properties.write_text(
        "\n".join(
            [
                f"bootstrap.servers={tenant.kafka_bootstrap}",
                "security.protocol=SASL_PLAINTEXT",
                "sasl.mechanism=SCRAM-SHA-512",
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                f'required username="{user}" password="{password}";',
                "",
            ]
        )
    )
    properties.chmod(0o600)
    source = ROOT / "tests" / "java" / "ReadTopic.java"
    done = subprocess.run(
        [
            "java",
            "-Dlog4j2.level=WARN",
            "-cp",
            f"{kafka_service.jar_dir()}/*",
            str(source),
            str(properties),
            topics.referrals(tenant, AGENCY),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = [line for line in done.stdout.splitlines() if "\t" in line]
    assert records == [f"{KEY}\t{VALUE}"], done.stdout[-2000:]
