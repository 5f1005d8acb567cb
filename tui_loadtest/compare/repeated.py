"""Verdicts over repeated runs: run-to-run variance instead of the within-run noise model.

When the two sides hold enough runs for the test to reach p < ``alpha`` at all
(4 + 4, 3 + 5, 2 + 8 ...: :func:`uses_runs`), each row compares the
per-run values of the two sides (each run's P95, its req/s, ...) with the
Mann-Whitney U test (:mod:`.mann_whitney`) at ``alpha`` (0.05), as benchstat
does for Go benchmarks. With fewer, the test could only ever say "no
significant change" (3 + 3 runs cannot go below p = 0.1), which would pass a gate
whatever changed: the representative runs are judged by the single-run noise
model instead, and the comparison says so. The row shows the medians. A row is regressed or
improved when, as for single runs, the medians' change clears the threshold
and the absolute floor, the test finds a difference (p < alpha), **and** the
change stands out of sampling: with each side's runs pooled into one sample,
the single-run test (without design effect, at the table's confidence) finds
it too. Past the threshold and floor without both, inconclusive; otherwise "~"
(no significant change).

Why both: 5 + 5 runs give the rank test 252 splits, so a noisy row (a tail
percentile, a 1 % error rate) puts every run of one side above every run of
the other by chance 1 time in 126, and a table has several such rows; no
correction over rows is possible (the smallest p is 0.008). Pooled, the same
runs hold thousands of requests, enough to tell that wobble from a change.
The rank test keeps what pooling cannot see: a change that only some runs
show (the machine, not the target). See docs/verdicts.md for the measurements.

As for single runs, a percentile with fewer than ten responses beyond it in
some run is shown but not judged (the maximum in disguise). With fewer than 4
runs on a side the test is weak (3 + 5 runs cannot go below p = 0.036): the
comparison carries a note saying so.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ..stats.histogram import Histogram
from ..stats.model import Latency
from ..stats.result import RunResult
from . import disturbance
from .disturbance import Disturbance
from .mann_whitney import mann_whitney
from .noise import MIN_TAIL, QUANTILES
from .verdicts import (
    DEFAULT_CONFIDENCE,
    DEFAULT_THRESHOLD,
    FLOW_METHOD,
    FLOW_PREFIX,
    MAX_WHY,
    METRICS,
    OVERALL,
    Comparison,
    Row,
    _like_with_like,
    _Sample,
    _tests,
    compare,
    direction_of,
    floor_for,
    overall_verdict,
    scenario_differences,
    table_z,
    verdict_of,
)

FEW_RUNS = 4  # below it on a side: the comparison says the test is weak
ALPHA = 0.05


@dataclass(frozen=True)
class _Side:
    values: dict[tuple[str, str, str], list[float]]  # (scope, method, metric) -> per run
    counts: dict[tuple[str, str, str], list[int]]  # the requests each value stands on


def uses_runs(a: list[RunResult], b: list[RunResult], alpha: float = ALPHA) -> bool:
    """True when run-to-run variance decides: the rank test can reach p < ``alpha`` with
    this many runs a side (from 4 + 4; 3 + 3 cannot: its smallest p is 0.1)."""
    return smallest_p(len(a), len(b)) < alpha


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p the exact rank test can give for these sizes."""
    return mann_whitney([0.0] * n_a, [1.0] * n_b).min_p


def runs_of(result: RunResult) -> list[RunResult]:
    """The runs a result holds: every one of a --repeat result, else itself."""
    return result.runs or [result]


def compare_results(
    baseline: RunResult,
    current: RunResult,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    baseline_name: str = "baseline",
    current_name: str = "current",
) -> Comparison:
    """The comparison a baseline and a run (each one run or several) get: over the runs
    when the rank test can decide with their number (:func:`uses_runs`), else the
    single-run noise model between the two representative runs, with a note when
    either side held several runs."""
    a, b = runs_of(baseline), runs_of(current)
    if uses_runs(a, b):
        return compare_runs(a, b, threshold=threshold, confidence=confidence,
                            baseline_name=baseline_name, current_name=current_name)  # fmt: skip
    c = compare(baseline, current, threshold=threshold, confidence=confidence,
                baseline_name=baseline_name, current_name=current_name)  # fmt: skip
    if max(len(a), len(b)) > 1:
        c.method["notes"] = [few_runs_note(len(a), len(b))]
    return c


