"""Synthetic RunResults for tests: histograms filled with seeded random samples.

Figures are never hard-coded: each test states the shape of the load (latency
median and spread per endpoint, requests per second, failures) and reads the
expected figures back from the histograms the builder filled.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from tui_loadtest.stats.histogram import Histogram
from tui_loadtest.stats.model import ErrorRow, Latency, Stats, TimelinePoint
from tui_loadtest.stats.result import EndpointResult, RunResult


@dataclass
class Ep:
    """One endpoint's load: lognormal latency (median, sigma), requests/s, failures."""

    name: str
    method: str = "GET"
    median_ms: float = 20.0
    sigma: float = 0.5
    rps: float = 100.0
    # (kind, status, fraction of requests): "http" failures still got a response
    failures: list[tuple[str, int | None, float]] = field(default_factory=list)


def make_result(
    endpoints: list[Ep],
    *,
    seconds: int = 30,
    seed: int = 1,
    users: int = 50,
    scenario_name: str = "synthetic",
    host: str = "http://127.0.0.1:5000",
    started_at: str = "2024-01-01T12:00:00+00:00",
    slowdown: float = 1.0,
    wobble: float = 0.0,
) -> RunResult:
    """A run of ``seconds`` seconds; ``slowdown`` multiplies every latency.

    ``wobble`` makes seconds depend on each other, as on real targets: every
    other stretch of five seconds is that much slower (0.5: 50 % slower).
    """
    rng = random.Random(seed)
    ep_hists = [Histogram() for _ in endpoints]
    ep_requests = [0] * len(endpoints)
    ep_failures = [0] * len(endpoints)
    errors: dict[tuple[str, int | None, int], int] = {}
    per_second: list[list[list[int]]] = []
    timeline: list[TimelinePoint] = []
    for t in range(seconds):
        sec = Histogram()
        sec_requests = sec_failures = 0
        for i, ep in enumerate(endpoints):
            n = _poisson(rng, ep.rps)
            factor = slowdown * (1 + wobble if (t // 5) % 2 else 1)
            mu = math.log(ep.median_ms * 1000 * factor)
            for _ in range(n):
                failed = None
                u = rng.random()
                acc = 0.0
                for kind, status, frac in ep.failures:
                    acc += frac
                    if u < acc:
                        failed = (kind, status)
                        break
                sec_requests += 1
                ep_requests[i] += 1
                if failed is not None:
                    sec_failures += 1
                    ep_failures[i] += 1
                    key = (failed[0], failed[1], i)
                    errors[key] = errors.get(key, 0) + 1
                    if failed[0] != "http":
                        continue  # no response, no latency
                value = max(1, int(rng.lognormvariate(mu, ep.sigma)))
                sec.record(value)
                ep_hists[i].record(value)
        per_second.append(sec.to_sparse())
        p50, p95, p99 = (v / 1000 for v in sec.percentiles((0.5, 0.95, 0.99)))
        timeline.append(TimelinePoint(t, sec_requests, sec_failures, users, p50, p95, p99))
    duration = float(seconds)
    total = Histogram()
    results = []
    for i, ep in enumerate(endpoints):
        total.merge(ep_hists[i])
        stats = Stats(
            requests=ep_requests[i],
            failures=ep_failures[i],
            rps=ep_requests[i] / duration,
            bytes_received=ep_requests[i] * 100,
            latency=Latency.from_histogram(ep_hists[i]),
        )
        results.append(EndpointResult(ep.method, ep.name, stats, ep_hists[i]))
    summary = Stats(
        requests=sum(ep_requests),
        failures=sum(ep_failures),
        rps=sum(ep_requests) / duration,
        bytes_received=sum(ep_requests) * 100,
        latency=Latency.from_histogram(total),
    )
    rows = [
        ErrorRow(
            kind,
            status,
            endpoints[i].name,
            endpoints[i].method,
            count,
            f"HTTP {status}" if kind == "http" else f"{kind} error",
        )
        for (kind, status, i), count in sorted(errors.items(), key=lambda kv: -kv[1])
    ]
    return RunResult(
        started_at=started_at,
        duration_s=duration,
        host=host,
        scenario_name=scenario_name,
        load={"model": "closed", "mode": "users", "users": users, "workers": 1},
        scenario={"name": scenario_name, "host": host},
        summary=summary,
        histogram=total,
        endpoints=results,
        errors=rows,
        timeline=timeline,
        per_second=per_second,
        outcome={"reason": "run time reached", "interrupted": False, "connections": users},
        environment={"tool_version": "0.1.0", "python": "3.11.7", "workers": 1},
    )


def _poisson(rng: random.Random, lam: float) -> int:
    """Requests in one second: Poisson for small rates, normal approximation above."""
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


HEALTH = Ep("GET /api/health", median_ms=5.0, sigma=0.4, rps=150)
QUERY = Ep("POST /api/agents/{id}/query", method="POST", median_ms=40.0, sigma=0.6, rps=40)
