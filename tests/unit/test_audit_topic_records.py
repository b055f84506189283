"""The auditor's reader of audit.consent, over records handed to it (no broker): what it
does with a record the relay would never write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from consumers import audit
from hub import codec
from hub.application import HubApplication
from hub.errors import HubError
from hub.settings import Settings
from tests import factories as f


def _consent_record() -> tuple[dict[str, str], dict[str, Any]]:
    app = HubApplication(env={})
    try:
        case_id = app.execute(f.consultation()).aggregate_ids[0]
        app.execute(f.consent(case_id, occurred_at=f.at(1)))
        events: list[Any] = list(app.events.get(case_id))  # type: ignore[attr-defined]
        (given,) = [e for e in events if type(e.payload).__name__ == "ConsentGiven"]
    finally:
        app.close()
    record = codec.event_record(given)
    headers = {"event_id": record["event_id"], "event_type": "ConsentGiven", "position": "7"}
    return headers, record


def _read(monkeypatch: pytest.MonkeyPatch, *records: tuple[dict[str, str], bytes]) -> Any:
    def fake(*_: Any) -> Iterator[tuple[dict[str, str], bytes]]:
        yield from records

    monkeypatch.setattr(audit, "_records", fake)
    return audit.read_audit_stream(Settings(mode="development"))


def test_the_relays_record_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    headers, record = _consent_record()
    stream = _read(monkeypatch, (headers, codec.encode("ConsentGiven", record)))
    assert [(e.position, type(e.payload).__name__) for e in stream.events] == [(7, "ConsentGiven")]


@pytest.mark.parametrize("broken", ["no-position", "text-position", "refused-content"])
def test_a_record_the_relay_never_writes_is_one_named_error(
    monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    # Someone other than the relay wrote to the topic: the replay stops with an error the
    # CLI prints as one line (a HubError), not a traceback.
    headers, record = _consent_record()
    if broken == "no-position":
        del headers["position"]
    elif broken == "text-position":
        headers["position"] = "七"
    else:
        record["purposes"] = ["not-a-purpose"]
    value = codec.encode("ConsentGiven", record)
    with pytest.raises(HubError, match="written by someone other than the relay"):
        _read(monkeypatch, (headers, value))
