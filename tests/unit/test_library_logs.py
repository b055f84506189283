"""librdkafka's log records are the hub's lines too: with no handler, Python printed its
warnings bare (`FAIL [hub-relay#producer-1] ...`), and a JSON log (`HUB_LOG_FORMAT=json`)
had lines that were no JSON."""

from __future__ import annotations

import json
import logging

import pytest

from hub.logging import configure_logging


def test_a_library_warning_is_a_json_line_when_the_log_is_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "INFO")
    logging.getLogger("librdkafka").error("FAIL [hub-relay#producer-1] 試験: broker down")
    logging.getLogger("librdkafka").info("試験: connecting")  # below WARNING: not shown
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    (line,) = lines
    record = json.loads(line)
    assert record["logger"] == "librdkafka" and record["level"] == "error"
    assert record["event"].startswith("FAIL [hub-relay#producer-1]") and record["timestamp"]


def test_configuring_again_replaces_the_handler_and_follows_the_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("console", "INFO")
    configure_logging("json", "ERROR")  # hub demo's level
    logging.getLogger("librdkafka").warning("試験: a warning")
    logging.getLogger("librdkafka").error("試験: an error")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [json.loads(line)["event"] for line in lines] == ["試験: an error"]
