"""Merging worker deltas: seconds complete only when every live worker reported,
totals add exactly, and the first error of each kind becomes an event."""

from __future__ import annotations

import random

from tui_loadtest.stats.aggregate import EndpointDelta, RunAggregate, WorkerDelta
from tui_loadtest.stats.histogram import Histogram, bucket_index

KEYS = [("GET", "a"), ("POST", "b")]


def delta(
    worker: int, tick: int, rng: random.Random, n: int = 100, **kw
) -> tuple[WorkerDelta, list[list[int]]]:
    values = [[int(rng.expovariate(1 / 2000)) for _ in range(n)] for _ in KEYS]
    eps = []
    for i, vs in enumerate(values):
        h = Histogram.from_values(vs)
        eps.append(
            EndpointDelta(index=i, buckets=h.to_sparse(), sum_us=h.sum_us, bytes_received=10 * n)
        )
    return WorkerDelta(worker=worker, tick=tick, span_s=1.0, users=5, endpoints=eps, **kw), values


def test_second_completes_only_when_all_workers_reported():
    rng = random.Random(1)
    agg = RunAggregate(KEYS, workers=2)
    d0, _ = delta(0, 0, rng)
    assert agg.add(d0) == []
    d1, _ = delta(1, 0, rng)
    assert agg.add(d1) == [0]
    assert len(agg.timeline) == 1
    assert agg.timeline[0].requests == 400
    assert agg.timeline[0].users == 10


def test_totals_equal_the_histogram_of_all_samples():
    rng = random.Random(2)
    agg = RunAggregate(KEYS, workers=2)
    everything: list[int] = []
    for tick in range(4):
        for w in (0, 1):
            d, values = delta(w, tick, rng)
            agg.add(d)
            everything += values[0] + values[1]
    total = agg.total_span()
    exact = Histogram.from_values(everything)
    assert total.hist.counts == exact.counts
    assert total.requests == len(everything)
    assert total.bytes_received == 4 * 2 * 2 * 1000
    assert agg.duration_s == 4.0


def test_a_finished_worker_no_longer_holds_seconds_back():
    rng = random.Random(3)
    agg = RunAggregate(KEYS, workers=2)
    agg.add(delta(0, 0, rng)[0])
    agg.add(delta(1, 0, rng)[0])
    agg.worker_finished(1, 0)
    assert agg.add(delta(0, 1, rng)[0]) == [1]


def test_failures_and_first_error_event():
    rng = random.Random(4)
    agg = RunAggregate(KEYS, workers=1)
    d, _ = delta(0, 0, rng, errors=[("timeout", None, 1, 3, "no response within 1s")])
    d.endpoints[1].other_failures = 3
    agg.add(d)
    d2, _ = delta(0, 1, rng, errors=[("timeout", None, 1, 2, "no response within 1s")])
    d2.endpoints[1].other_failures = 2
    agg.add(d2)
    rows = agg.error_rows()
    assert [(r.kind, r.endpoint, r.count) for r in rows] == [("timeout", "b", 5)]
    assert (rows[0].first_seen_s, rows[0].last_seen_s) == (0.0, 1.0)  # the seconds it was seen in
    assert sum(1 for e in agg.events if "first timeout on b" in e.text) == 1
    stats = agg.endpoint_stats()
    assert stats[1].failures == 5 and stats[1].requests == 205  # responses + timeouts


def test_window_covers_only_recent_seconds():
    rng = random.Random(5)
    agg = RunAggregate(KEYS, workers=1, window_s=2)
    for tick in range(5):
        agg.add(delta(0, tick, rng, n=10 * (tick + 1))[0])
    seconds, spans = agg.window_spans()
    assert seconds == 2.0
    assert sum(s.requests for s in spans.values()) == 2 * (40 + 50)


def test_snapshot_reports_current_rate_and_progress():
    rng = random.Random(6)
    agg = RunAggregate(KEYS, workers=1)
    for tick in range(3):
        agg.add(delta(0, tick, rng, n=50)[0])
    snap = agg.snapshot(
        scenario_name="s",
        host="h",
        state="running",
        elapsed_s=3.0,
        duration_s=6.0,
        requests_planned=None,
        workers=1,
        users_target=5,
    )
    assert snap.current_rps == 100
    assert snap.total.requests == 300
    assert snap.progress == 0.5
    assert [e.name for e in snap.endpoints] == ["a", "b"]
    assert snap.total.latency.p50 > 0
    assert bucket_index(int(snap.total.latency.p50 * 1000)) > 0


def test_a_late_worker_cannot_freeze_the_view_and_totals_stay_exact():
    rng = random.Random(7)
    agg = RunAggregate(KEYS, workers=2)
    late, _ = delta(1, 0, rng)
    for tick in range(3):
        agg.add(delta(0, tick, rng)[0])
    assert agg.next_tick == 0  # worker 1 has not reported second 0
    done, missing = agg.complete_overdue(1)
    assert done == [0, 1] and missing == {1}
    agg.add(late)  # arrives after its second was published: joins second 2
    agg.add(delta(1, 2, rng)[0])
    assert agg.next_tick == 3
    assert agg.total_span().requests == 5 * 200  # nothing lost, nothing doubled
    assert agg.timeline[2].requests == 3 * 200


def test_many_endpoints_cost_what_their_active_ones_cost():
    """5,000 endpoints, a few active each second (issue 11): the seconds, the window and
    each snapshot hold the active endpoints only, and every endpoint's totals are exact."""
    import tracemalloc

    n = 5_000
    keys = [("GET", f"/e/{i}") for i in range(n)]
    rng = random.Random(9)
    agg = RunAggregate(keys, workers=2)
    exact: dict[int, list[int]] = {}

    def second(tick: int) -> None:
        for w in (0, 1):
            eps = []
            for i in rng.sample(range(n), 20):
                vs = [int(rng.lognormvariate(7, 1)) for _ in range(30)]
                exact.setdefault(i, []).extend(vs)
                h = Histogram.from_values(vs)
                eps.append(EndpointDelta(index=i, buckets=h.to_sparse(), sum_us=h.sum_us))
            agg.add(WorkerDelta(worker=w, tick=tick, span_s=1.0, users=5, endpoints=eps))
        if tick % 5 == 4:  # the dashboard's snapshots (the suite reads every fifth)
            agg.snapshot(
                scenario_name="s", host="h", state="running", elapsed_s=tick + 1.0,
                duration_s=None, requests_planned=None, workers=2, users_target=10,
            )  # fmt: skip

    for tick in range(10):  # the window fills, the cumulative histograms get their buckets
        second(tick)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for tick in range(10, 30):
        second(tick)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # A dense histogram per endpoint per second would be 5,000 x 26 KB = 130 MB each
    # second; 20 seconds of 40 active endpoints' few buckets are well under 8 MB.
    assert grown < 8 * 2**20, grown
    stats = agg.endpoint_stats()
    for i in range(n):
        want = Histogram.from_values(exact.get(i, []))
        assert stats[i].requests == want.total
        assert agg.cumulative[i].hist.to_sparse() == want.to_sparse()
    total = agg.total_span()
    assert total.hist.to_sparse() == Histogram.from_values(sum(exact.values(), [])).to_sparse()
    assert total.requests == agg.snapshot(
        scenario_name="s", host="h", state="running", elapsed_s=30.0, duration_s=None,
        requests_planned=None, workers=2, users_target=10,
    ).total.requests == 30 * 2 * 20 * 30  # fmt: skip
