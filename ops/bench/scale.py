"""The scale run (``hub bench --only scale``, not in the default set): a 10M-event log against
the 1.0M one, both built by ``ops.bench.replicate`` (the demo year ×1 written 560 and 56
times), for what an operator and an auditor do on a large log:

- **rebuild**: every view from scratch (``projections.runner.rebuild_all``);
- **relay sample**: a relay from an empty position (a position name of its own) publishing
  the same share of each log from its start (``sample`` events of the small log, as many
  times more of the large one as it is larger: the same first days of the year, each copy's
  events in turn, so the large log's sample is the same days for ten times the people),
  through decoding, governance, Avro and the ledger, to a producer that discards (Kafka's
  share does not depend on the log);
- **replay as of an instant**: ``hub audit replay --as-of T --case C`` as the auditor runs
  it (``ops.wiring.log_history``, then the snapshot at T for one case).

Each is run in a fresh subprocess per log, so its time and peak memory (``VmHWM``)
belong to that run alone, as the growth row does. Targets (issue 20): time ≤ 1.05 × the
events ratio, memory ≤ 1.2×.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime
from typing import Any

from hub.errors import HubError
from hub.fiscal import JST
from hub.settings import Settings, StoreKind
from ops import wiring
from ops.bench.logs import LogSpec, ensure_log, log_settings
from ops.bench.measure import ChildrenPeak, Row, Stopwatch, growth_pair, peak_rss_kib
from ops.bench.rebuild import rebuild_views

SAMPLE = 20_000
AS_OF = datetime(2025, 10, 1, 12, 0, tzinfo=JST)  # mid-year: consents, meetings in force
CASE_OPENED = "hub.domain.case:Case.CaseOpened"
TASKS = ("rebuild", "relay", "replay")


class _Discard:
    """The relay's producer for the sample: Kafka's share is not what is measured."""

    class _Done:
        def get(self, timeout: float | None = None) -> None:
            return None

    def send(self, *args: Any, **kwargs: Any) -> _Discard._Done:
        return self._Done()

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


def _rebuild(target: Settings) -> dict[str, Any]:
    app = wiring.open_application(target, seed_network=False)
    try:
        return {"seconds": rebuild_views(app, target)}
    finally:
        app.close()


def _relay(target: Settings, sample: int) -> dict[str, Any]:
    # A position name of its own: this run starts from an empty state at position 0.
    prefix = f"bench.scale.{uuid.uuid4().hex[:8]}."
    mine = target.model_copy(update={"kafka_topic_prefix": prefix})
    with Stopwatch() as watch:
        app = wiring.open_application(mine, seed_network=False)
        relay = wiring.open_relay(mine, app, producer=_Discard(), batch_size=500)
        done = records = 0
        while done < sample:
            relay.batch_size = min(500, sample - done)  # exactly ``sample`` events
            counts = relay.step()
            if counts.events == 0:
                break
            done += counts.events
            records += counts.agency_records + counts.audit_records + counts.analytics_records
    app.close()
    return {"seconds": watch.seconds, "events": done, "records": records}


def _replay(target: Settings) -> dict[str, Any]:
    app = wiring.open_application(target, seed_network=False)
    try:
        first = app.recorder.select_notifications(1, 1, topics=[CASE_OPENED])
        case_id = str(uuid.UUID(str(first[0].originator_id)))
    finally:
        app.close()
    with Stopwatch() as watch:
        history = wiring.log_history(target, case_id=case_id)  # as the CLI, given a whole id
        view = history.snapshot(AS_OF, case_id=case_id).view()
    items = sum(len(v) for v in view.values() if isinstance(v, list))
    return {"seconds": watch.seconds, "items": items}


def measure_once(
    settings: Settings, store: StoreKind, spec: LogSpec, task: str, sample: int = SAMPLE
) -> dict[str, Any]:
    """One task on the log of ``spec``: seconds, peak RSS (KiB) and what it did."""
    target = log_settings(settings, store, spec)
    app = wiring.open_application(target, seed_network=False)
    size = int(app.recorder.max_notification_id() or 0)
    app.close()
    children = ChildrenPeak()
    if task == "rebuild":
        with children:
            result = _rebuild(target)
        result["children_max_rss_kib"] = children.kib  # its decoding process
    elif task == "relay":
        result = _relay(target, sample)  # events of this log (the parent scales it)
    else:
        result = _replay(target)
    result["events"] = size if task != "relay" else result["events"]
    result["log_events"] = size
    result["max_rss_kib"] = peak_rss_kib() + result.get("children_max_rss_kib", 0)
    return result


def run_task(
    settings: Settings, store: StoreKind, spec: LogSpec, task: str, sample: int = SAMPLE
) -> dict[str, Any]:
    """``measure_once`` in a fresh subprocess (settings from the same environment)."""
    until = spec.until.isoformat() if spec.until else ""
    arguments = [task, store, str(spec.scale), until, str(spec.slice), str(sample)]
    done = subprocess.run(
        [sys.executable, "-m", "ops.bench.scale", *arguments],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HubError(f"the scale run's {task} on the {spec} ({store}) failed: {last[:300]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench(
    settings: Settings,
    store: StoreKind,
    small: LogSpec,
    large: LogSpec,
    sample: int = SAMPLE,
    progress: Any = print,
    tasks: tuple[str, ...] = TASKS,
) -> list[Row]:
    """Time and peak memory of each task on the large log against the small one."""
    sizes: dict[LogSpec, int] = {}
    for spec in (small, large):
        started = time.perf_counter()
        _, sizes[spec] = ensure_log(settings, store, spec)
        seconds = time.perf_counter() - started
        progress(f"{store}: scale: {spec}: {sizes[spec]} events ready in {seconds:.0f} s")
    factor = sizes[large] / sizes[small]
    rows: list[Row] = []
    for task in tasks:
        base = run_task(settings, store, small, task, sample)
        progress(f"{store}: scale: {task} on {sizes[small]} events: {base}")
        big = run_task(settings, store, large, task, round(sample * factor))
        progress(f"{store}: scale: {task} on {sizes[large]} events: {big}")
        rows += task_rows(store, task, base, big)
    return rows


def task_rows(store: StoreKind, task: str, base: dict[str, Any], big: dict[str, Any]) -> list[Row]:
    """The time and memory rows of one task, from its runs on the small and large logs."""
    factor = big["log_events"] / base["log_events"]
    what = {
        "rebuild": "rebuild every view",
        "relay": "relay sample (the log's first days, empty position)",
        "replay": f"replay as of {AS_OF:%Y-%m-%d %H:%M} JST, one case",
    }[task]
    note = f"{base['events']} → {big['events']} events ({factor:.1f}×), fresh process each"
    if task == "relay":
        note += f"; {base['records']} → {big['records']} records"
    figures = (f"scale: {what}: time", f"scale: {what}: peak memory")
    return growth_pair(figures, store, base, big, note)


if __name__ == "__main__":
    from datetime import date

    _task, _store, _scale, _until, _slice, _sample = sys.argv[1:7]
    _spec = LogSpec(int(_scale), date.fromisoformat(_until) if _until else None, slice=int(_slice))
    _settings = Settings()  # from the environment (HUB_*), as the parent's
    print(json.dumps(measure_once(_settings, _store, _spec, _task, int(_sample))))  # type: ignore[arg-type]