def few_runs_note(n_a: int, n_b: int) -> str:
    """Why runs a side did not decide: the rank test could not have."""
    return (
        f"a side has fewer than {FEW_RUNS} runs ({n_a} + {n_b}): the run to run test's"
        f" smallest p would be {smallest_p(n_a, n_b):.3g}, not below α = {ALPHA:g}, so each"
        " side's representative run was judged by the single-run noise model (which does"
        " not see how runs differ); more runs (--repeat, baselines add-run) let the runs"
        " decide"
    )


def compare_runs(
    baseline: list[RunResult],
    current: list[RunResult],
    *,
    threshold: float = 0.10,
    alpha: float = ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
    baseline_name: str = "baseline",
    current_name: str = "current",
) -> Comparison:
    """Compare two sets of runs of one scenario, row by row, over their per-run values."""
    if not baseline or not current:
        raise ValueError("each side needs at least one run")
    if threshold < 0:
        raise ValueError("threshold must not be negative")
    differences = scenario_differences(baseline[0], current[0])
    view = _like_with_like(baseline[0], current[0])[2]
    runs_a = [_like_with_like(r, current[0])[0] for r in baseline]
    runs_b = [_like_with_like(baseline[0], r)[1] for r in current]
    side_a, side_b = _values(runs_a), _values(runs_b)
    keys = list(side_a.values) + [k for k in side_b.values if k not in side_a.values]
    beyond_sampling = _beyond_sampling(runs_a, runs_b, confidence)
    rows = []
    for key in keys:
        va, vb = side_a.values.get(key), side_b.values.get(key)
        thin = key[2] in QUANTILES and any(
            n * (1 - QUANTILES[key[2]]) < MIN_TAIL
            for n in [*side_a.counts.get(key, []), *side_b.counts.get(key, [])]
        )
        rows.append(_row(key, va, vb, threshold, alpha, thin, beyond_sampling.get(key, 0.0)))
    # Each side as disturbed as its typical run (the median of each figure over its runs).
    gen_a, gen_b = Disturbance.median(baseline), Disturbance.median(current)
    rows, disturbed = disturbance.apply(rows, gen_a, gen_b)
    verdict = overall_verdict(rows)
    n_a, n_b = len(baseline), len(current)
    notes = []
    if min(n_a, n_b) < FEW_RUNS:
        smallest = smallest_p(n_a, n_b)
        notes.append(
            f"a side has fewer than {FEW_RUNS} runs ({n_a} + {n_b}): the smallest p the test"
            f" can give is {smallest:.3g}"
            + (f", so no change can reach α = {alpha:g}" if smallest >= alpha else "")
            + "; more runs (--repeat, baselines add-run) make it stronger"
        )
    how = {
        "noise": f"run to run: Mann-Whitney U over per-run values, α = {alpha:g}",
        "sampling": "each side's runs pooled: the change must also be beyond the sampling"
        f" noise of that many requests ({confidence:.0%} over the table)",
        "runs": [n_a, n_b],
        "alpha": alpha,
        "latency": view,
        "notes": notes,
        "floor": "latency: the larger of 1 ms and 1/128 of the value;"
        " error rate: 0.1 percentage point",
        "generator": {"baseline": gen_a.summary(), "current": gen_b.summary()},
    }
    return Comparison(
        baseline_name,
        current_name,
        threshold,
        confidence,
        rows,
        verdict,
        how,
        differences,
        disturbed,
    )


def _values(results: list[RunResult]) -> _Side:
    out: dict[tuple[str, str, str], list[float]] = {}
    counts: dict[tuple[str, str, str], list[int]] = {}

    def add(scope: str, method: str, sample: _Sample) -> None:
        for metric in METRICS:
            out.setdefault((scope, method, metric), []).append(sample.values[metric])
            counts.setdefault((scope, method, metric), []).append(sample.requests)

    for r in results:
        add(OVERALL, "", _Sample.of_run(r))
        for e in r.endpoints:
            add(e.name, e.method, _Sample.of_endpoint(e, r.duration_s))
        for f in r.flows:
            add(f"{FLOW_PREFIX}{f.name}", FLOW_METHOD, _Sample.of_flow(f, r.duration_s))
    return _Side(out, counts)


