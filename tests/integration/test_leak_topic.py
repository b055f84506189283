"""`hub privacy leak-impact --topic` on a real topic: a record in either framing counts (an
agency's reply may come Confluent-framed), and one no schema reads is said, not a crash."""

from __future__ import annotations

from uuid import uuid4

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from rich.cells import cell_len
from typer.testing import CliRunner

from hub import confluent_wire
from hub import events as ev
from hub.kafka_config import client_config
from hub.settings import Settings
from ops.cli.main import app as cli
from tests import factories as f
from tests.agency_support import PERSON, encoded
from tests.conftest import unique

pytestmark = pytest.mark.integration


def test_a_leaked_topic_is_assessed_in_either_framing_and_says_what_it_could_not_read(
    kafka_broker: object, settings: Settings
) -> None:
    topic = unique("leaked")
    admin = KafkaAdminClient(**client_config(settings))
    admin.create_topics([NewTopic(topic, 1, 1)])
    try:
        producer = KafkaProducer(**client_config(settings), acks="all")
        first, second = uuid4(), uuid4()
        plain, _ = encoded(
            ev.PersonDetailsRecorded(occurred_at=f.at(1), case_id=first, person=PERSON), first, 1
        )
        framed, _ = encoded(
            ev.PersonDetailsRecorded(occurred_at=f.at(2), case_id=second, person=PERSON), second, 1
        )
        for value in (
            plain,
            confluent_wire.from_single_object(framed),
            b"\x00\xff\xff\xff\xff?",
            b"junk",
        ):
            producer.send(topic, value=value)
        producer.flush(timeout=30)
        producer.close()
        result = CliRunner().invoke(cli, ["privacy", "leak-impact", "--topic", topic])
    finally:
        admin.delete_topics([topic])
        admin.close()
    # No verdict while records went unread: 不要 would be said without knowing their content.
    assert result.exit_code == 1, result.output
    assert "記録 records: 2; 本人 people: 2" in result.stdout
    assert "読めない記録 unreadable records: 2: not assessed, content unknown" in result.stdout
    assert "  offsets: 2, 3" in result.stdout
    assert "報告: 判定できません UNDETERMINED" in result.stdout and "不要" not in result.stdout
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80
