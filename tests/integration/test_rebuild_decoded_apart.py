"""A rebuild of a long log decodes it in a second process (``projections.decoding``) while
this one folds: the same rows and quarantine as the statements, on both stores; what stops
the decoding process (a data key that does not unwrap, the process dying) stops the
rebuild with the error named, and leaves no process behind."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import pytest

from hub.application import HubApplication
from hub.errors import DataKeyUnavailableError
from projections import decoding
from projections.bulk import BulkView
from projections.decoding import DecoderStoppedError
from projections.runner import PROJECTIONS, open_projection, rebuild_all
from tests import factories as f
from tests.integration.test_bulk_rebuild import history, rebuilt_equal, statements_then_none

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    name = "sqlite_env" if request.param == "sqlite" else "pg_env"
    return dict(request.getfixturevalue(name))


def not_here(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the log was decoded in the folding process")


def test_a_log_decoded_in_a_second_process_gives_the_rows_and_quarantine_of_the_statements(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = HubApplication(env=env)
    expected = statements_then_none(app, env, monkeypatch)
    monkeypatch.setattr(decoding, "decode", not_here)  # this process only: not the other's
    total = app.recorder.max_notification_id() or 0
    rebuilt_equal(app, env, expected, decode_apart_from=0)
    rebuilt_equal(app, env, expected, decode_apart_from=total, fold_chunk=7, fold_rows=40)
    assert multiprocessing.active_children() == []
    app.close()


def test_a_short_log_is_decoded_in_the_folding_process(
    sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting a process costs about a second: not for a log shorter than the bound."""
    app = HubApplication(env=sqlite_env)
    app.execute(f.consultation())
    total = app.recorder.max_notification_id() or 0
    monkeypatch.setattr(decoding, "_decoded_apart", not_here)
    views = [open_projection(name, sqlite_env) for name in PROJECTIONS]
    assert rebuild_all(views, app, decode_apart_from=total + 1) == dict.fromkeys(PROJECTIONS, total)
    app.close()


def test_a_key_that_does_not_unwrap_stops_the_rebuild_from_the_second_process(
    sqlite_env: dict[str, str],
) -> None:
    """As in the folding process: the rebuild stops on it, quarantining nothing."""
    app = HubApplication(env=sqlite_env)
    app.execute(f.consultation())
    app.close()
    other = {**sqlite_env, "HUB_KEK": "試験 別の鍵"}
    app = HubApplication(env=other)
    views = [open_projection(name, other) for name in PROJECTIONS]
    with pytest.raises(DataKeyUnavailableError, match="does not unwrap"):
        rebuild_all(views, app, decode_apart_from=0)
    assert all(not view.view.quarantined() for view in views)
    assert multiprocessing.active_children() == []
    app.close()


class DiesWhenDecoding(HubApplication):
    """The hub, except that in a process of its own (the decoding one) it dies at once."""

    def __init__(self, env: dict[str, str] | None = None, **kwargs: Any) -> None:
        if multiprocessing.parent_process() is not None:
            os._exit(3)
        super().__init__(env, **kwargs)


def test_a_decoding_process_that_dies_stops_the_rebuild_with_its_exit_code(
    sqlite_env: dict[str, str],
) -> None:
    app = DiesWhenDecoding(env=sqlite_env)
    app.execute(f.consultation())
    views = [open_projection(name, sqlite_env) for name in PROJECTIONS]
    with pytest.raises(DecoderStoppedError, match="exit code 3"):
        rebuild_all(views, app, decode_apart_from=0)
    assert multiprocessing.active_children() == []
    app.close()


class WriteRefused(Exception):
    pass


def test_a_rebuild_that_fails_while_folding_stops_its_decoding_process(
    sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = HubApplication(env=sqlite_env)
    history(app)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise WriteRefused

    monkeypatch.setattr(BulkView, "write", refused)
    monkeypatch.setattr(decoding, "QUEUED_BATCHES", 2)  # it waits to hand over the rest
    views = [open_projection(name, sqlite_env) for name in PROJECTIONS]
    with pytest.raises(WriteRefused) as failed:
        rebuild_all(views, app, batch_size=1, fold_chunk=1, decode_apart_from=0)
    # Stopped when the rebuild failed, not when the error (and the frames its traceback
    # holds, the decoding generator's among them) is let go by whoever caught it.
    assert multiprocessing.active_children() == []
    assert failed.tb is not None
    app.close()
