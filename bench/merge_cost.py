"""Merge cost: the coordinator's CPU per second for merging many workers' deltas.

Feeds :class:`~tui_loadtest.stats.aggregate.RunAggregate` directly with realistic
deltas, as 50 machines would send them (issue 13: "the coordinator's merge cost per
second grows with workers × active endpoints, not with requests"): ``--workers``
workers each report ``--active`` active endpoints per second out of ``--endpoints``
in the scenario, each with ``--rps`` responses that second (log-normal latencies,
so a few dozen non-zero buckets), a 404 now and then, and an error row.

Reported, in CPU ms per simulated second (``time.process_time``, best of the
seconds after a warm-up):

- ``receive``: unpickling the deltas (what the pool's ``recv`` costs);
- ``merge``: ``RunAggregate.add`` for every delta (the second completes on the last);
- ``snapshot``: one ``RunAggregate.snapshot`` (published once a second);
- the pickled size of one worker's delta (bytes per worker per second).

Run with ``--rps`` 10x larger: ``merge`` should barely move (it follows buckets and
endpoints, not requests). Usage: ``python bench/merge_cost.py [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import pickle
import random
import statistics
import sys
import time

from tui_loadtest.stats.aggregate import EndpointDelta, RunAggregate, WorkerDelta
from tui_loadtest.stats.histogram import Histogram

SPARSE = "index" in {f.name for f in dataclasses.fields(EndpointDelta)}


def endpoint_delta(index: int, rng: random.Random, rps: int) -> EndpointDelta:
    h = Histogram()
    for _ in range(min(rps, 400)):  # the shape of the buckets; the counts are scaled
        h.record(int(rng.lognormvariate(7.0, 0.5)))
    scale = max(1, rps // 400)
    buckets = [(b, c * scale) for b, c in h.to_sparse()]
    n = sum(c for _, c in buckets)
    notfound = n // 100
    kw = {"index": index} if SPARSE else {}
    return EndpointDelta(
        buckets=buckets,
        sum_us=h.sum_us * scale,
        bytes_received=n * 180,
        bytes_sent=n * 90,
        statuses=[(200, n - notfound), (404, notfound)] if notfound else [(200, n)],
        http_failures=notfound,
        **kw,
    )


def worker_delta(
    worker: int, tick: int, active: list[int], n_endpoints: int, rng: random.Random, rps: int
) -> WorkerDelta:
    eps = [endpoint_delta(i, rng, rps) for i in active]
    if not SPARSE:  # before: one delta per endpoint of the scenario, by position
        dense = [EndpointDelta(buckets=[]) for _ in range(n_endpoints)]
        for i, d in zip(active, eps, strict=True):
            dense[i] = d
        eps = dense
    errors = [("http", 404, active[0], 3, "HTTP 404")]
    return WorkerDelta(
        worker=worker, tick=tick, span_s=1.0, users=20, endpoints=eps, errors=errors,
        connects=0, target=20.0, users_peak=20, user_s=20.0, cpu_s=0.5,
    )  # fmt: skip


def measure(workers: int, n_endpoints: int, active: int, rps: int, seconds: int) -> dict:
    rng = random.Random(1)
    keys = [("GET", f"/e/{i}") for i in range(n_endpoints)]
    agg = RunAggregate(keys, workers)
    receive, merge, snap = [], [], []
    size = 0
    # Realistic: each second a different set of endpoints is active, the same for all
    # workers (they run the same mix); the deltas are built (and pickled) beforehand.
    for tick in range(seconds):
        act = sorted(rng.sample(range(n_endpoints), active))
        blobs = [
            pickle.dumps(worker_delta(w, tick, act, n_endpoints, rng, rps)) for w in range(workers)
        ]
        size = len(blobs[0])
        gc.collect()
        t0 = time.process_time()
        deltas = [pickle.loads(b) for b in blobs]
        t1 = time.process_time()
        for d in deltas:
            agg.add(d)
        t2 = time.process_time()
        agg.snapshot(
            scenario_name="merge", host="h", state="running", elapsed_s=float(tick + 1),
            duration_s=None, requests_planned=None, workers=workers, users_target=20 * workers,
        )  # fmt: skip
        t3 = time.process_time()
        assert agg.next_tick == tick + 1
        receive.append(t1 - t0)
        merge.append(t2 - t1)
        snap.append(t3 - t2)
    skip = min(2, seconds - 1)  # warm-up

    def ms(xs: list[float]) -> float:
        return round(1000 * statistics.median(xs[skip:]), 2)

    return {
        "workers": workers,
        "endpoints": n_endpoints,
        "active": active,
        "rps_per_endpoint": rps,
        "receive_ms": ms(receive),
        "merge_ms": ms(merge),
        "snapshot_ms": ms(snap),
        "delta_bytes": size,
        "requests_per_s": sum(c for d in deltas for e in d.endpoints for _, c in e.buckets),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--endpoints", type=int, default=5000)
    ap.add_argument("--active", type=int, default=50)
    ap.add_argument("--rps", type=int, default=100, help="responses per active endpoint per worker")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for n_endpoints, rps in (
        (args.active, args.rps),
        (args.endpoints, args.rps),
        (args.endpoints, args.rps * 10),
    ):
        row = measure(args.workers, n_endpoints, args.active, rps, args.seconds)
        rows.append(row)
        if not args.json:
            print(
                f"{row['workers']} workers x {row['active']} active of {row['endpoints']:>5}"
                f" endpoints, {row['requests_per_s']:>9,} req/s: receive {row['receive_ms']:7.2f}"
                f" ms  merge {row['merge_ms']:7.2f} ms  snapshot {row['snapshot_ms']:7.2f} ms"
                f" (CPU per second); {row['delta_bytes']:,} bytes per worker per second",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