def _row(
    key: tuple[str, str, str],
    va: list[float] | None,
    vb: list[float] | None,
    threshold: float,
    alpha: float,
    thin: bool = False,
    pooled: float = 0.0,
) -> Row:
    """One row over the runs; ``pooled`` is the change the pooled runs show beyond their
    sampling noise (0: none, see _beyond_sampling)."""
    scope, method, metric = key
    a = statistics.median(va) if va else None
    b = statistics.median(vb) if vb else None
    if a is None or b is None or va is None or vb is None:
        return Row(scope, method, metric, a, b, None, None, "same", None, False, None)
    delta = b - a
    pct = delta / a if a else None
    floor = floor_for(metric, a, b)
    direction = direction_of(metric, delta)
    runs = (len(va), len(vb))
    why = None
    if metric == "max_ms":  # one request per run: shown, never judged
        why = MAX_WHY
    elif thin:  # as for single runs: each run's percentile must stand on a real tail
        why = f"fewer than {MIN_TAIL} responses beyond it in a run: the maximum in disguise"
    if why is not None:
        return Row(scope, method, metric, a, b, delta, pct, direction, None, False, None,
                   floor=floor, not_judged=why, runs=runs)  # fmt: skip
    test = mann_whitney(va, vb)
    # the runs differ, and pooled they moved the same way beyond sampling noise
    significant = test.p < alpha and pooled * delta > 0
    verdict = verdict_of(metric, a, delta, floor, threshold, significant)
    return Row(scope, method, metric, a, b, delta, pct, direction, None, significant, verdict,
               floor=floor, p_value=test.p, runs=runs)  # fmt: skip


def _beyond_sampling(
    baseline: list[RunResult], current: list[RunResult], confidence: float
) -> dict[tuple[str, str, str], float]:
    """The rows whose change, with each side's runs pooled into one sample, is beyond
    what sampling that many requests explains (the single-run test, at ``confidence``
    over the table, with no design effect: run-to-run variance is the rank test's),
    each with that pooled change (log ratio, or difference for the error rate): a
    row counts only when it moved the same way as the medians.

    A row must clear both: the rank test says the runs moved consistently, this
    says the move is larger than the requests' own randomness. With 5 runs a side
    the rank test alone cannot tell a 10 % wobble of a noisy tail, seen in every run
    by chance, from a real change; pooled thousands of requests can."""
    pa, pb = _pooled(baseline), _pooled(current)
    tests = []
    for scope, method in [*pa, *(k for k in pb if k not in pa)]:
        tests += _tests(scope, method, pa.get((scope, method)), pb.get((scope, method)),
                        None, None)  # fmt: skip
    _, z = table_z(tests, confidence)
    return {
        (t.scope, t.method, t.metric): t.est
        for t in tests
        if t.est is not None and t.se is not None and abs(t.est) > z * t.se
    }


def _pooled(results: list[RunResult]) -> dict[tuple[str, str], _Sample]:
    """Each scope (the whole run, each endpoint, each flow) with every run merged."""
    parts: dict[tuple[str, str], list[tuple[Histogram, int, int, float]]] = {}
    for r in results:
        s = r.summary
        parts.setdefault((OVERALL, ""), []).append(
            (r.histogram, s.requests, s.failures, r.duration_s)
        )
        for e in r.endpoints:
            parts.setdefault((e.name, e.method), []).append(
                (e.histogram, e.stats.requests, e.stats.failures, r.duration_s)
            )
        for f in r.flows:
            parts.setdefault((f"{FLOW_PREFIX}{f.name}", FLOW_METHOD), []).append(
                (f.histogram, f.stats.iterations, f.stats.failed, r.duration_s)
            )
    out = {}
    for key, items in parts.items():
        hist = Histogram()
        for h, *_ in items:
            hist.merge(h)
        requests = sum(i[1] for i in items)
        failures = sum(i[2] for i in items)
        duration = sum(i[3] for i in items)
        lat = Latency.from_histogram(hist)
        values = {
            "p50_ms": lat.p50,
            "p95_ms": lat.p95,
            "p99_ms": lat.p99,
            "max_ms": lat.max,
            "rps": requests / duration if duration > 0 else 0.0,
            "error_rate": failures / requests if requests else 0.0,
        }
        out[key] = _Sample(hist, requests, failures, duration, values)
    return out
