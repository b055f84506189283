"""The growth and scale rows: a large log's time within 1.05 × its events ratio and its peak
memory within 1.2× of the small log's, whatever task is measured."""

from ops.bench.measure import growth_pair
from ops.bench.scale import task_rows


def run(seconds: float, mib: float, events: int) -> dict[str, float | int]:
    return {"seconds": seconds, "max_rss_kib": mib * 1024, "log_events": events}


def test_time_is_held_to_the_events_ratio_and_memory_to_a_fifth_more() -> None:
    base = run(10.0, 100.0, 100_000)
    at_edge = growth_pair(("t", "m"), "sqlite", base, run(105.0, 120.0, 1_000_000), "")
    over = growth_pair(("t", "m"), "sqlite", base, run(105.1, 120.1, 1_000_000), "")
    assert [(r.figure, r.met) for r in at_edge] == [("t", True), ("m", True)]
    assert [r.met for r in over] == [False, False]
    assert at_edge[0].target == "≤ 10.5× (1.05 × events ratio)"
    assert at_edge[0].ratio == 10.5 and at_edge[1].hub == 120.0 and at_edge[1].baseline == 100.0


def test_a_scale_task_names_its_rows_and_sizes() -> None:
    base = {**run(1.0, 80.0, 1_000_000), "events": 20_000, "records": 30}
    big = {**run(9.0, 90.0, 10_000_000), "events": 200_000, "records": 300}
    rows = task_rows("postgres", "relay", base, big)
    assert [r.figure.rsplit(": ", 1)[1] for r in rows] == ["time", "peak memory"]
    assert all(r.store == "postgres" and r.met for r in rows)
    assert rows[0].note == ("20000 → 200000 events (10.0×), fresh process each; 30 → 300 records")
