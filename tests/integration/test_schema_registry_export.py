"""`hub schema export` publishes the released schemas as a Confluent-compatible registry:
served as plain files, confluent-kafka's AvroDeserializer (with its SchemaRegistryClient)
decodes an agency's records, reframed from single-object encoding with the committed ids.

Apicurio Registry could not be assembled here (its Quarkus build needs artifacts Maven Central
does not serve: see docs/STREAMS.md, "Schema registry"), so the bundle is the registry.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from typer.testing import CliRunner

from hub import codec, confluent_wire, schema_ids, topics
from hub.application import HubApplication
from hub.settings import Settings
from ops.cli.main import app as hub_app
from tests import factories as f
from tests.integration.streams import new_relay, provisioned, store_settings
from tests.kafka_read import read_raw

pytestmark = pytest.mark.integration

AGENCY = "tobata.houkatsu"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def registry_url(tmp_path: Path) -> Iterator[str]:
    """The exported bundle behind a plain static web server (Python's http.server)."""
    bundle = tmp_path / "registry"
    result = CliRunner().invoke(hub_app, ["schema", "export", str(bundle)])
    assert result.exit_code == 0, result.output
    assert f"{len(schema_ids.entries())} subject versions" in result.output
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=bundle,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert server.poll() is None, "the static server exited"
            assert time.monotonic() < deadline, "the static server did not listen"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(10)


def _plain(value: Any) -> Any:
    """The deserializer applies logical types (uuid → UUID); the hub's codec keeps strings."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_a_registry_aware_client_decodes_an_agencys_records_with_the_exported_registry(
    kafka_broker: object, sqlite_env: dict[str, str], tmp_path: Path, registry_url: str
) -> None:
    settings: Settings = store_settings("sqlite", sqlite_env, tmp_path)
    provisioned(settings, [AGENCY])
    app = HubApplication(env=settings.eventsourcing_env())
    case_id = uuid4()
    app.execute(f.open_case(case_id=case_id, ward="tobata", person=f.person()))
    app.execute(f.consent(case_id, scope=[AGENCY], data_categories=["identity", "contact"]))
    app.execute(f.referral(case_id, AGENCY, referral_id=uuid4()))
    relay = new_relay(settings, app)
    relay.drain()
    relay.producer.close()
    topic = topics.referrals(settings, AGENCY)
    records = read_raw(settings, topic, user=AGENCY)
    assert records, "the relay published nothing for the agency"

    client = SchemaRegistryClient({"url": registry_url})
    deserialize = AvroDeserializer(client)
    decoded_types = []
    for raw in records:
        assert raw.value is not None
        name, expected = codec.decode(raw.value)
        framed = confluent_wire.from_single_object(raw.value)
        got = deserialize(framed, SerializationContext(topic, MessageField.VALUE))
        assert _plain(got) == expected, name
        decoded_types.append(name)
    assert "ReferralMade" in decoded_types
    subject = "jp.kitakyushu.hub.events.ReferralMade"
    assert client.get_compatibility(subject) == schema_ids.COMPATIBILITY
    latest = max((e for e in schema_ids.entries() if e.subject == subject), key=lambda e: e.version)
    registered = client.get_version(subject, latest.version)
    assert registered.schema_id == latest.id


def test_a_registry_aware_producer_writes_a_reply_with_the_newest_version_of_the_bundle(
    registry_url: str,
) -> None:
    """An integrator's producer asks the registry for the subject's newest version
    (``use.latest.version``, the usual setting when it may not register schemas): the bundle
    had only the numbered versions, so ``…/versions/latest`` was a 404 and no reply could be
    serialized. The reply it writes is read by the hub's reply ingester as it is."""
    subject = "jp.kitakyushu.hub.messages.ReferralReply"
    newest = max((e for e in schema_ids.entries() if e.subject == subject), key=lambda e: e.version)
    client = SchemaRegistryClient({"url": registry_url})
    latest = client.get_latest_version(subject)
    assert (latest.version, latest.schema_id) == (newest.version, newest.id)
    serialize = AvroSerializer(
        client,
        latest.schema.schema_str,
        conf={
            "auto.register.schemas": False,
            "use.latest.version": True,
            "subject.name.strategy": record_subject_name_strategy,
        },
    )
    reply = {
        "reply_id": str(uuid4()),
        "referral_id": str(uuid4()),
        "case_id": str(uuid4()),
        "agency_id": AGENCY,
        "answer": "declined",
        "reason": None,
        "answered_at": "2025-06-02T10:00:00+09:00",
        "reason_code": "capacity",
        "outcome": None,
    }
    framed = serialize(reply, SerializationContext(f"replies.{AGENCY}", MessageField.VALUE))
    assert framed is not None
    assert framed[1:5] == newest.id.to_bytes(4, "big")
    assert confluent_wire.decode(framed) == ("ReferralReply", reply)
