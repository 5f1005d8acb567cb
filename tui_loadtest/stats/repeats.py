"""Repeated runs (``--repeat N``): each run's figures, their spread, and an outlier run.

The spread of a few runs is the honest measure of how much a figure moves
between identical runs (the machine, the target's caches, the network), which
no single run can show. Reported per metric: min, median, max and the
coefficient of variation (sample standard deviation over the mean).

An outlier run is flagged with the modified z-score (Iglewicz and Hoaglin):
``0.6745 * |x - median| / MAD`` above 3.5, on any of the run's figures. With 3
to 10 runs the MAD can be tiny or 0 (two P95s in the same histogram bucket), so
it is taken as at least 5 % of the median (0.1 percentage point for the error
rate): a run then needs to sit some 26 % or more from the others' median to be
flagged, never for a 10 % wobble. Only the most extreme run is flagged; it is
kept in every figure (flagged, never dropped: the user decides).
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

from .result import RunResult

METRICS = ("p50_ms", "p95_ms", "p99_ms", "rps", "error_rate")
OUTLIER_Z = 3.5
MAD_FLOOR = 0.05  # of the median
MAD_FLOOR_ERROR_RATE = 0.001


def run_figures(result: RunResult) -> dict[str, float]:
    """The figures a run is summed up by: its percentiles, req/s and error rate."""
    s = result.summary
    return {
        "p50_ms": s.latency.p50,
        "p95_ms": s.latency.p95,
        "p99_ms": s.latency.p99,
        "rps": s.rps,
        "error_rate": s.error_rate,
    }


def spread(values: list[float]) -> dict[str, float | None]:
    """min, median, max and the coefficient of variation (None for fewer than 2 values,
    or a mean of 0)."""
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) >= 2 and mean else None
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "cv": cv,
    }


def find_outlier(figures: list[dict[str, float]]) -> dict[str, Any] | None:
    """The most extreme run, if one stands out (see the module's docstring); 1-based."""
    if len(figures) < 3:
        return None
    best: dict[str, Any] | None = None
    for metric in METRICS:
        values = [f[metric] for f in figures]
        median = statistics.median(values)
        mad = statistics.median(abs(v - median) for v in values)
        floor = MAD_FLOOR_ERROR_RATE if metric == "error_rate" else MAD_FLOOR * abs(median)
        mad = max(mad, floor)
        if not mad:
            continue
        for i, v in enumerate(values):
            z = 0.6745 * abs(v - median) / mad
            if z > OUTLIER_Z and (best is None or z > best["z"]):
                best = {"run": i + 1, "metric": metric, "value": v, "median": median, "z": z}
    return best


def representative(results: list[RunResult]) -> int:
    """The index of the run whose P95 is the median (the lower one for an even count):
    the run single-run views (the list, HTML, CSV) show."""
    order = sorted(range(len(results)), key=lambda i: results[i].summary.latency.p95)
    return order[(len(order) - 1) // 2]


def repeats_section(results: list[RunResult], cooldown_s: float) -> dict[str, Any]:
    """The report's ``repeats`` section, without the runs' own reports."""
    figures = [run_figures(r) for r in results]
    outlier = find_outlier(figures)
    return {
        "count": len(results),
        "cooldown_s": cooldown_s,
        "representative": representative(results) + 1,
        "runs": [
            {
                "run": i + 1,
                "started_at": r.started_at,
                "duration_s": round(r.duration_s, 3),
                "requests": r.summary.requests,
                **{k: round(v, 6) for k, v in f.items()},
                "interrupted": r.interrupted,
            }
            for i, (r, f) in enumerate(zip(results, figures, strict=True))
        ],
        "spread": {
            m: {
                k: None if v is None else round(v, 6)
                for k, v in spread([f[m] for f in figures]).items()
            }
            for m in METRICS
        },
        "outlier": None if outlier is None else {**outlier, "z": round(outlier["z"], 2)},
    }


def combine(results: list[RunResult], cooldown_s: float) -> RunResult:
    """One result for N runs: the representative run's figures, the ``repeats`` section,
    and every run (``runs``) so that a report or a baseline loses none of them."""
    if len(results) == 1:
        return results[0]
    rep = results[representative(results)]
    runs = [replace(r, repeats={}, runs=[]) for r in results]
    outcome = rep.outcome
    stopped = next((r for r in results if r.interrupted), None)
    if stopped is not None:  # a run broken off: the whole command was (exit 130)
        outcome = {**rep.outcome, "interrupted": True, "reason": stopped.outcome.get("reason")}
    return replace(rep, repeats=repeats_section(results, cooldown_s), runs=runs, outcome=outcome)
