"""A second SIGINT/SIGTERM handled while the first handler is inside `Event.set` (Ctrl-C
twice, a restart script's TERM after an operator's) must not wait for the event's lock, which
its own thread holds: `hub follow` hung so, for ever, and needed SIGKILL."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from consumers.stopping import set_on_signals


@pytest.fixture
def handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_second_signal_inside_the_first_ones_set_returns_at_once(handlers: None) -> None:
    stopping = threading.Event()
    set_on_signals(stopping)
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    handler(signal.SIGTERM, None)
    assert stopping.is_set()
    # The first handler's `set` holds the event's lock (here: this test holds it); the second
    # handler runs with it held. Run in a thread only so that a hang fails instead of blocking.
    with stopping._cond:  # type: ignore[attr-defined]
        second = threading.Thread(target=handler, args=(signal.SIGINT, None), daemon=True)
        second.start()
        second.join(timeout=2)
        hung = second.is_alive()
    assert not hung, "the second signal waited for the event's lock"


def test_the_relay_and_follow_stop_through_it() -> None:
    from ops.cli import relay, views

    assert relay.set_on_signals is set_on_signals
    assert views.set_on_signals is set_on_signals
